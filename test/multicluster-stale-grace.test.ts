// When a named cluster counts as stale (--cluster-stale-after), on the real source against a fake kube-apiserver
// with the time driven by a fake clock: failing watches mark it stale only once they have failed for the whole
// grace (a blip does not rewrite every Service it defines), its endpoints stay served meanwhile, and it is current
// again as soon as it answers.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { KubeConfig } from '@kubernetes/client-node';
import { createLogger } from '../src/observability/logger.ts';
import { ClusterMerge } from '../src/sources/kubernetes/cluster-merge.ts';
import { KubernetesSource } from '../src/sources/kubernetes/kubernetes-source.ts';
import { EndpointStore } from '../src/store/endpoint-store.ts';
import { endpointSlice, FakeApiServer } from './support/fake-apiserver/index.ts';
import { FakeClock } from './support/fake-clock.ts';
import { eventually } from './support/http.ts';

const KEY = { namespace: 'shop', name: 'web' };
const STALE_AFTER_MS = 5000;

describe('the stale grace of a named cluster', () => {
  it('marks the cluster stale only after its watches failed for --cluster-stale-after, and current once it answers', async () => {
    const api = await FakeApiServer.start();
    api.create(
      'endpointslices',
      endpointSlice({
        service: 'web',
        namespace: 'shop',
        name: 'web-a',
        endpoints: [{ addresses: '10.2.0.1' }],
      }),
    );
    const clock = new FakeClock();
    const config = new KubeConfig();
    config.loadFromString(api.kubeconfigYaml());
    const store = new EndpointStore({ encodedCacheBytes: 1024 * 1024 });
    const logger = createLogger('silent');
    const merge = new ClusterMerge({ store, source: 'clusters', clusters: [{ name: 'west' }], logger });
    const source = new KubernetesSource({
      config,
      store,
      logger,
      namespaces: [],
      resource: 'endpointslices',
      reflector: { clock },
      cluster: {
        name: 'west',
        merge,
        export: { mode: 'all' },
        readyTimeoutMs: 60_000,
        staleAfterMs: STALE_AFTER_MS,
      },
    });
    const staleInStore = (): boolean | undefined => store.get(KEY)?.clusters?.[0]?.stale;
    try {
      await source.start();
      assert.equal(staleInStore(), false);
      await api.stopListening();
      await eventually(() => (source.status().error !== undefined ? true : undefined), 5000);
      clock.advance(250); // the first look that sees it failing: the grace starts here
      const failingFrom = clock.now();
      while (clock.now() - failingFrom < STALE_AFTER_MS) {
        assert.equal(
          merge.isStale('west'),
          false,
          `not stale ${clock.now() - failingFrom} ms into the failure`,
        );
        assert.equal(staleInStore(), false);
        clock.advance(250);
      }
      assert.equal(merge.isStale('west'), true, 'stale once the grace is over');
      assert.equal(staleInStore(), true, 'and so in the answers');
      assert.deepEqual(
        store.get(KEY)?.endpoints.map((e) => e.addresses[0]),
        ['10.2.0.1'],
        'its last known endpoints are still served',
      );
      assert.equal(source.status().cluster?.stale, true);
      await api.resumeListening();
      // The reflectors retry on the fake clock's backoff: move time until one gets through.
      await eventually(() => {
        clock.advance(250);
        return merge.isStale('west') ? undefined : true;
      }, 10_000);
      assert.equal(staleInStore(), false);
      assert.equal(source.status().error, undefined);
    } finally {
      await source.stop();
      await api.close();
    }
  });
});
