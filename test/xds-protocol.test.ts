// The ADS protocol as endpointd speaks it, driven by scripted raw clients (grpc-js + proto-loader over the full
// upstream protos): first requests always answered, ACK/NACK by error_detail, stale nonces ignored, wildcard and
// unsubscription rules, full-state Listener/Cluster, changes only to subscribers, holding until synced, shutdown;
// and the delta variant: subscribe, unsubscribe, removal, initial versions.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { TYPE_URL } from '../src/api/xds/wire.ts';
import {
  assignmentAddresses as addresses,
  decodeAny as decode,
  deltaMarker,
  eventually,
  newStore,
  rawDelta,
  rawSotw,
  resourceNames as names,
  service,
  sotwMarker,
  SOURCE,
  startXdsServer,
  type TestXdsServer,
  endpointAt,
} from './support/xds-harness.ts';

const NODE = { id: 'raw-test', locality: {} };

describe('state-of-the-world ADS', () => {
  const store = newStore();
  let xds: TestXdsServer;
  before(async () => {
    store.upsert(SOURCE, service('shop', 'web', [endpointAt('10.0.0.1'), endpointAt('10.0.0.2')]));
    store.upsert(SOURCE, service('shop', 'api', [endpointAt('10.0.1.1', 9000)]));
    xds = await startXdsServer({ store, instanceId: 'sotw' });
  });
  after(() => xds.stop());

  it('answers the first request of each type, with the resources that exist', async () => {
    const ads = rawSotw(xds.port);
    try {
      ads.send({
        node: NODE,
        type_url: TYPE_URL.listener,
        resource_names: ['web.shop:8080', 'nope.shop:8080'],
      });
      const listeners = await ads.next();
      assert.equal(listeners.type_url, TYPE_URL.listener);
      assert.deepEqual(names(listeners.resources), ['web.shop:8080']);
      assert.match(listeners.version_info, /\.sotw$/);
      ads.send({ type_url: TYPE_URL.route, resource_names: ['nope.shop:1'] });
      const routes = await ads.next();
      assert.equal(
        routes.resources.length,
        0,
        'a route of an unknown Service is not sent, but the request is answered',
      );
      ads.send({ type_url: TYPE_URL.endpoint, resource_names: ['web.shop:8080', 'gone.shop:8080'] });
      const assignments = await ads.next();
      const byName = new Map(
        assignments.resources.map((r) => [(decode(r) as { cluster_name: string }).cluster_name, r]),
      );
      assert.deepEqual(addresses(byName.get('web.shop:8080')!), ['10.0.0.1:8080', '10.0.0.2:8080']);
      assert.deepEqual(addresses(byName.get('gone.shop:8080')!), [], 'unknown Service: an empty assignment');
    } finally {
      ads.close();
    }
  });

  it('takes an ACK silently, counts a NACK, never resends the rejected version, and sends the next change', async () => {
    const ads = rawSotw(xds.port);
    try {
      ads.send({ node: NODE, type_url: TYPE_URL.endpoint, resource_names: ['api.shop:9000'] });
      const first = await ads.next();
      ads.send({
        type_url: TYPE_URL.endpoint,
        resource_names: ['api.shop:9000'],
        version_info: first.version_info,
        response_nonce: first.nonce,
      });
      // The ACK is not answered: the first Listener request, always answered, is the next response.
      await sotwMarker(ads, TYPE_URL.listener, ['api.shop:9000']);
      store.upsert(
        SOURCE,
        service('shop', 'api', [endpointAt('10.0.1.1', 9000), endpointAt('10.0.1.2', 9000)]),
      );
      const second = await ads.next();
      assert.notEqual(second.version_info, first.version_info);
      const nacksBefore = xds.plane.stats().nacks;
      // A NACK carries the previous version; judged by error_detail only.
      ads.send({
        type_url: TYPE_URL.endpoint,
        resource_names: ['api.shop:9000'],
        version_info: first.version_info,
        response_nonce: second.nonce,
        error_detail: { code: 3, message: 'rejected for the test' },
      });
      await sotwMarker(ads, TYPE_URL.route, ['api.shop:9000']);
      assert.equal(xds.plane.stats().nacks, nacksBefore + 1);
      // A partial NACK: the new version and an error_detail — still a NACK.
      store.upsert(SOURCE, service('shop', 'api', [endpointAt('10.0.1.3', 9000)]));
      const third = await ads.next();
      assert.deepEqual(addresses(third.resources[0]!), ['10.0.1.3:9000']);
      ads.send({
        type_url: TYPE_URL.endpoint,
        resource_names: ['api.shop:9000'],
        version_info: third.version_info,
        response_nonce: third.nonce,
        error_detail: { code: 3, message: 'partly rejected' },
      });
      await sotwMarker(ads, TYPE_URL.cluster, ['api.shop:9000']);
      assert.equal(xds.plane.stats().nacks, nacksBefore + 2);
    } finally {
      ads.close();
    }
  });

  it('ignores a request with a stale nonce, names included', async () => {
    const ads = rawSotw(xds.port);
    try {
      ads.send({ node: NODE, type_url: TYPE_URL.cluster, resource_names: ['web.shop:8080'] });
      const first = await ads.next();
      const staleBefore = xds.plane.stats().staleRequests;
      ads.send({
        type_url: TYPE_URL.cluster,
        resource_names: ['web.shop:8080', 'api.shop:9000'],
        version_info: first.version_info,
        response_nonce: 'not-ours',
      });
      await sotwMarker(ads, TYPE_URL.listener, ['web.shop:8080']);
      assert.equal(xds.plane.stats().staleRequests, staleBefore + 1);
      ads.send({
        type_url: TYPE_URL.cluster,
        resource_names: ['web.shop:8080', 'api.shop:9000'],
        version_info: first.version_info,
        response_nonce: first.nonce,
      });
      const second = await ads.next();
      assert.deepEqual(
        names(second.resources),
        ['api.shop:9000', 'web.shop:8080'],
        'full state: both clusters',
      );
    } finally {
      ads.close();
    }
  });

  it('treats empty names as a wildcard on the first request only; later they unsubscribe', async () => {
    const ads = rawSotw(xds.port);
    try {
      ads.send({ node: NODE, type_url: TYPE_URL.cluster, resource_names: [] });
      const wildcard = await ads.next();
      assert.deepEqual(names(wildcard.resources), ['api.shop:grpc', 'web.shop:grpc']);
      // Legacy wildcard stays on through empty ACKs: a new Service appears in the next full-state response.
      ads.send({
        type_url: TYPE_URL.cluster,
        resource_names: [],
        version_info: wildcard.version_info,
        response_nonce: wildcard.nonce,
      });
      store.upsert(SOURCE, service('shop', 'new', [endpointAt('10.0.2.1')]));
      const grown = await ads.next();
      assert.deepEqual(names(grown.resources), ['api.shop:grpc', 'new.shop:grpc', 'web.shop:grpc']);
      store.delete(SOURCE, { namespace: 'shop', name: 'new' });
      const shrunk = await ads.next();
      assert.deepEqual(
        names(shrunk.resources),
        ['api.shop:grpc', 'web.shop:grpc'],
        'full state: a deleted Cluster is left out',
      );

      const named = rawSotw(xds.port);
      try {
        named.send({ node: NODE, type_url: TYPE_URL.endpoint, resource_names: ['web.shop:8080'] });
        const first = await named.next();
        named.send({
          type_url: TYPE_URL.endpoint,
          resource_names: [],
          version_info: first.version_info,
          response_nonce: first.nonce,
        });
        await sotwMarker(named, TYPE_URL.listener, ['web.shop:8080']);
        // Unsubscribed: a change of web is not sent; the next response is the answer to the next first request.
        store.upsert(SOURCE, service('shop', 'web', [endpointAt('10.0.0.1')]));
        await sotwMarker(named, TYPE_URL.route, ['web.shop:8080']);
      } finally {
        named.close();
      }
    } finally {
      ads.close();
    }
  });

  it('sends a change only to the streams subscribed to it', async () => {
    const web = rawSotw(xds.port);
    const api = rawSotw(xds.port);
    try {
      web.send({ node: NODE, type_url: TYPE_URL.endpoint, resource_names: ['web.shop:8080'] });
      api.send({ node: NODE, type_url: TYPE_URL.endpoint, resource_names: ['api.shop:9000'] });
      const [w, a] = await Promise.all([web.next(), api.next()]);
      web.send({
        type_url: TYPE_URL.endpoint,
        resource_names: ['web.shop:8080'],
        version_info: w.version_info,
        response_nonce: w.nonce,
      });
      api.send({
        type_url: TYPE_URL.endpoint,
        resource_names: ['api.shop:9000'],
        version_info: a.version_info,
        response_nonce: a.nonce,
      });
      store.upsert(SOURCE, service('shop', 'web', [endpointAt('10.0.0.7')]));
      const changed = await web.next();
      assert.deepEqual(addresses(changed.resources[0]!), ['10.0.0.7:8080']);
      await sotwMarker(api, TYPE_URL.listener, ['api.shop:9000']);
    } finally {
      web.close();
      api.close();
    }
  });
});

