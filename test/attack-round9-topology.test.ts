// Round 9 of the attacks, on the seams of the caller-aware (topology) answers: what one door, cache or stream does
// with a caller's locality that another does not, from outside, against the real endpointd on loopback (REST,
// gRPC Discovery, the xDS bootstrap route and ADS streams). Each test was written to fail first; the fix it
// shows is named in its comment.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Endpoint, ServiceEndpoints, ServiceInfo } from '../src/model.ts';
import { TYPE_URL } from '../src/api/xds/wire.ts';
import { TestClient } from './support/grpc-discovery.ts';
import { startTestEndpointd, type TestEndpointd } from './support/endpointd.ts';
import { get, metricValue } from './support/http.ts';
import { retainedBytes } from './support/memory.ts';
import { decodeAny, rawSotw, type RawAny } from './support/xds-harness.ts';

const SOURCE = 'attack-round9';
const HTTP = { name: 'http', port: 8080, protocol: 'TCP' } as const;

function pod(
  ip: string,
  zone: string,
  node: string,
  hints: { zones?: string[]; nodes?: string[] },
): Endpoint {
  return {
    addresses: [ip],
    addressType: 'IPv4',
    ports: [HTTP],
    ready: true,
    serving: true,
    terminating: false,
    zone,
    nodeName: node,
    ...(hints.zones === undefined ? {} : { hintsForZones: hints.zones }),
    ...(hints.nodes === undefined ? {} : { hintsForNodes: hints.nodes }),
  };
}

