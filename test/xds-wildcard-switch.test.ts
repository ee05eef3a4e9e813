// A state-of-the-world stream that adds `*` to the very names it already has: nothing else changes in the request,
// yet every Cluster's assignment is now subscribed and must be sent.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TYPE_URL } from '../src/api/xds/wire.ts';
import { newStore, rawSotw, resourceNames, service, SOURCE, startXdsServer } from './support/xds-harness.ts';

describe('switching to the wildcard', () => {
  // Mutation: `wasWildcard === state.wildcard` as `true` in SotwStream.onRequest (the switch would be ignored).
  it('sends every assignment when only `*` is added to the names', async () => {
    const store = newStore();
    store.upsert(SOURCE, service('shop', 'web', [{ address: '10.0.0.1', port: 8080, portName: 'grpc' }]));
    store.upsert(SOURCE, service('shop', 'api', [{ address: '10.0.1.1', port: 9000, portName: 'grpc' }]));
    const xds = await startXdsServer({ store, instanceId: 'switch' });
    const ads = rawSotw(xds.port);
    try {
      ads.send({
        node: { id: 'switch', locality: {} },
        type_url: TYPE_URL.endpoint,
        resource_names: ['web.shop:grpc'],
      });
      const named = await ads.next();
      assert.deepEqual(resourceNames(named.resources), ['web.shop:grpc']);
      ads.send({
        type_url: TYPE_URL.endpoint,
        resource_names: ['*', 'web.shop:grpc'],
        version_info: named.version_info,
        response_nonce: named.nonce,
      });
      const all = await ads.next(5000);
      assert.deepEqual(resourceNames(all.resources), ['api.shop:grpc'], 'the one it did not have yet');
    } finally {
      ads.close();
      await xds.stop();
    }
  });
});