describe('ADS lifecycle', () => {
  it('holds answers until the first sync, so no client sees a premature "does not exist"', async () => {
    const store = newStore();
    const readiness = { synced: false };
    const xds = await startXdsServer({ store, readiness, syncPollMs: 20 });
    const ads = rawSotw(xds.port);
    try {
      ads.send({ node: NODE, type_url: TYPE_URL.listener, resource_names: ['web.shop:8080'] });
      // The request has arrived (counted), and a server that did not hold would have answered it at once, with
      // no Listener: the first response must be the one that has it.
      await eventually('the request arrived', 5000, () => xds.plane.stats().requests >= 1);
      await new Promise((resolve) => setImmediate(resolve));
      store.upsert(SOURCE, service('shop', 'web', [endpointAt('10.0.0.1')]));
      readiness.synced = true;
      const response = await ads.next();
      assert.deepEqual(names(response.resources), ['web.shop:8080']);
    } finally {
      ads.close();
      await xds.stop();
    }
  });

  it('ends streams with UNAVAILABLE on closeStreams(), and refuses new ones', async () => {
    const store = newStore();
    const xds = await startXdsServer({ store });
    const ads = rawSotw(xds.port);
    const delta = rawDelta(xds.port);
    try {
      ads.send({ node: NODE, type_url: TYPE_URL.cluster, resource_names: [] });
      delta.send({ node: NODE, type_url: TYPE_URL.cluster });
      await Promise.all([ads.next(), delta.next()]);
      assert.deepEqual([xds.plane.stats().sotwStreams, xds.plane.stats().deltaStreams], [1, 1]);
      xds.plane.closeStreams();
      await eventually(
        'both streams ended',
        1000,
        () => ads.error !== undefined && delta.error !== undefined,
      );
      assert.equal(ads.error?.code, grpc.status.UNAVAILABLE);
      assert.equal(delta.error?.code, grpc.status.UNAVAILABLE);
      const late = rawSotw(xds.port);
      late.send({ node: NODE, type_url: TYPE_URL.cluster });
      await eventually('a new stream is refused', 1000, () => late.error !== undefined);
      assert.equal(late.error?.code, grpc.status.UNAVAILABLE);
      late.close();
      assert.deepEqual([xds.plane.stats().sotwStreams, xds.plane.stats().deltaStreams], [0, 0]);
    } finally {
      ads.close();
      delta.close();
      await xds.stop();
    }
  });
});

