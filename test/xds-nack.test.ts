// What a state-of-the-world stream does with a NACKed version, through real ADS streams: it never answers a NACK
// with the version just rejected (that loops forever), and a rejection only holds until the client accepts a newer
// version, so a state that comes back to a once-rejected version after a newer ACK is sent again.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { TYPE_URL } from '../src/api/xds/wire.ts';
import {
  newStore,
  rawSotw,
  resourceNames,
  service,
  sotwMarker,
  SOURCE,
  startXdsServer,
  type RawResponse,
  type RawStream,
  type TestXdsServer,
  endpointAt,
  ackSotw,
} from './support/xds-harness.ts';

const NODE = { id: 'nack-test', locality: {} };
const REJECTED = { code: 3, message: 'rejected for the test' };

function nack(
  ads: RawStream<RawResponse>,
  names: readonly string[],
  response: RawResponse,
  accepted: string,
): void {
  ads.send({
    type_url: response.type_url,
    resource_names: names,
    version_info: accepted,
    response_nonce: response.nonce,
    error_detail: REJECTED,
  });
}

describe('NACKed versions on a state-of-the-world stream', () => {
  const store = newStore();
  let xds: TestXdsServer;
  before(async () => {
    store.upsert(SOURCE, service('shop', 'web', [endpointAt('10.0.0.1')]));
    xds = await startXdsServer({ store, instanceId: 'nack' });
  });
  after(() => xds.stop());

  // Mutation: delete `if (version === state.rejectedVersion) return undefined;` in SotwStream#fullState.
  // Mutation: clear `rejectedVersion` on any request without error_detail (drop `lastVersion !== rejectedVersion`).
  it('does not resend a rejected Cluster version, even when a later request of the same nonce adds a name', async () => {
    const ads = rawSotw(xds.port);
    try {
      ads.send({ node: NODE, type_url: TYPE_URL.cluster, resource_names: ['web.shop:grpc'] });
      const first = await ads.next();
      const nacks = xds.plane.stats().nacks;
      nack(ads, ['web.shop:grpc'], first, '');
      // The client changes its subscription before any new response: the same nonce, no error_detail, one name
      // more that does not exist. The full state is unchanged, so its version is the rejected one again.
      ads.send({
        type_url: TYPE_URL.cluster,
        resource_names: ['web.shop:grpc', 'nope.shop:grpc'],
        version_info: '',
        response_nonce: first.nonce,
      });
      const marker = await sotwMarker(ads, TYPE_URL.listener, ['web.shop:8080']);
      assert.deepEqual(resourceNames(marker.resources), ['web.shop:8080']);
      assert.equal(xds.plane.stats().nacks, nacks + 1);
    } finally {
      ads.close();
    }
  });

  // Mutation: delete `if (version === state.rejectedVersion) return undefined;` in SotwStream#changedOnly.
  it('does not resend a rejected route version when the NACK itself adds a name that does not exist', async () => {
    const ads = rawSotw(xds.port);
    try {
      ads.send({ node: NODE, type_url: TYPE_URL.route, resource_names: ['web.shop:8080'] });
      const first = await ads.next();
      assert.deepEqual(resourceNames(first.resources), ['web.shop:8080']);
      // Nothing new to send for 'nope' (routes of unknown Services are not sent): the version would be the same.
      nack(ads, ['web.shop:8080', 'nope.shop:1'], first, '');
      await sotwMarker(ads, TYPE_URL.listener, ['web.shop:8080']);
    } finally {
      ads.close();
    }
  });

  // Mutation: never clear `rejectedVersion` (the code before the fix). A Service added, rejected, accepted in a
  // later state and then removed again brings the state back to the rejected version; without the fix it is never
  // sent and the client keeps a Cluster that no longer exists.
  it('sends a state that returns to a once-rejected version after the client accepted a newer one', async () => {
    const names = ['web.shop:grpc', 'extra.shop:grpc'];
    store.upsert(SOURCE, service('shop', 'extra', [endpointAt('10.0.9.1')]));
    const ads = rawSotw(xds.port);
    try {
      ads.send({ node: NODE, type_url: TYPE_URL.cluster, resource_names: names });
      const both = await ads.next();
      assert.deepEqual(resourceNames(both.resources), ['extra.shop:grpc', 'web.shop:grpc']);
      ackSotw(ads, names, both);

      store.delete(SOURCE, { namespace: 'shop', name: 'extra' });
      const webOnly = await ads.next();
      assert.deepEqual(resourceNames(webOnly.resources), ['web.shop:grpc']);
      nack(ads, names, webOnly, both.version_info);

      store.upsert(SOURCE, service('shop', 'extra', [endpointAt('10.0.9.2')]));
      const again = await ads.next();
      assert.deepEqual(resourceNames(again.resources), ['extra.shop:grpc', 'web.shop:grpc']);
      assert.equal(again.version_info, both.version_info, 'same Clusters, same version');
      ackSotw(ads, names, again);

      store.delete(SOURCE, { namespace: 'shop', name: 'extra' });
      const gone = await ads.next(5000);
      assert.equal(gone.version_info, webOnly.version_info, 'the once-rejected version, sent again');
      assert.deepEqual(resourceNames(gone.resources), ['web.shop:grpc'], 'extra.shop:grpc is gone');
    } finally {
      ads.close();
      store.delete(SOURCE, { namespace: 'shop', name: 'extra' });
    }
  });

  // Mutation: never clear `rejectedVersion`. The same for an assignment (changed-only type): its content goes
  // A (accepted) → B (rejected) → A (accepted) → B, and B must reach the client.
  it('sends an assignment that returns to a once-rejected version after a newer ACK', async () => {
    const ads = rawSotw(xds.port);
    const names = ['web.shop:8080'];
    try {
      ads.send({ node: NODE, type_url: TYPE_URL.endpoint, resource_names: names });
      const a = await ads.next();
      ackSotw(ads, names, a);
      store.upsert(SOURCE, service('shop', 'web', [endpointAt('10.0.0.1'), endpointAt('10.0.0.2')]));
      const b = await ads.next();
      nack(ads, names, b, a.version_info);
      store.upsert(SOURCE, service('shop', 'web', [endpointAt('10.0.0.1')]));
      const backToA = await ads.next();
      assert.equal(backToA.version_info, a.version_info);
      ackSotw(ads, names, backToA);
      store.upsert(SOURCE, service('shop', 'web', [endpointAt('10.0.0.1'), endpointAt('10.0.0.2')]));
      const backToB = await ads.next(5000);
      assert.equal(backToB.version_info, b.version_info);
    } finally {
      ads.close();
      store.upsert(SOURCE, service('shop', 'web', [endpointAt('10.0.0.1')]));
    }
  });
});
