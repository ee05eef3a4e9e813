// The cost of one store update as the store grows: the same change, with the same subscribers to notify, at 1k and
// at 100k cached endpoints. The store promises that a change costs what that service and its subscribers cost, not
// what the store holds; the ratio of the two is that promise measured.
import { mergeEndpointSlices } from '../../src/kube/convert.ts';
import { EndpointStore } from '../../src/store/endpoint-store.ts';
import type { ServiceEndpoints } from '../../src/model.ts';
import { endpointSlices } from '../support/fixtures.ts';
import { result, type BenchResult } from '../support/report.ts';
import { median, relativeSpread } from '../support/stats.ts';
import type { SuiteContext } from '../support/suite.ts';

export const description =
  'ns per EndpointStore upsert at 100k vs 1k cached endpoints, same subscribers to notify';

const ENDPOINTS_PER_SERVICE = 10;
const SERVICES_PER_NAMESPACE = 10;
const SOURCE = 'bench';
/** The updated service's subscriber, its namespace's two, and the one for everything. */
const NOTIFIED_PER_UPDATE = 4;

export async function run(context: SuiteContext): Promise<BenchResult[]> {
  const { quick, log } = context;
  // ~1 s a round at today's ~100 µs/update: long enough to swamp timer resolution, short enough that the median of
  // several rounds can step over the bursts of noise of a shared machine.
  const updatesPerRound = quick ? 5_000 : 10_000;
  const rounds = quick ? 3 : 7;
  // Interleave the sizes round by round, so that drift of the machine (and JIT state) hits both equally.
  const small = buildStore(100);
  const large = buildStore(10_000);
  for (const fixture of [small, large]) {
    const stats = fixture.store.stats();
    log(`${stats.services} services, ${stats.endpoints} endpoints, ${stats.subscribers} subscribers`);
  }
  // Warm both up: the first rounds would measure the JIT, not the store.
  timeUpdates(small, updatesPerRound);
  timeUpdates(large, updatesPerRound);
  const smallNs: number[] = [];
  const largeNs: number[] = [];
  for (let round = 0; round < rounds; round++) {
    smallNs.push(timeUpdates(small, updatesPerRound));
    largeNs.push(timeUpdates(large, updatesPerRound));
    // Let pending timers and the like run between rounds; nothing of the store is asynchronous.
    await new Promise((resolve) => setImmediate(resolve));
  }
  // Both sizes must have done the same fan-out, or the ratio would compare different work.
  const updates = (rounds + 1) * updatesPerRound;
  for (const fixture of [small, large]) {
    const perUpdate = fixture.notified() / updates;
    if (perUpdate !== NOTIFIED_PER_UPDATE) {
      throw new Error(`${perUpdate} notifications per update, expected ${NOTIFIED_PER_UPDATE}`);
    }
  }
  const smallMedian = median(smallNs);
  const largeMedian = median(largeNs);
  log(
    `1k: median ${smallMedian.toFixed(0)} ns (spread ${(relativeSpread(smallNs) * 100).toFixed(0)}%), ` +
      `100k: median ${largeMedian.toFixed(0)} ns (spread ${(relativeSpread(largeNs) * 100).toFixed(0)}%)`,
  );
  return [
    result('store_update_ns_100k_endpoints', largeMedian, 'ns', {
      name: 'store_update_ns_1k_endpoints',
      value: smallMedian,
    }),
    result('store_update_us_1k_endpoints', smallMedian / 1000, 'µs'),
    result('store_update_us_100k_endpoints', largeMedian / 1000, 'µs'),
  ];
}

interface Fixture {
  readonly store: EndpointStore;
  /** The two contents the updated service alternates between, converted once, outside the timing. */
  readonly variants: readonly [ServiceEndpoints, ServiceEndpoints];
  /** How many times a subscriber was told of a change (to prove the fan-out ran). */
  notified(): number;
}

/**
 * `services` services of 10 endpoints, 10 services per namespace. Subscribers grow with the store as they would in
 * production (one per service, two per namespace, one for everything) so that every change, whatever the store's
 * size, notifies exactly 4: the service's, its namespace's two and the global one.
 */
function buildStore(services: number): Fixture {
  const store = new EndpointStore({ encodedCacheBytes: 64 * 2 ** 20 });
  let notified = 0;
  const drainOnPending = (subscribe: (onPending: () => void) => { take(): unknown }): void => {
    // A consumer that keeps up: takes each change as soon as it is told, as the long-poll does.
    const subscription = subscribe(() => {
      while (subscription.take() !== undefined) notified += 1;
    });
  };
  const namespaceOf = (i: number): string => `team-${Math.floor(i / SERVICES_PER_NAMESPACE)}`;
  const shape = (i: number, variant: 0 | 1) => ({
    namespace: namespaceOf(i),
    name: `svc-${i}`,
    slices: 1,
    endpointsPerSlice: ENDPOINTS_PER_SERVICE,
    index: i,
    variant,
  });
  const convert = (i: number, variant: 0 | 1): ServiceEndpoints =>
    mergeEndpointSlices({ namespace: namespaceOf(i), name: `svc-${i}` }, endpointSlices(shape(i, variant)));
  for (let i = 0; i < services; i++) {
    store.upsert(SOURCE, convert(i, 0));
    const key = { namespace: namespaceOf(i), name: `svc-${i}` };
    drainOnPending((onPending) => store.subscribe({ kind: 'service', key }, onPending));
    if (i % SERVICES_PER_NAMESPACE === 0) {
      for (let n = 0; n < 2; n++) {
        drainOnPending((onPending) =>
          store.subscribe({ kind: 'namespace', namespace: key.namespace }, onPending),
        );
      }
    }
  }
  drainOnPending((onPending) => store.subscribe({ kind: 'all' }, onPending));
  notified = 0; // count only the timed updates, not the initial fill (subscribers came after most of it)
  // A service in the middle of the store, not the first or last inserted.
  const updated = Math.floor(services / 2);
  return { store, variants: [convert(updated, 1), convert(updated, 0)], notified: () => notified };
}

/** Median-ready figure: ns per upsert over `count` alternating upserts, each a real change. */
function timeUpdates(fixture: Fixture, count: number): number {
  const [a, b] = fixture.variants;
  const started = process.hrtime.bigint();
  for (let i = 0; i < count; i++) {
    const outcome = fixture.store.upsert(SOURCE, i % 2 === 0 ? a : b);
    if (outcome !== 'updated') throw new Error(`upsert ${i} was ${outcome}, not a change`);
  }
  return Number(process.hrtime.bigint() - started) / count;
}
