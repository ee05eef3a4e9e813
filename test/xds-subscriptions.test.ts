// How the subscriptions of an ADS stream change over its life, through real raw streams: names dropped and asked
// for again are sent again, an explicit `*` adds every Cluster to the names, a later non-empty request ends a legacy
// wildcard, and the counters say what happened.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { TYPE_URL } from '../src/api/xds/wire.ts';
import {
  assignmentAddresses,
  newStore,
  rawDelta,
  rawSotw,
  resourceNames,
  service,
  sotwMarker,
  SOURCE,
  startXdsServer,
  type TestXdsServer,
  endpointAt,
  ackSotw,
} from './support/xds-harness.ts';

const NODE = { id: 'subscriptions-test', locality: {} };

describe('ADS subscriptions over a stream’s life', () => {
  const store = newStore();
  let xds: TestXdsServer;
  before(async () => {
    store.upsert(SOURCE, service('shop', 'web', [endpointAt('10.0.0.1')]));
    store.upsert(SOURCE, service('shop', 'api', [endpointAt('10.0.1.1', 9000)]));
    xds = await startXdsServer({ store, instanceId: 'subs' });
  });
  after(() => xds.stop());

  // Mutation: drop `state.sent.delete(name)` when a name leaves the subscription (SotwStream.onRequest).
  it('sends an assignment again when its name is dropped and asked for again', async () => {
    const ads = rawSotw(xds.port);
    try {
      const both = ['web.shop:8080', 'api.shop:9000'];
      ads.send({ node: NODE, type_url: TYPE_URL.endpoint, resource_names: both });
      const first = await ads.next();
      assert.deepEqual(resourceNames(first.resources), ['api.shop:9000', 'web.shop:8080']);
      const acks = xds.plane.stats().acks;
      ackSotw(ads, ['web.shop:8080'], first);
      await sotwMarker(ads, TYPE_URL.listener, ['web.shop:8080']);
      assert.equal(xds.plane.stats().acks, acks + 1, 'the ACK is counted');
      ads.send({
        type_url: TYPE_URL.endpoint,
        resource_names: both,
        version_info: first.version_info,
        response_nonce: first.nonce,
      });
      const again = await ads.next();
      assert.equal(again.type_url, TYPE_URL.endpoint);
      assert.deepEqual(
        resourceNames(again.resources),
        ['api.shop:9000'],
        'the name asked for again, sent again',
      );
      assert.deepEqual(assignmentAddresses(again.resources[0]!), ['10.0.1.1:9000']);
    } finally {
      ads.close();
    }
  });

  it('counts responses and the resources they carry', async () => {
    const before = xds.plane.stats();
    const ads = rawSotw(xds.port);
    try {
      ads.send({
        node: NODE,
        type_url: TYPE_URL.cluster,
        resource_names: ['web.shop:grpc', 'api.shop:grpc'],
      });
      await ads.next();
      const after = xds.plane.stats();
      assert.equal(after.responses, before.responses + 1);
      assert.equal(after.resourcesSent, before.resourcesSent + 2);
      assert.equal(after.requests, before.requests + 1);
    } finally {
      ads.close();
    }
  });

  // Mutation: drop `if (state.wildcard && !wasWildcard) state.allDirty = true;`, or `names.delete('*')`.
  it('adds every Cluster when a later request asks for `*`, and keeps the names asked for besides', async () => {
    const ads = rawSotw(xds.port);
    try {
      ads.send({ node: NODE, type_url: TYPE_URL.cluster, resource_names: ['web.shop:grpc'] });
      const named = await ads.next();
      assert.deepEqual(resourceNames(named.resources), ['web.shop:grpc']);
      ads.send({
        type_url: TYPE_URL.cluster,
        resource_names: ['*', 'web.shop:8080'],
        version_info: named.version_info,
        response_nonce: named.nonce,
      });
      const all = await ads.next();
      assert.deepEqual(resourceNames(all.resources), ['api.shop:grpc', 'web.shop:8080', 'web.shop:grpc']);
      assert.ok(!resourceNames(all.resources).includes('*'), 'no resource is named `*`');
      // Leaving the wildcard: back to the names alone, a new Service is not sent.
      ads.send({
        type_url: TYPE_URL.cluster,
        resource_names: ['web.shop:grpc'],
        version_info: all.version_info,
        response_nonce: all.nonce,
      });
      const narrowed = await ads.next();
      assert.deepEqual(resourceNames(narrowed.resources), ['web.shop:grpc']);
      ackSotw(ads, ['web.shop:grpc'], narrowed);
      store.upsert(SOURCE, service('shop', 'extra', [endpointAt('10.0.5.1')]));
      await sotwMarker(ads, TYPE_URL.listener, ['web.shop:8080']);
    } finally {
      ads.close();
      store.delete(SOURCE, { namespace: 'shop', name: 'extra' });
    }
  });

  // Mutation: drop `if (state.wildcard && !wasWildcard) state.allDirty = true;` in SotwStream.onRequest.
  it('sends every assignment when a stream of named assignments switches to `*`', async () => {
    const ads = rawSotw(xds.port);
    try {
      ads.send({ node: NODE, type_url: TYPE_URL.endpoint, resource_names: ['web.shop:8080'] });
      const named = await ads.next();
      ads.send({
        type_url: TYPE_URL.endpoint,
        resource_names: ['*'],
        version_info: named.version_info,
        response_nonce: named.nonce,
      });
      const all = await ads.next();
      assert.deepEqual(resourceNames(all.resources), ['api.shop:grpc', 'web.shop:grpc']);
    } finally {
      ads.close();
    }
  });

  // Mutation: `state.legacyWildcard = state.legacyWildcard && …` always true.
  it('ends a legacy wildcard once the client names what it wants', async () => {
    const ads = rawSotw(xds.port);
    try {
      ads.send({ node: NODE, type_url: TYPE_URL.cluster, resource_names: [] });
      const all = await ads.next();
      assert.deepEqual(resourceNames(all.resources), ['api.shop:grpc', 'web.shop:grpc']);
      ads.send({
        type_url: TYPE_URL.cluster,
        resource_names: ['api.shop:grpc'],
        version_info: all.version_info,
        response_nonce: all.nonce,
      });
      const named = await ads.next();
      assert.deepEqual(resourceNames(named.resources), ['api.shop:grpc']);
    } finally {
      ads.close();
    }
  });

  it('delta: sends a name unsubscribed and subscribed again, and ignores a type it does not serve', async () => {
    const ads = rawDelta(xds.port);
    try {
      ads.send({ node: NODE, type_url: 'type.googleapis.com/envoy.config.core.v3.Unknown' });
      ads.send({ type_url: TYPE_URL.endpoint, resource_names_subscribe: ['web.shop:8080'] });
      const first = await ads.next();
      assert.equal(first.type_url, TYPE_URL.endpoint, 'the unknown type got no answer');
      assert.deepEqual(
        first.resources.map((r) => r.name),
        ['web.shop:8080'],
      );
      ads.send({
        type_url: TYPE_URL.endpoint,
        response_nonce: first.nonce,
        resource_names_unsubscribe: ['web.shop:8080'],
      });
      ads.send({ type_url: TYPE_URL.endpoint, resource_names_subscribe: ['web.shop:8080'] });
      const again = await ads.next();
      assert.deepEqual(
        again.resources.map((r) => r.name),
        ['web.shop:8080'],
        'the client dropped it: sent again',
      );
      assert.notEqual(again.nonce, first.nonce);
    } finally {
      ads.close();
    }
  });

  it('delta: unsubscribing `*` keeps the names asked for, and stops sending the others', async () => {
    const ads = rawDelta(xds.port);
    try {
      ads.send({ node: NODE, type_url: TYPE_URL.cluster, resource_names_subscribe: ['*', 'web.shop:8080'] });
      const first = await ads.next();
      assert.deepEqual(first.resources.map((r) => r.name).sort(), [
        'api.shop:grpc',
        'web.shop:8080',
        'web.shop:grpc',
      ]);
      ads.send({
        type_url: TYPE_URL.cluster,
        response_nonce: first.nonce,
        resource_names_unsubscribe: ['*'],
      });
      store.upsert(SOURCE, service('shop', 'late', [endpointAt('10.0.6.1')]));
      // The marker: the first request of another type, answered after anything the Cluster change caused.
      ads.send({ type_url: TYPE_URL.listener, resource_names_subscribe: ['web.shop:8080'] });
      const next = await ads.next();
      assert.equal(next.type_url, TYPE_URL.listener, 'no Cluster of the new Service');
    } finally {
      ads.close();
      store.delete(SOURCE, { namespace: 'shop', name: 'late' });
    }
  });
});
