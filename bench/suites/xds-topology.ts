// What caller-aware xDS costs (issue 12): (1) building and encoding one Service port's assignment for one caller key
// (a zone's tiers: priorities and localities), against the same Service without topology (one priority), both
// through the resource catalog the ADS streams use; (2) the RSS of endpointd's store and encoded-form cache once
// 1,000 Services, each with endpoints in 10 zones, have been served to a caller in each zone — with PreferSameZone
// hints (10 assignments per Service) and without (the 10 callers share one). Both sides run in the same run, on the
// same machine, interleaved: the rows are ratios. RSS comes from child processes (this file, run as a script) with
// the production Node flags, so that one side's garbage cannot count against the other.
import { execFile } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { ResourceCatalog } from '../../src/api/xds/catalog.ts';
import type { XdsCaller } from '../../src/api/xds/caller.ts';
import type { Endpoint, ServiceEndpoints } from '../../src/model.ts';
import { EndpointStore } from '../../src/store/endpoint-store.ts';
import { productionNodeFlags } from '../support/node-flags.ts';
import { result, type BenchResult } from '../support/report.ts';
import { median, relativeSpread } from '../support/stats.ts';
import type { SuiteContext } from '../support/suite.ts';

export const description =
  'caller-aware xDS: µs to build+encode one assignment per caller key vs without topology; RSS with 10 zones × 1,000 Services, with vs without topology';

const ZONES = Array.from({ length: 10 }, (_, i) => `zone-${String.fromCharCode(97 + i)}`);
const SOURCE = 'bench';
const MB = 2 ** 20;

/** A Service of `perZone` endpoints in each of the 10 zones; `topology`: PreferSameZone with each zone's hints. */
function zonedService(index: number, perZone: number, topology: boolean, generation = 0): ServiceEndpoints {
  const endpoints: Endpoint[] = [];
  ZONES.forEach((zone, z) => {
    for (let i = 0; i < perZone; i++) {
      const host = z * perZone + i;
      endpoints.push({
        addresses: [`10.${index >> 8}.${index & 255}.${host}`],
        addressType: 'IPv4',
        // The generation changes one port number, so that each round is a new version (a cache miss).
        ports: [{ name: 'grpc', port: 8080 + (host === 0 ? generation : 0), protocol: 'TCP' }],
        ready: true,
        serving: true,
        terminating: false,
        zone,
        ...(topology ? { hintsForZones: [zone] } : {}),
        targetRef: { kind: 'Pod', namespace: 'bench', name: `svc${index}-${host}` },
      });
    }
  });
  return {
    namespace: 'bench',
    name: `svc${index}`,
    ports: [{ name: 'grpc', port: 8080, protocol: 'TCP' }],
    endpoints,
    ...(topology
      ? {
          service: {
            type: 'ClusterIP' as const,
            headless: false,
            ports: [{ name: 'grpc', port: 80, targetPort: 8080, protocol: 'TCP' as const }],
            trafficDistribution: 'PreferSameZone',
          },
        }
      : {}),
  };
}

const callers: XdsCaller[] = ZONES.map((zone) => ({ zone }));

/**
 * µs spent serving `rounds` new versions of one Service port: with topology, to a caller in each of the 10 zones
 * (10 caller keys, 10 encodings); without, to one caller that says nothing, as every caller was served before
 * topology (1 encoding, shared by all). Returns the µs per change and per encoding (= per caller key).
 */
function encodeCost(
  perZone: number,
  topology: boolean,
  rounds: number,
): { readonly perEncoding: number; readonly perChange: number } {
  const store = new EndpointStore({ encodedCacheBytes: 256 * MB });
  const catalog = new ResourceCatalog({ store, instanceId: 'bench', maxWildcardResources: 10 });
  const asking: readonly (XdsCaller | undefined)[] = topology ? callers : [undefined];
  let elapsed = 0n;
  let misses = 0;
  for (let round = 0; round < rounds; round++) {
    store.upsert(SOURCE, zonedService(0, perZone, topology, round));
    const before = store.encoded.stats().misses;
    const started = process.hrtime.bigint();
    for (const caller of asking) {
      if (catalog.get('endpoint', 'svc0.bench:8080', caller) === undefined) throw new Error('no assignment');
    }
    elapsed += process.hrtime.bigint() - started;
    misses += store.encoded.stats().misses - before;
  }
  // Every get on a new version encodes: a caller that says where it is misses twice (its key, then the assignment
  // of that key), one that says nothing once.
  const expected = rounds * asking.length * (topology ? 2 : 1);
  if (misses !== expected) throw new Error(`${misses} cache misses, expected ${expected}`);
  const encodings = rounds * asking.length;
  return { perEncoding: Number(elapsed) / 1000 / encodings, perChange: Number(elapsed) / 1000 / rounds };
}

interface Memory {
  readonly rss: number;
  readonly heapUsed: number;
  readonly cacheBytes: number;
  readonly cacheEntries: number;
}

