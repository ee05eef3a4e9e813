// The cross-cluster merge as properties, on the real merge and the real store: whatever order the clusters' shares
// arrive, go stale and recover in, the merged Service and its version are the same (replicas that saw the
// clusters in another order stay interchangeable); every endpoint is there exactly once per cluster, with its
// cluster; the Service is gone exactly when no cluster defines it.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { createLogger } from '../src/observability/logger.ts';
import type { Endpoint, ServiceEndpoints } from '../src/model.ts';
import { ClusterMerge, type ClusterShare } from '../src/sources/kubernetes/cluster-merge.ts';
import { EndpointStore } from '../src/store/endpoint-store.ts';
import { pino } from 'pino';
import { LogLines } from './support/log-lines.ts';

const KEY = { namespace: 'shop', name: 'web' };
const CLUSTERS = ['a', 'b', 'c'] as const;

function endpoint(address: string): Endpoint {
  return {
    addresses: [address],
    addressType: 'IPv4',
    ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
    ready: true,
    serving: true,
    terminating: false,
  };
}

function share(
  addresses: readonly string[],
  createdAt: number,
  type: 'ClusterIP' | 'NodePort',
): ClusterShare {
  const service: ServiceEndpoints = {
    ...KEY,
    ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
    endpoints: [...new Set(addresses)].sort().map(endpoint),
    service: {
      type,
      headless: false,
      ports: [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' }],
    },
  };
  return { service, createdAt };
}

type Step =
  | {
      readonly kind: 'set';
      readonly cluster: (typeof CLUSTERS)[number];
      readonly share: ClusterShare | undefined;
    }
  | { readonly kind: 'stale'; readonly cluster: (typeof CLUSTERS)[number]; readonly stale: boolean };

function apply(steps: readonly Step[]): EndpointStore {
  const store = new EndpointStore({ encodedCacheBytes: 1024 * 1024 });
  const merge = new ClusterMerge({
    store,
    source: 'clusters',
    clusters: CLUSTERS.map((name) => ({ name })),
    logger: createLogger('silent'),
  });
  for (const step of steps) {
    if (step.kind === 'set') merge.set(step.cluster, KEY, step.share);
    else merge.setStale(step.cluster, step.stale);
  }
  return store;
}

const address = fc.integer({ min: 1, max: 6 }).map((n) => `10.0.0.${n}`);
const shareArb = fc.option(
  fc.record({
    addresses: fc.array(address, { maxLength: 4 }),
    createdAt: fc.integer({ min: 0, max: 3 }),
    type: fc.constantFrom('ClusterIP' as const, 'NodePort' as const),
  }),
  { nil: undefined },
);

describe('the cross-cluster merge', () => {
  it('gives the same Service and version whatever order the final shares and staleness arrive in', () => {
    fc.assert(
      fc.property(
        fc.tuple(shareArb, shareArb, shareArb),
        fc.tuple(fc.boolean(), fc.boolean(), fc.boolean()),
        fc.array(fc.record({ cluster: fc.constantFrom(...CLUSTERS), share: shareArb }), { maxLength: 6 }),
        fc.integer({ min: 0, max: 1000 }),
        (finals, stales, noise, seed) => {
          const last: Step[] = CLUSTERS.flatMap((cluster, i): Step[] => {
            const s = finals[i];
            return [
              {
                kind: 'set',
                cluster,
                share: s === undefined ? undefined : share(s.addresses, s.createdAt, s.type),
              },
              { kind: 'stale', cluster, stale: stales[i] ?? false },
            ];
          });
          // Earlier states that later steps overwrite, then the final ones in a shuffled order.
          const early: Step[] = noise.map(({ cluster, share: s }) => ({
            kind: 'set',
            cluster,
            share: s === undefined ? undefined : share(s.addresses, s.createdAt, s.type),
          }));
          const shuffled = [...last].sort((x, y) => hash(x, seed) - hash(y, seed));
          // Per cluster, its set and stale steps keep their relative order by construction (different kinds commute).
          const one = apply(last).get(KEY);
          const other = apply([...early, ...shuffled]).get(KEY);
          assert.deepEqual(other, one);
          const present = CLUSTERS.filter((_, i) => finals[i] !== undefined);
          if (present.length === 0) {
            assert.equal(one, undefined, 'gone exactly when no cluster defines it');
            return;
          }
          assert.deepEqual(
            one?.clusters?.map((c) => c.name),
            present,
          );
          const expected = present.flatMap((cluster) =>
            [...new Set(finals[CLUSTERS.indexOf(cluster)]?.addresses ?? [])]
              .sort()
              .map((a) => `${cluster} ${a}`),
          );
          assert.deepEqual(
            one?.endpoints.map((e) => `${e.cluster} ${e.addresses[0]}`),
            expected,
            'every endpoint once per cluster, tagged, in cluster order',
          );
          // Oldest wins; a tie goes to the first name.
          const oldest = [...present].sort(
            (x, y) =>
              (finals[CLUSTERS.indexOf(x)]?.createdAt ?? 0) - (finals[CLUSTERS.indexOf(y)]?.createdAt ?? 0) ||
              x.localeCompare(y),
          )[0];
          assert.equal(one?.service?.type, finals[CLUSTERS.indexOf(oldest ?? 'a')]?.type);
          const types = new Set(present.map((c) => finals[CLUSTERS.indexOf(c)]?.type));
          assert.equal(one?.conflicts?.some((c) => c.field === 'type') ?? false, types.size > 1);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('a cluster that comes back current with new shares', () => {
  // What a subscriber of the store is told, synchronously at each write, as the gRPC fan-out's first turn writes
  // it to the wire: the cluster's return, with the shares its relist found, written in one pass — never its old
  // shares marked current, never its new shares still marked stale.
  it('is written current with its new shares only, each Service once', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 3 }), shareArb, shareArb), {
          minLength: 1,
          maxLength: 4,
        }),
        (services) => {
          const store = new EndpointStore({ encodedCacheBytes: 1024 * 1024 });
          const merge = new ClusterMerge({
            store,
            source: 'clusters',
            clusters: [{ name: 'a' }, { name: 'b' }],
            logger: createLogger('silent'),
          });
          const keyOf = (n: number): { namespace: string; name: string } => ({
            namespace: 'shop',
            name: `s${n}`,
          });
          const toShare = (s: (typeof services)[number][1], n: number): ClusterShare | undefined =>
            s === undefined
              ? undefined
              : {
                  ...share(s.addresses, s.createdAt, s.type),
                  service: { ...share(s.addresses, s.createdAt, s.type).service, ...keyOf(n) },
                };
          const before = new Map<number, ClusterShare | undefined>();
          const after = new Map<number, ClusterShare | undefined>();
          for (const [n, old, fresh] of services) {
            before.set(n, toShare(old, n));
            after.set(n, toShare(fresh, n));
          }
          merge.set('b', keyOf(99), share(['10.9.9.9'], 0, 'ClusterIP'));
          for (const [n, old] of before) merge.set('a', keyOf(n), old);
          merge.setStale('a', true);
          const seen: Array<{ name: string; aCurrent: boolean; addresses: string[] }> = [];
          const sub = store.subscribe({ kind: 'all' }, () => {
            for (let c = sub.take(); c !== undefined; c = sub.take()) {
              const current = c.current;
              if (current === undefined) continue;
              const a = current.clusters?.find((part) => part.name === 'a');
              seen.push({
                name: current.name,
                aCurrent: a !== undefined && a.stale !== true,
                addresses: current.endpoints
                  .filter((e) => e.cluster === 'a')
                  .map((e) => e.addresses[0] ?? ''),
              });
            }
          });
          merge.setShares(
            'a',
            [...after].map(([n, fresh]) => [keyOf(n), fresh] as const),
            false,
          );
          sub.close();
          for (const s of seen) {
            if (!s.aCurrent) continue;
            const n = Number(s.name.slice(1));
            const fresh = after.get(n);
            assert.deepEqual(
              s.addresses,
              [...new Set(fresh?.service.endpoints.map((e) => e.addresses[0] ?? '') ?? [])],
              `${s.name} was told cluster a is current with shares other than those it came back with`,
            );
          }
          assert.equal(new Set(seen.map((s) => s.name)).size, seen.length, 'each Service written once');
          assert.equal(merge.isStale('a'), false);
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('address conflicts between clusters', () => {
  it('are logged once per Service and change however many addresses overlap, and counted per address', async () => {
    const lines = new LogLines();
    const counted: string[] = [];
    const store = new EndpointStore({ encodedCacheBytes: 1024 * 1024 });
    const merge = new ClusterMerge({
      store,
      source: 'clusters',
      clusters: [{ name: 'a' }, { name: 'b' }],
      logger: pino({ level: 'info' }, lines),
      observer: { onAddressConflict: (_key, address) => counted.push(address) },
    });
    // Two clusters on the same default pod CIDR: every address overlaps.
    const same = Array.from({ length: 50 }, (_, i) => `10.244.0.${i + 1}`);
    merge.set('a', KEY, share(same, 1, 'ClusterIP'));
    merge.set('b', KEY, share(same, 2, 'ClusterIP'));
    merge.set('b', KEY, share([...same, '10.244.1.1'], 2, 'ClusterIP')); // the overlap is not new news
    await new Promise((resolve) => setImmediate(resolve));
    const warned = lines.withMessage(/the same address comes from several clusters/);
    assert.equal(warned.length, 1);
    assert.equal(warned[0]?.['count'], 50);
    assert.equal((warned[0]?.['addresses'] as unknown[]).length, 10);
    assert.equal(counted.length, 50);
    assert.equal(store.get(KEY)?.endpoints.length, 101, 'both copies of each served');
    assert.deepEqual(merge.stats(), { addressConflicts: 50, serviceConflicts: 0 });
    merge.set('b', KEY, undefined);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(lines.withMessage('address conflict between clusters resolved')[0]?.['count'], 50);
    assert.deepEqual(merge.stats(), { addressConflicts: 0, serviceConflicts: 0 });
  });
});

/** A deterministic shuffle key for a step that never reorders a cluster's two steps of the same kind. */
function hash(step: Step, seed: number): number {
  const text = `${step.kind}:${step.cluster}:${seed}`;
  let h = 0;
  for (const char of text) h = (h * 31 + char.charCodeAt(0)) % 1_000_003;
  return h;
}
