// Round 8 of attacking the gRPC and xDS doors from outside: defects found with raw ADS streams and grpc-js
// clients on loopback, each pinned by the observable property it broke.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { TYPE_URL } from '../src/api/xds/wire.ts';
import {
  deltaMarker,
  endpointAt,
  newStore,
  rawDelta,
  service,
  SOURCE,
  startXdsServer,
  type TestXdsServer,
} from './support/xds-harness.ts';

const NODE = { id: 'round8', locality: {} };

describe('delta ADS: a name subscribed again while still subscribed', () => {
  const store = newStore();
  let xds: TestXdsServer;
  before(async () => {
    store.upsert(SOURCE, service('shop', 'web', [endpointAt('10.0.0.1')]));
    xds = await startXdsServer({ store, instanceId: 'r8-resub' });
  });
  after(() => xds.stop());

  // DeltaDiscoveryRequest.resource_names_subscribe: "the server must respond with all resources listed in
  // resource_names_subscribe, even if it believes the client has the most recent version of them" — Envoy drops a
  // resource and regains interest before it sends the unsubscription (DeltaSubscriptionStateTest.RemoveThenAdd),
  // and then waits for the resource (a Cluster stays warming) until it comes.
  it('sends the resource again, and says again that a missing one does not exist', async () => {
    const ads = rawDelta(xds.port);
    try {
      ads.send({
        node: NODE,
        type_url: TYPE_URL.endpoint,
        resource_names_subscribe: ['web.shop:grpc', 'none.shop:grpc'],
      });
      const first = await ads.next();
      assert.deepEqual(
        first.resources.map((r) => r.name),
        ['web.shop:grpc'],
      );
      assert.deepEqual(first.removed_resources, ['none.shop:grpc']);
      ads.send({ type_url: TYPE_URL.endpoint, response_nonce: first.nonce });

      ads.send({ type_url: TYPE_URL.endpoint, resource_names_subscribe: ['web.shop:grpc', 'none.shop:grpc'] });
      const again = await ads.next();
      assert.equal(again.type_url, TYPE_URL.endpoint);
      assert.deepEqual(
        again.resources.map((r) => [r.name, r.version]),
        [['web.shop:grpc', first.resources[0]!.version]],
        'the same version, sent again because it was asked for again',
      );
      assert.deepEqual(again.removed_resources, ['none.shop:grpc']);
      ads.send({ type_url: TYPE_URL.endpoint, response_nonce: again.nonce });
      // An ACK that subscribes to nothing sends nothing: the marker is the next response.
      await deltaMarker(ads, TYPE_URL.cluster, ['web.shop:grpc']);
    } finally {
      ads.close();
    }
  });
});
