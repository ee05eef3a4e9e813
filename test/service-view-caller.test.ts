// A caller's view (src/views/service-view.ts with ViewOptions.caller), as properties over random Services with
// zone hints: no locality is the view without topology; with it, the endpoints are the rules' pick; the version is
// a function of what the caller receives (equal answers ⇒ equal versions, different answers ⇒ different ones);
// every caller is its own cache key.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { withVersion, type Endpoint, type ServiceSnapshot } from '../src/model.ts';
import { serviceView, viewForm, viewVersion, type ViewOptions } from '../src/views/service-view.ts';
import { pickForCaller } from '../src/views/topology.ts';

const ZONES = ['zone-a', 'zone-b', 'zone-c'] as const;

const endpointArb: fc.Arbitrary<Endpoint> = fc
  .record({
    host: fc.integer({ min: 1, max: 9 }),
    ready: fc.boolean(),
    zone: fc.constantFrom(...ZONES),
    hinted: fc.boolean(),
  })
  .map(({ host, ready, zone, hinted }) => ({
    addresses: [`10.0.0.${host}`],
    addressType: 'IPv4' as const,
    ports: [{ name: 'http', port: 8080, protocol: 'TCP' as const }],
    ready,
    serving: ready,
    terminating: false,
    zone,
    ...(hinted ? { hintsForZones: [zone] } : {}),
  }));

const snapshotArb: fc.Arbitrary<ServiceSnapshot> = fc
  .uniqueArray(endpointArb, { maxLength: 6, selector: (e) => e.addresses[0] })
  .map((endpoints) =>
    withVersion({
      namespace: 'shop',
      name: 'web',
      ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
      endpoints: [...endpoints].sort((a, b) => (a.addresses[0]! < b.addresses[0]! ? -1 : 1)),
      service: { type: 'ClusterIP', headless: false, ports: [], trafficDistribution: 'PreferSameZone' },
    }),
  );

const viewArb: fc.Arbitrary<ViewOptions> = fc.record({
  allEndpoints: fc.boolean(),
  port: fc.constantFrom(undefined, { name: 'http' }),
  caller: fc.constantFrom(undefined, { zone: '' }, ...ZONES.map((zone) => ({ zone }))),
});

describe("a caller's view", () => {
  it('without locality is the view without topology, with the snapshot version', () => {
    fc.assert(
      fc.property(snapshotArb, viewArb, (snapshot, view) => {
        const plain: ViewOptions = { allEndpoints: view.allEndpoints, port: view.port };
        const unsaid = { ...plain, caller: { zone: '', node: '' } };
        assert.deepEqual(serviceView(snapshot, unsaid), serviceView(snapshot, plain));
        assert.equal(viewForm(unsaid), viewForm(plain));
        assert.equal(serviceView(snapshot, plain).version, snapshot.version);
        assert.ok(!('topology' in serviceView(snapshot, plain)));
      }),
    );
  });

  it('with locality shows the pick (or everything with endpoints=all) and reports the rules', () => {
    fc.assert(
      fc.property(snapshotArb, fc.constantFrom(...ZONES), fc.boolean(), (snapshot, zone, all) => {
        const view: ViewOptions = { allEndpoints: all, port: undefined, caller: { zone } };
        const shown = serviceView(snapshot, view);
        const pick = pickForCaller(
          { endpoints: snapshot.endpoints, trafficDistribution: 'PreferSameZone' },
          { zone },
        );
        assert.deepEqual(shown.endpoints, all ? snapshot.endpoints : pick.picked);
        assert.deepEqual(shown.topology, pick.explanation);
        assert.equal(viewVersion(snapshot, view), shown.version);
      }),
    );
  });

  it("versions equal exactly when the caller's answers are equal; each caller its own cache key", () => {
    fc.assert(
      fc.property(snapshotArb, snapshotArb, viewArb, (a, b, view) => {
        const va = serviceView(a, view);
        const vb = serviceView(b, view);
        const sameAnswer =
          JSON.stringify({ ...va, version: null }) === JSON.stringify({ ...vb, version: null });
        if (view.caller?.zone) assert.equal(va.version === vb.version, sameAnswer);
        else assert.equal(va.version === vb.version, a.version === b.version);
      }),
    );
    const forms = new Set(
      [undefined, 'zone-a', 'zone-b'].map((zone) =>
        viewForm({ allEndpoints: false, port: undefined, caller: { zone } }),
      ),
    );
    assert.equal(forms.size, 3);
  });
});