/** The child: 1,000 Services served to the 10 zone callers, then RSS after GC (printed as JSON). */
function childMeasure(topology: boolean): Memory {
  const store = new EndpointStore({ encodedCacheBytes: 1024 * MB });
  const catalog = new ResourceCatalog({ store, instanceId: 'bench', maxWildcardResources: 10 });
  for (let i = 0; i < 1000; i++) store.upsert(SOURCE, zonedService(i, 2, topology));
  for (let i = 0; i < 1000; i++) {
    for (const caller of callers) catalog.get('endpoint', `svc${i}.bench:8080`, caller);
  }
  (globalThis as { gc?: () => void }).gc?.();
  const memory = process.memoryUsage();
  const cache = store.encoded.stats();
  return { rss: memory.rss, heapUsed: memory.heapUsed, cacheBytes: cache.bytes, cacheEntries: cache.entries };
}

const THIS_FILE = fileURLToPath(import.meta.url);

async function measureInChild(topology: boolean): Promise<Memory> {
  const flags = [...productionNodeFlags(), '--expose-gc'];
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [...flags, THIS_FILE, topology ? 'topology' : 'plain'],
    { maxBuffer: MB },
  );
  return JSON.parse(stdout) as Memory;
}

export async function run(context: SuiteContext): Promise<BenchResult[]> {
  const { quick, log } = context;
  const rounds = quick ? 20 : 200;
  const trials = quick ? 3 : 7;
  const rows: BenchResult[] = [];
  for (const perZone of [1, 10]) {
    const endpoints = perZone * ZONES.length;
    // Warm both paths up, then interleave them trial by trial so that drift hits both.
    encodeCost(perZone, true, rounds);
    encodeCost(perZone, false, rounds);
    const withTopology: number[] = [];
    const without: number[] = [];
    const changeWith: number[] = [];
    const changeWithout: number[] = [];
    for (let trial = 0; trial < trials; trial++) {
      const a = encodeCost(perZone, true, rounds);
      const b = encodeCost(perZone, false, rounds);
      withTopology.push(a.perEncoding);
      without.push(b.perEncoding);
      changeWith.push(a.perChange);
      changeWithout.push(b.perChange);
      await new Promise((resolve) => setImmediate(resolve));
    }
    log(
      `${endpoints} endpoints: per caller key ${median(withTopology).toFixed(1)} µs (spread ${(relativeSpread(withTopology) * 100).toFixed(0)}%), ` +
        `without topology ${median(without).toFixed(1)} µs (spread ${(relativeSpread(without) * 100).toFixed(0)}%)`,
    );
    rows.push(
      result(`xds_topology_encode_us_per_caller_key_${endpoints}_endpoints`, median(withTopology), 'µs', {
        name: `xds_encode_us_without_topology_${endpoints}_endpoints`,
        value: median(without),
      }),
      // One change served to a caller in each of the 10 zones (10 encodings) vs one assignment for everyone.
      result(`xds_topology_change_us_10_zone_callers_${endpoints}_endpoints`, median(changeWith), 'µs', {
        name: `xds_change_us_without_topology_${endpoints}_endpoints`,
        value: median(changeWithout),
      }),
    );
  }

  const memory: Record<'topology' | 'plain', Memory[]> = { topology: [], plain: [] };
  for (let trial = 0; trial < (quick ? 1 : 3); trial++) {
    memory.topology.push(await measureInChild(true));
    memory.plain.push(await measureInChild(false));
  }
  const mb = (list: readonly Memory[], pick: (m: Memory) => number): number => median(list.map(pick)) / MB;
  log(
    `10 zones × 1,000 Services, 10 callers each: RSS ${mb(memory.topology, (m) => m.rss).toFixed(1)} MB with topology ` +
      `(cache ${mb(memory.topology, (m) => m.cacheBytes).toFixed(1)} MB, ${memory.topology[0]?.cacheEntries} entries), ` +
      `${mb(memory.plain, (m) => m.rss).toFixed(1)} MB without (cache ${mb(memory.plain, (m) => m.cacheBytes).toFixed(1)} MB, ` +
      `${memory.plain[0]?.cacheEntries} entries)`,
  );
  rows.push(
    result(
      'xds_topology_rss_mb_10_zones_1k_services',
      mb(memory.topology, (m) => m.rss),
      'MB',
      {
        name: 'xds_rss_mb_10_zones_1k_services_without_topology',
        value: mb(memory.plain, (m) => m.rss),
      },
    ),
    result(
      'xds_topology_cache_mb_10_zones_1k_services',
      mb(memory.topology, (m) => m.cacheBytes),
      'MB',
      {
        name: 'xds_cache_mb_10_zones_1k_services_without_topology',
        value: mb(memory.plain, (m) => m.cacheBytes),
      },
    ),
  );
  return rows;
}

// Run as a script: the RSS child.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.stdout.write(`${JSON.stringify(childMeasure(process.argv[2] === 'topology'))}\n`);
}