const info = (trafficDistribution: string): ServiceInfo => ({
  type: 'ClusterIP',
  headless: false,
  ports: [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' }],
  trafficDistribution,
});

interface RestBody {
  version: string;
  endpoints: { addresses: string[] }[];
  targets?: { address: string; port: number }[];
  topology?: Record<string, string>;
}

const ipsOf = (body: { endpoints: readonly { addresses: readonly string[] }[] }): string[] =>
  body.endpoints.map((e) => e.addresses[0] ?? '');

/** Priority 0's addresses of an assignment. */
function priorityZero(any: RawAny): string[] {
  const cla = decodeAny(any) as {
    endpoints?: {
      priority?: number;
      lb_endpoints?: { endpoint: { address: { socket_address: { address: string } } } }[];
    }[];
  };
  return (cla.endpoints ?? [])
    .filter((l) => (l.priority ?? 0) === 0)
    .flatMap((l) => l.lb_endpoints ?? [])
    .map((l) => l.endpoint.address.socket_address.address)
    .sort();
}

describe('attack round 9: caller-aware answers at the seams', () => {
  let t: TestEndpointd;
  let grpc: TestClient;
  const lookupUrl = (name: string, query: string): string =>
    `${t.url}/v1/namespaces/shop/services/${name}${query}`;

  before(async () => {
    t = await startTestEndpointd({});
    grpc = new TestClient(`127.0.0.1:${t.endpointd.grpcPort}`);
  });
  after(async () => {
    grpc.client.close();
    await t.stop();
  });
  const upsert = (service: ServiceEndpoints): void => {
    t.endpointd.store.upsert(SOURCE, service);
  };

  // Kubernetes names Nodes with DNS-1123 subdomains of up to 253 characters (ValidateNodeName =
  // NameIsDNSSubdomain), and PreferSameNode hints name them (hints.forNodes[].name). A caller on a node whose name
  // is longer than a label value (63) was refused with a 400 on REST and the bootstrap route, INVALID_ARGUMENT on
  // gRPC, and treated as "not said" on xDS: it never got its node's endpoints.
  // Fix: the caller's node is checked as a node name (src/names.ts nodeNameProblem) on every door.
  it('takes a node name longer than 63 characters (a DNS subdomain, as Kubernetes names nodes) on every door', async () => {
    const longNode = 'worker-pool-1-abcdefgh.us-east-1.compute.internal.prod-cluster.corp.example.com';
    assert.ok(longNode.length > 63);
    upsert({
      namespace: 'shop',
      name: 'by-node',
      ports: [HTTP],
      endpoints: [
        pod('10.9.0.1', 'zone-a', longNode, { zones: ['zone-a'], nodes: [longNode] }),
        pod('10.9.0.2', 'zone-a', 'node-2', { zones: ['zone-a'], nodes: ['node-2'] }),
      ],
      service: info('PreferSameNode'),
    });

    const answer = await get(lookupUrl('by-node', `?node=${longNode}&port=http`));
    assert.equal(answer.status, 200, answer.text);
    const rest = answer.json<RestBody>();
    assert.deepEqual(ipsOf(rest), ['10.9.0.1']);
    assert.deepEqual(rest.topology, { rule: 'PreferSameNode', matched: 'node', node: longNode });

    const resolved = await grpc.resolve({ namespace: 'shop', name: 'by-node', caller: { node: longNode } });
    assert.deepEqual(ipsOf(resolved.service), ['10.9.0.1']);

    const bootstrap = await get(`${t.url}/v1/xds/bootstrap?node=${longNode}`);
    assert.equal(bootstrap.status, 200, bootstrap.text);
    assert.deepEqual(bootstrap.json<{ node: { locality: object } }>().node.locality, { sub_zone: longNode });

    const ads = rawSotw(t.endpointd.grpcPort);
    try {
      ads.send({
        node: { id: 'round9', locality: { sub_zone: longNode } },
        type_url: TYPE_URL.endpoint,
        resource_names: ['by-node.shop:8080'],
      });
      const [resource] = (await ads.next()).resources;
      assert.ok(resource !== undefined);
      assert.deepEqual(priorityZero(resource), ['10.9.0.1']);
    } finally {
      ads.close();
    }

    // What no node can be named is still refused: past 253 characters, or not a DNS name.
    for (const bad of [`${'a'.repeat(63)}.`.repeat(4) + 'b', 'node a', '-node']) {
      const refused = await get(lookupUrl('by-node', `?node=${encodeURIComponent(bad)}`));
      assert.equal(refused.status, 400, bad);
    }
  });

  // One encoding per (Service, version, view) on REST and gRPC, and a caller's node is part of the view: a client
  // cycling through distinct node names makes new entries at every request. The cache stays within its bound
  // (lru-cache evicts), but what it costs the other callers — their encodings evicted, made again — showed
  // nowhere: the two gauges sit flat at the bound whether the cache serves or thrashes.
  // Fix: endpointd_encoded_cache_hits_total and endpointd_encoded_cache_misses_total (src/observability/metrics.ts).
  it('keeps the cache within its bound when a client cycles through distinct nodes, and counts the misses', async () => {
    const bound = 64 * 1024;
    const small = await startTestEndpointd({}, { encodedCacheBytes: bound });
    try {
      small.endpointd.store.upsert(SOURCE, {
        namespace: 'shop',
        name: 'by-node',
        ports: [HTTP],
        endpoints: [
          pod('10.9.0.1', 'zone-a', 'node-1', { zones: ['zone-a'], nodes: ['node-1'] }),
          pod('10.9.0.2', 'zone-a', 'node-2', { zones: ['zone-a'], nodes: ['node-2'] }),
        ],
        service: info('PreferSameNode'),
      });
      const misses = async (): Promise<number | undefined> =>
        metricValue(small.url, 'endpointd_encoded_cache_misses_total');
      const before = await misses();
      assert.ok(before !== undefined, 'endpointd_encoded_cache_misses_total is exported');
      const callers = 1000;
      for (let i = 0; i < callers; i++) {
        const answer = await get(`${small.url}/v1/namespaces/shop/services/by-node?node=node-x${i}`);
        assert.equal(answer.status, 200);
      }
      assert.ok(((await misses()) ?? 0) - before >= callers, 'every new caller is a miss');
      assert.ok(((await metricValue(small.url, 'endpointd_encoded_cache_hits_total')) ?? -1) >= 0);
      assert.ok(((await metricValue(small.url, 'endpointd_encoded_cache_bytes')) ?? Infinity) <= bound);
    } finally {
      await small.stop();
    }
  });

  // A caller's version is cached per (Service, version, view) as its own small entry, counted as the 16 bytes of
  // the version while its key (the view names the node) and the cache's bookkeeping keep ~400 bytes alive. A
  // client that sends `If-None-Match: *` with a new node each time is answered 304 from that entry alone (no body
  // is encoded), so the cache filled with such entries and held ~25 times --encoded-cache-size: ~1.6 GB behind
  // the default 64 MiB (here 9.6 MB behind 512 KiB; 0.5–2.2 MB with the fix,
  // most of it what else the process keeps).
  // Fix: every cache entry counts its key and the cache's bookkeeping (src/store/encoded-cache.ts).
  it('keeps the memory of callers cycling through nodes near --encoded-cache-size, even when only versions are cached', async () => {
    // Half a MiB: a bound that 16-byte entries would fill only after 32,768 of them (~13 MB).
    const bound = 512 * 1024;
    const small = await startTestEndpointd({}, { encodedCacheBytes: bound });
    try {
      small.endpointd.store.upsert(SOURCE, {
        namespace: 'shop',
        name: 'by-node',
        ports: [HTTP],
        endpoints: [pod('10.9.0.1', 'zone-a', 'node-1', { zones: ['zone-a'], nodes: ['node-1'] })],
        service: info('PreferSameNode'),
      });
      const ask = async (node: string): Promise<void> => {
        const answer = await get(`${small.url}/v1/namespaces/shop/services/by-node?node=${node}`, {
          'If-None-Match': '*',
        });
        assert.equal(answer.status, 304);
      };
      for (let i = 0; i < 1000; i++) await ask(`warm-${i}`);
      const before = retainedBytes();
      for (let i = 0; i < 36_000; i++) await ask(`node-${i}`);
      const grown = retainedBytes() - before;
      const entries = (await metricValue(small.url, 'endpointd_encoded_cache_entries')) ?? 0;
      assert.ok(
        // What else this process keeps meanwhile (the fast path's URLs, code, the runner) took up to ~2 MB.
        grown < 4 * 1024 * 1024,
        `${grown} bytes retained for ${entries} entries under a ${bound}-byte bound`,
      );
    } finally {
      await small.stop();
    }
  });
});
