// Round 8 of attacking the gRPC and xDS doors from outside: defects found with raw ADS streams and grpc-js
// clients on loopback, each pinned by the observable property it broke.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ResourceCatalog } from '../src/api/xds/catalog.ts';
import { TYPE_URL } from '../src/api/xds/wire.ts';
import { startTestGrpc, summarize, TestClient } from './support/grpc-discovery.ts';
import { service as ipService } from './support/services.ts';
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

      ads.send({
        type_url: TYPE_URL.endpoint,
        resource_names_subscribe: ['web.shop:grpc', 'none.shop:grpc'],
      });
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

describe('gRPC Watch of named services', () => {
  // WatchResponse: first `added` for each service the client does not hold, `absent` for each named service that
  // does not exist, then `synced`. A service that existed at start but was deleted while the stream was still
  // writing the state at start (a client reading slowly, many services) was reported neither way: its queued
  // `added` merged with the deletion into nothing, and the client was told `synced` without a word of it.
  it('reports a named service deleted before its state at start was written as absent, before synced', async () => {
    const t = await startTestGrpc();
    const client = new TestClient(t.address);
    const names = Array.from({ length: 60 }, (_, i) => `svc${String(i).padStart(2, '0')}`);
    // Large states (2,000 endpoints each), so that the stream stalls on HTTP/2 flow control while not read.
    const ips = Array.from({ length: 2000 }, (_, i) => `10.${(i >> 8) & 255}.${i & 255}.1`);
    for (const name of names) t.store.upsert('test', ipService('shop', name, ips));
    const stream = client.watch({ services: names.map((name) => ({ namespace: 'shop', name })) });
    try {
      stream.call.pause();
      await new Promise((resolve) => setTimeout(resolve, 300));
      t.store.delete('test', { namespace: 'shop', name: 'svc59' });
      stream.call.resume();
      const initial = (await stream.until((m) => m.event === 'synced', 10_000)).map(summarize);
      assert.equal(initial.at(-1), 'synced');
      const reported = new Set(initial.slice(0, -1).map((m) => m.split(' ')[1]));
      assert.deepEqual(
        names.filter((name) => !reported.has(name)),
        [],
        'every named service is reported before synced',
      );
      assert.ok(
        initial.includes('absent svc59') || initial.includes('added svc59'),
        `svc59: ${initial.filter((m) => m.endsWith('svc59')).join(', ')}`,
      );
    } finally {
      stream.cancel();
      client.close();
      await t.stop();
    }
  });
});

describe('xDS wildcard list cut at its bound', () => {
  // The wildcard list is rebuilt after every change of the store: a cluster with more Service ports than the bound
  // logged "list truncated" again at each of its changes, many a second.
  it('is told once when the cut starts, not at every rebuild while it stays cut, and again after a recovery', () => {
    const store = newStore();
    const told: { total: number; served: number }[] = [];
    const catalog = new ResourceCatalog({
      store,
      instanceId: 'r8-cut',
      maxWildcardResources: 2,
      onWildcardTruncated: (total, served) => told.push({ total, served }),
    });
    const rebuild = (): number => {
      catalog.invalidateWildcard();
      return catalog.wildcardNames('cluster').length;
    };
    store.upsert(SOURCE, service('shop', 'a', [endpointAt('10.0.0.1')]));
    store.upsert(SOURCE, service('shop', 'b', [endpointAt('10.0.0.2')]));
    assert.equal(rebuild(), 2);
    assert.equal(told.length, 0, 'at the bound: nothing cut');
    store.upsert(SOURCE, service('shop', 'c', [endpointAt('10.0.0.3')]));
    for (let change = 0; change < 50; change++) {
      store.upsert(SOURCE, service('shop', 'c', [endpointAt(`10.0.1.${change}`)]));
      assert.equal(rebuild(), 2);
    }
    assert.deepEqual(told, [{ total: 3, served: 2 }]);
    store.delete(SOURCE, { namespace: 'shop', name: 'c' });
    assert.equal(rebuild(), 2);
    store.upsert(SOURCE, service('shop', 'd', [endpointAt('10.0.0.4')]));
    assert.equal(rebuild(), 2);
    assert.deepEqual(told, [
      { total: 3, served: 2 },
      { total: 3, served: 2 },
    ]);
  });
});