describe('delta ADS', () => {
  const store = newStore();
  let xds: TestXdsServer;
  before(async () => {
    store.upsert(SOURCE, service('shop', 'web', [endpointAt('10.0.0.1'), endpointAt('10.0.0.2')]));
    xds = await startXdsServer({ store, instanceId: 'delta' });
  });
  after(() => xds.stop());

  it('serves Envoy-style wildcard Clusters, then only what changed, and removals', async () => {
    const ads = rawDelta(xds.port);
    try {
      ads.send({ node: NODE, type_url: TYPE_URL.cluster, resource_names_subscribe: [] });
      const first = await ads.next();
      assert.deepEqual(
        first.resources.map((r) => r.name),
        ['web.shop:grpc'],
      );
      assert.match(first.resources[0]!.version, /\.delta$/);
      const cluster = decode(first.resources[0]!.resource) as {
        type: number;
        eds_cluster_config: { service_name: string };
      };
      assert.equal(cluster.type, 3, 'EDS');
      assert.equal(cluster.eds_cluster_config.service_name, 'web.shop:grpc');
      ads.send({ type_url: TYPE_URL.cluster, response_nonce: first.nonce });
      // Listeners by wildcard: none (our Listeners are gRPC api_listeners), but the request is answered.
      ads.send({ type_url: TYPE_URL.listener });
      const listeners = await ads.next();
      assert.deepEqual([listeners.resources.length, listeners.removed_resources.length], [0, 0]);

      store.upsert(SOURCE, service('shop', 'api', [endpointAt('10.0.1.1', 9000)]));
      const added = await ads.next();
      assert.deepEqual(
        added.resources.map((r) => r.name),
        ['api.shop:grpc'],
        'only the new Cluster',
      );
      store.delete(SOURCE, { namespace: 'shop', name: 'api' });
      const removed = await ads.next();
      assert.deepEqual([removed.resources.length, removed.removed_resources], [0, ['api.shop:grpc']]);
    } finally {
      ads.close();
    }
  });

  it('subscribes, reports what does not exist, unsubscribes', async () => {
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
      assert.deepEqual(addresses(first.resources[0]!.resource), ['10.0.0.1:8080', '10.0.0.2:8080']);
      assert.deepEqual(first.removed_resources, ['none.shop:grpc']);
      ads.send({ type_url: TYPE_URL.endpoint, response_nonce: first.nonce });
      await deltaMarker(ads, TYPE_URL.listener, ['web.shop:8080']);

      store.upsert(SOURCE, service('shop', 'none', [endpointAt('10.0.3.1')]));
      const appeared = await ads.next();
      assert.deepEqual(
        appeared.resources.map((r) => r.name),
        ['none.shop:grpc'],
      );

      ads.send({
        type_url: TYPE_URL.endpoint,
        response_nonce: appeared.nonce,
        resource_names_unsubscribe: ['none.shop:grpc'],
      });
      store.upsert(SOURCE, service('shop', 'none', [endpointAt('10.0.3.2')]));
      // Unsubscribed: the change of none is not sent, so the change of web after it is the next response.
      store.upsert(SOURCE, service('shop', 'web', [endpointAt('10.0.0.3')]));
      const changed = await ads.next();
      assert.deepEqual(
        changed.resources.map((r) => r.name),
        ['web.shop:grpc'],
      );
      assert.deepEqual(addresses(changed.resources[0]!.resource), ['10.0.0.3:8080']);

      const nacks = xds.plane.stats().nacks;
      ads.send({
        type_url: TYPE_URL.endpoint,
        response_nonce: changed.nonce,
        error_detail: { code: 3, message: 'no' },
      });
      await deltaMarker(ads, TYPE_URL.cluster, ['web.shop:grpc']);
      assert.equal(xds.plane.stats().nacks, nacks + 1);
    } finally {
      ads.close();
    }
  });

  it('does not resend what the client already holds (initial_resource_versions) and removes what is gone', async () => {
    const probe = rawDelta(xds.port);
    let current: string;
    try {
      probe.send({ node: NODE, type_url: TYPE_URL.endpoint, resource_names_subscribe: ['web.shop:grpc'] });
      current = (await probe.next()).resources[0]!.version;
    } finally {
      probe.close();
    }
    const ads = rawDelta(xds.port);
    try {
      ads.send({
        node: NODE,
        type_url: TYPE_URL.endpoint,
        resource_names_subscribe: ['web.shop:grpc', 'old.shop:grpc'],
        initial_resource_versions: { 'web.shop:grpc': current, 'old.shop:grpc': 'x.other-instance' },
      });
      const first = await ads.next();
      assert.deepEqual(first.resources, [], 'web.shop:grpc is current');
      assert.deepEqual(first.removed_resources, ['old.shop:grpc']);
    } finally {
      ads.close();
    }
  });
});
