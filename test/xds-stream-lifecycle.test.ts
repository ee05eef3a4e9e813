// The life of ADS streams around their protocol, through real raw streams: answers held until the first sync are
// sent when it completes (nothing else has to change), one change that concerns two types is sent for both, a
// closed stream stops watching its Services, and the delta stream's counters and its "does not exist" reports.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { TYPE_URL } from '../src/api/xds/wire.ts';
import {
  eventually,
  newStore,
  rawDelta,
  rawSotw,
  resourceNames,
  service,
  SOURCE,
  startXdsServer,
  type TestXdsServer,
  endpointAt,
} from './support/xds-harness.ts';

const NODE = { id: 'lifecycle-test', locality: {} };

describe('ADS streams around the protocol', () => {
  // Mutation: empty AdsStream.resume() (held answers would wait for the next change).
  it('sends the answers held until the first sync as soon as it completes', async () => {
    const store = newStore();
    store.upsert(SOURCE, service('shop', 'web', [endpointAt('10.0.0.1')]));
    const readiness = { synced: false };
    const xds = await startXdsServer({ store, readiness, syncPollMs: 20 });
    const ads = rawSotw(xds.port);
    try {
      ads.send({ node: NODE, type_url: TYPE_URL.listener, resource_names: ['web.shop:8080'] });
      await eventually('the request arrived', 5000, () => xds.plane.stats().requests >= 1);
      readiness.synced = true;
      const response = await ads.next(5000);
      assert.deepEqual(resourceNames(response.resources), ['web.shop:8080']);
    } finally {
      ads.close();
      await xds.stop();
    }
  });

  describe('on one server', () => {
    const store = newStore();
    let xds: TestXdsServer;
    before(async () => {
      store.upsert(SOURCE, service('shop', 'web', [endpointAt('10.0.0.1')]));
      xds = await startXdsServer({ store, instanceId: 'life' });
    });
    after(() => xds.stop());

    // Mutation: `if (!this.pump.write(response)) return;` as `if (this.pump.write(response)) return;` (a flush
    // would stop after its first response).
    it('sends one change to every type it concerns, in one go', async () => {
      const ads = rawSotw(xds.port);
      try {
        ads.send({ node: NODE, type_url: TYPE_URL.cluster, resource_names: ['new.shop:grpc'] });
        const clusters = await ads.next();
        ads.send({ type_url: TYPE_URL.endpoint, resource_names: ['new.shop:8080'] });
        const assignments = await ads.next();
        for (const r of [clusters, assignments]) {
          ads.send({
            type_url: r.type_url,
            resource_names: r.type_url === TYPE_URL.cluster ? ['new.shop:grpc'] : ['new.shop:8080'],
            version_info: r.version_info,
            response_nonce: r.nonce,
          });
        }
        store.upsert(SOURCE, service('shop', 'new', [endpointAt('10.0.7.1')]));
        const got = [await ads.next(5000), await ads.next(5000)].map((r) => r.type_url).sort();
        assert.deepEqual(got, [TYPE_URL.cluster, TYPE_URL.endpoint].sort());
      } finally {
        ads.close();
        store.delete(SOURCE, { namespace: 'shop', name: 'new' });
      }
    });

    // Mutation: drop the closed() cleanup (interest.clear) or its wiring to the call's close.
    it('stops watching the Services of a stream once it closes', async () => {
      const ads = rawSotw(xds.port);
      ads.send({
        node: NODE,
        type_url: TYPE_URL.endpoint,
        resource_names: ['web.shop:8080', 'other.shop:8080'],
      });
      await ads.next();
      assert.equal(xds.plane.stats().watchedServices, 2);
      assert.equal(xds.plane.stats().sotwStreams, 1);
      ads.close();
      await eventually('the stream is gone', 5000, () => xds.plane.stats().sotwStreams === 0);
      assert.equal(xds.plane.stats().watchedServices, 0);
    });

    // Mutations: count a first request (empty nonce) as an ACK; drop the ACK count; miscount responses.
    it('delta: counts ACKs, NACKs and responses, and not a first request as an ACK', async () => {
      const ads = rawDelta(xds.port);
      try {
        const before = xds.plane.stats();
        ads.send({ node: NODE, type_url: TYPE_URL.endpoint, resource_names_subscribe: ['web.shop:8080'] });
        const first = await ads.next();
        assert.equal(xds.plane.stats().acks, before.acks, 'a first request is no ACK');
        assert.equal(xds.plane.stats().responses, before.responses + 1);
        assert.equal(xds.plane.stats().resourcesSent, before.resourcesSent + 1);
        ads.send({ type_url: TYPE_URL.endpoint, response_nonce: first.nonce });
        ads.send({ type_url: TYPE_URL.cluster, resource_names_subscribe: ['web.shop:grpc'] });
        const clusters = await ads.next();
        assert.equal(xds.plane.stats().acks, before.acks + 1);
        ads.send({
          type_url: TYPE_URL.cluster,
          response_nonce: clusters.nonce,
          error_detail: { code: 3, message: 'no' },
        });
        ads.send({ type_url: TYPE_URL.listener, resource_names_subscribe: ['web.shop:8080'] });
        await ads.next();
        assert.deepEqual(
          [xds.plane.stats().acks, xds.plane.stats().nacks],
          [before.acks + 1, before.nacks + 1],
        );
      } finally {
        ads.close();
      }
    });

    // Mutations: report an absent name again on every flush; keep it "reported" after it is unsubscribed.
    it('delta: says once that a name does not exist, and again after it is unsubscribed and asked for anew', async () => {
      const ads = rawDelta(xds.port);
      try {
        ads.send({
          node: NODE,
          type_url: TYPE_URL.cluster,
          resource_names_subscribe: ['*', 'none.shop:grpc'],
        });
        const first = await ads.next();
        assert.deepEqual(first.removed_resources, ['none.shop:grpc']);
        ads.send({ type_url: TYPE_URL.cluster, response_nonce: first.nonce });
        store.upsert(SOURCE, service('shop', 'fresh', [endpointAt('10.0.8.1')]));
        const grown = await ads.next();
        assert.deepEqual(
          grown.resources.map((r) => r.name),
          ['fresh.shop:grpc'],
        );
        assert.deepEqual(grown.removed_resources, [], 'the absent name is not reported again');
        ads.send({
          type_url: TYPE_URL.cluster,
          response_nonce: grown.nonce,
          resource_names_unsubscribe: ['none.shop:grpc'],
        });
        ads.send({ type_url: TYPE_URL.cluster, resource_names_subscribe: ['none.shop:grpc'] });
        const again = await ads.next();
        assert.deepEqual(again.removed_resources, ['none.shop:grpc'], 'asked for anew: reported anew');
      } finally {
        ads.close();
        store.delete(SOURCE, { namespace: 'shop', name: 'fresh' });
      }
    });
  });
});
