// Listener responses are full state, like Cluster ones (notes/xds-facts.md): a Listener left out of a response
// means "deleted" to the client, so when a Service goes, the next Listener response must leave its Listener out.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TYPE_URL } from '../src/api/xds/wire.ts';
import { newStore, rawSotw, resourceNames, service, SOURCE, startXdsServer } from './support/xds-harness.ts';

describe('full-state Listener responses', () => {
  // Mutation: drop 'listener' from FULL_STATE in sotw-stream.ts (Listeners would be sent only when they change).
  it('leave out the Listener of a Service that was deleted', async () => {
    const store = newStore();
    const ep = { address: '10.0.0.1', port: 8080, portName: 'grpc' };
    store.upsert(SOURCE, service('shop', 'web', [ep]));
    store.upsert(SOURCE, service('shop', 'extra', [ep]));
    const xds = await startXdsServer({ store, instanceId: 'full' });
    const ads = rawSotw(xds.port);
    const names = ['web.shop:8080', 'extra.shop:8080'];
    try {
      ads.send({
        node: { id: 'full-state', locality: {} },
        type_url: TYPE_URL.listener,
        resource_names: names,
      });
      const both = await ads.next();
      assert.deepEqual(resourceNames(both.resources), ['extra.shop:8080', 'web.shop:8080']);
      ads.send({
        type_url: TYPE_URL.listener,
        resource_names: names,
        version_info: both.version_info,
        response_nonce: both.nonce,
      });
      store.delete(SOURCE, { namespace: 'shop', name: 'extra' });
      const after = await ads.next(5000);
      assert.deepEqual(resourceNames(after.resources), ['web.shop:8080']);
    } finally {
      ads.close();
      await xds.stop();
    }
  });
});
