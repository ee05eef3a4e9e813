// The topology rules (src/views/topology.ts) as properties over drawn Services and callers — the pick and the rest
// are the routable set split in two, the pick is never empty, hints are used only when every routable endpoint has
// them, node before zone before all — and as the named cases of notes/topology-facts.md.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { Endpoint, EndpointPort } from '../src/model.ts';
import { routableEndpoints } from '../src/views/endpoint-sets.ts';
import {
  pickForCaller,
  type CallerLocality,
  type TopologyEndpoint,
  type TopologyInput,
  type TopologyPick,
} from '../src/views/topology.ts';

type TestEndpoint = Endpoint & TopologyEndpoint;

const ZONES = ['zone-a', 'zone-b', 'zone-c'];
const NODES = ['node-1', 'node-2', 'node-3'];
const http: EndpointPort = { name: 'http', port: 8080, protocol: 'TCP' };
const metrics: EndpointPort = { name: 'metrics', port: 9090, protocol: 'TCP' };

const CONDITIONS = [
  { ready: true, serving: true, terminating: false },
  { ready: false, serving: true, terminating: true },
  { ready: false, serving: false, terminating: false },
  { ready: false, serving: false, terminating: true },
] as const;

/** How a drawn Service's endpoints carry one kind of hint: every one, some, or none. */
const coverage = fc.constantFrom('all', 'some', 'none');

const endpointDraw = fc.record({
  address: fc.constantFrom('10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.4', '10.0.0.5'),
  ports: fc.constantFrom([http], [http, metrics], [metrics]),
  conditions: fc.constantFrom(...CONDITIONS, CONDITIONS[0], CONDITIONS[0]),
  fqdn: fc.integer({ min: 0, max: 9 }).map((n) => n === 0),
  zone: fc.constantFrom(undefined, ...ZONES),
  forZones: fc.subarray(ZONES, { minLength: 1 }),
  forNodes: fc.subarray(NODES, { minLength: 1 }),
  hasZoneHints: fc.boolean(),
  hasNodeHints: fc.boolean(),
  emptyList: fc.boolean(),
});

/** Services with few addresses (duplicates are common), hints in every coverage, every declared policy. */
const services: fc.Arbitrary<TopologyInput<TestEndpoint>> = fc
  .record({
    zoneHints: coverage,
    nodeHints: coverage,
    draws: fc.array(endpointDraw, { maxLength: 8 }),
    trafficDistribution: fc.constantFrom(
      undefined,
      'PreferClose',
      'PreferSameZone',
      'PreferSameNode',
      'example.com/custom',
    ),
    topologyMode: fc.constantFrom(undefined, 'Auto', 'auto', 'Disabled'),
  })
  .map(({ zoneHints, nodeHints, draws, trafficDistribution, topologyMode }) => ({
    ...(trafficDistribution === undefined ? {} : { trafficDistribution }),
    ...(topologyMode === undefined ? {} : { topologyMode }),
    endpoints: draws.map((d): TestEndpoint => {
      const hints = (mode: string, has: boolean, list: string[]): string[] | undefined =>
        mode === 'all' || (mode === 'some' && has) ? list : d.emptyList ? [] : undefined;
      const forZones = hints(zoneHints, d.hasZoneHints, d.forZones);
      const forNodes = hints(nodeHints, d.hasNodeHints, d.forNodes);
      return {
        addresses: [d.fqdn ? 'web-0.example.com' : d.address],
        addressType: d.fqdn ? 'FQDN' : 'IPv4',
        ports: d.ports,
        ...d.conditions,
        ...(d.zone === undefined ? {} : { zone: d.zone }),
        ...(forZones === undefined ? {} : { hintsForZones: forZones }),
        ...(forNodes === undefined ? {} : { hintsForNodes: forNodes }),
      };
    }),
  }));

const callers: fc.Arbitrary<CallerLocality> = fc.record(
  {
    zone: fc.constantFrom(undefined, '', ...ZONES, 'zone-x'),
    node: fc.constantFrom(undefined, '', ...NODES, 'node-x'),
  },
  { requiredKeys: [] },
);

const RUNS = { numRuns: 2000 };

const hasHints = (list: readonly string[] | undefined): boolean => (list?.length ?? 0) > 0;
const said = (value: string | undefined): string | undefined => (value === '' ? undefined : value);
const socketsOf = (endpoints: readonly TestEndpoint[]): string[] =>
  endpoints.flatMap((e) => e.ports.map((p) => `${e.addresses[0]}|${p.name}|${p.port}`));

describe('pickForCaller: properties', () => {
  it('splits the routable set in two, in its order: each endpoint in one part, an IP:port never in both', () => {
    fc.assert(
      fc.property(services, callers, (service, caller) => {
        const routable = routableEndpoints(service.endpoints);
        const { picked, rest } = pickForCaller(service, caller);
        const pickedSet = new Set(picked);
        assert.deepEqual(
          routable.filter((e) => pickedSet.has(e)),
          picked,
        );
        assert.deepEqual(
          routable.filter((e) => !pickedSet.has(e)),
          rest,
        );
        assert.equal(picked.length + rest.length, routable.length);
        const inPicked = new Set(socketsOf(picked));
        for (const socket of socketsOf(rest)) assert.ok(!inPicked.has(socket), `${socket} in both`);
      }),
      RUNS,
    );
  });

  it('picks at least one endpoint whenever the routable set has one', () => {
    fc.assert(
      fc.property(services, callers, (service, caller) => {
        const routable = routableEndpoints(service.endpoints);
        assert.equal(pickForCaller(service, caller).picked.length > 0, routable.length > 0);
      }),
      RUNS,
    );
  });

  it('gives a caller that says nothing of where it is the whole routable set', () => {
    const silent = fc.constantFrom<CallerLocality>({}, { zone: '' }, { node: '' }, { zone: '', node: '' });
    fc.assert(
      fc.property(services, silent, (service, caller) => {
        const pick = pickForCaller(service, caller);
        assert.deepEqual(pick.picked, routableEndpoints(service.endpoints));
        assert.deepEqual(pick.rest, []);
        assert.equal(pick.explanation.matched, 'none');
      }),
      RUNS,
    );
  });

  it('gives every caller the whole routable set of a Service without trafficDistribution, topology-mode or hints', () => {
    const plain = services.map((s) => ({
      endpoints: s.endpoints.map(({ hintsForZones: _z, hintsForNodes: _n, ...e }) => e),
    }));
    fc.assert(
      fc.property(plain, callers, (service, caller) => {
        const pick = pickForCaller(service, caller);
        assert.deepEqual(pick.rest, []);
        assert.deepEqual(pick.picked, routableEndpoints(service.endpoints));
        assert.equal(pick.explanation.rule, 'none');
        assert.equal(pick.explanation.fallback, undefined);
      }),
      RUNS,
    );
  });

  it('uses hints only when every routable endpoint has them, and only when one is ready', () => {
    fc.assert(
      fc.property(services, callers, (service, caller) => {
        const routable = routableEndpoints(service.endpoints);
        const everyZone = routable.every((e) => hasHints(e.hintsForZones));
        const everyNode = routable.every((e) => hasHints(e.hintsForNodes));
        const anyReady = routable.some((e) => e.ready);
        const { rest } = pickForCaller(service, caller);
        if (!anyReady || (!everyZone && !everyNode)) assert.deepEqual(rest, []);
      }),
      RUNS,
    );
  });

  it("prefers the caller's node, then its zone, then everything (kube-proxy's order), and says which", () => {
    fc.assert(
      fc.property(services, callers, (service, caller) => {
        const routable = routableEndpoints(service.endpoints);
        const zone = said(caller.zone);
        const node = said(caller.node);
        const anyReady = routable.some((e) => e.ready);
        const nodeRule =
          anyReady &&
          node !== undefined &&
          routable.every((e) => hasHints(e.hintsForNodes)) &&
          routable.some((e) => e.hintsForNodes?.includes(node));
        const zoneRule =
          anyReady &&
          zone !== undefined &&
          routable.every((e) => hasHints(e.hintsForZones)) &&
          routable.some((e) => e.hintsForZones?.includes(zone));
        const pick = pickForCaller(service, caller);
        const expected = nodeRule ? 'node' : zoneRule ? 'zone' : 'none';
        assert.equal(pick.explanation.matched, expected);
        if (expected === 'none') {
          assert.deepEqual(pick.rest, []);
          return;
        }
        const hinted = (e: TestEndpoint): boolean =>
          expected === 'node'
            ? e.hintsForNodes?.includes(node ?? '') === true
            : e.hintsForZones?.includes(zone ?? '') === true;
        // Picked: hinted for the caller, or the same pod (address) as one that is; the rest: neither.
        const hintedAddresses = new Set(routable.filter(hinted).map((e) => e.addresses[0]));
        for (const e of pick.picked) assert.ok(hinted(e) || hintedAddresses.has(e.addresses[0]));
        for (const e of pick.rest) assert.ok(!hinted(e) && !hintedAddresses.has(e.addresses[0]));
      }),
      RUNS,
    );
  });

  it('echoes the caller it picked for, and explains a fallback only when a rule applies', () => {
    fc.assert(
      fc.property(services, callers, (service, caller) => {
        const { explanation } = pickForCaller(service, caller);
        assert.equal(explanation.zone, said(caller.zone));
        assert.equal(explanation.node, said(caller.node));
        if (explanation.rule === 'none') assert.equal(explanation.fallback, undefined);
        if (explanation.matched === 'none' && explanation.rule !== 'none') {
          const routable = routableEndpoints(service.endpoints);
          assert.equal(explanation.fallback !== undefined, routable.length > 0);
        }
      }),
      RUNS,
    );
  });
});

// --- the named cases of notes/topology-facts.md ---

let nextIp = 1;
function pod(zone: string | undefined, extra: Partial<TestEndpoint> = {}): TestEndpoint {
  return {
    addresses: [`10.1.0.${nextIp++}`],
    addressType: 'IPv4',
    ports: [http],
    ready: true,
    serving: true,
    terminating: false,
    ...(zone === undefined ? {} : { zone }),
    ...extra,
  };
}

/** A pod as the EndpointSlice controller writes it for PreferSameZone/PreferClose: hinted for its own zone. */
function zonePod(zone: string, extra: Partial<TestEndpoint> = {}): TestEndpoint {
  return pod(zone, { hintsForZones: [zone], ...extra });
}

/** For PreferSameNode: hinted for its node and its zone. */
function nodePod(zone: string, node: string, extra: Partial<TestEndpoint> = {}): TestEndpoint {
  return pod(zone, { nodeName: node, hintsForZones: [zone], hintsForNodes: [node], ...extra });
}

function summary(pick: TopologyPick<TestEndpoint>): { picked: string[]; rest: string[] } {
  return {
    picked: pick.picked.map((e) => e.addresses[0] ?? ''),
    rest: pick.rest.map((e) => e.addresses[0] ?? ''),
  };
}

describe('pickForCaller: the cases of the notes', () => {
  const a1 = zonePod('zone-a');
  const a2 = zonePod('zone-a');
  const b1 = zonePod('zone-b');
  const sameZone = { trafficDistribution: 'PreferSameZone', endpoints: [a1, a2, b1] };
  const ip = (e: TestEndpoint): string => e.addresses[0] ?? '';

  it('PreferSameZone: a caller in zone a gets zone a first, zone b after', () => {
    const pick = pickForCaller(sameZone, { zone: 'zone-a' });
    assert.deepEqual(summary(pick), { picked: [ip(a1), ip(a2)], rest: [ip(b1)] });
    assert.deepEqual(pick.explanation, { rule: 'PreferSameZone', matched: 'zone', zone: 'zone-a' });
  });

  it('PreferClose (the older name) behaves the same and says so', () => {
    const pick = pickForCaller({ ...sameZone, trafficDistribution: 'PreferClose' }, { zone: 'zone-b' });
    assert.deepEqual(summary(pick), { picked: [ip(b1)], rest: [ip(a1), ip(a2)] });
    assert.equal(pick.explanation.rule, 'PreferClose');
  });

  it('a caller whose zone no endpoint is hinted for gets all of them, never none', () => {
    const pick = pickForCaller(sameZone, { zone: 'zone-c' });
    assert.deepEqual(summary(pick), { picked: [ip(a1), ip(a2), ip(b1)], rest: [] });
    assert.deepEqual(pick.explanation, {
      rule: 'PreferSameZone',
      matched: 'none',
      zone: 'zone-c',
      fallback: 'zone-not-hinted',
    });
  });

  it('one ready endpoint without hints turns hints off for everyone', () => {
    const unhinted = pod('zone-b');
    const pick = pickForCaller({ ...sameZone, endpoints: [a1, a2, unhinted] }, { zone: 'zone-a' });
    assert.deepEqual(pick.rest, []);
    assert.equal(pick.explanation.fallback, 'zone-hints-incomplete');
  });

  it('an endpoint that is not ready does not count against hints, and is never picked', () => {
    const unready = pod('zone-a', { ready: false, serving: false });
    const pick = pickForCaller({ ...sameZone, endpoints: [a1, unready, b1] }, { zone: 'zone-a' });
    assert.deepEqual(summary(pick), { picked: [ip(a1)], rest: [ip(b1)] });
  });

  it('the routable set comes first: a zone whose endpoints are all unready falls back to the ready ones', () => {
    const unreadyA = zonePod('zone-a', { ready: false, serving: false });
    const pick = pickForCaller({ ...sameZone, endpoints: [unreadyA, b1] }, { zone: 'zone-a' });
    assert.deepEqual(summary(pick), { picked: [ip(b1)], rest: [] });
    assert.equal(pick.explanation.fallback, 'zone-not-hinted');
  });

  it('with no ready endpoint, the serving-and-terminating ones are used, all of them (kube-proxy ignores hints then)', () => {
    const drainingA = zonePod('zone-a', { ready: false, serving: true, terminating: true });
    const drainingB = zonePod('zone-b', { ready: false, serving: true, terminating: true });
    const pick = pickForCaller({ ...sameZone, endpoints: [drainingA, drainingB] }, { zone: 'zone-a' });
    assert.deepEqual(summary(pick), { picked: [ip(drainingA), ip(drainingB)], rest: [] });
    assert.equal(pick.explanation.fallback, 'no-ready-endpoints');
  });

  it('a Service that asks for PreferClose before the controller wrote hints: everything, and why', () => {
    const pick = pickForCaller(
      { trafficDistribution: 'PreferClose', endpoints: [pod('zone-a'), pod('zone-b')] },
      { zone: 'zone-a' },
    );
    assert.deepEqual(pick.rest, []);
    assert.equal(pick.explanation.fallback, 'zone-hints-missing');
  });

  it('topology-mode Auto: zones allotted by the controller, not the endpoint zone, decide', () => {
    // Zone c has no pods: the controller lends it b's second pod (hinted for c, though it runs in b).
    const lent = pod('zone-b', { hintsForZones: ['zone-c'] });
    const service = { topologyMode: 'Auto', endpoints: [a1, b1, lent] };
    const pick = pickForCaller(service, { zone: 'zone-c' });
    assert.deepEqual(summary(pick), { picked: [ip(lent)], rest: [ip(a1), ip(b1)] });
    assert.equal(pick.explanation.rule, 'hints');
    // The annotation takes precedence over trafficDistribution, as in the EndpointSlice controller.
    assert.equal(
      pickForCaller({ ...service, trafficDistribution: 'PreferClose' }, { zone: 'zone-c' }).explanation.rule,
      'hints',
    );
  });

  it('PreferSameNode: the caller’s node, else its zone, else all', () => {
    const n1 = nodePod('zone-a', 'node-1');
    const n2 = nodePod('zone-a', 'node-2');
    const n3 = nodePod('zone-b', 'node-3');
    const service = { trafficDistribution: 'PreferSameNode', endpoints: [n1, n2, n3] };

    const onNode = pickForCaller(service, { zone: 'zone-a', node: 'node-2' });
    assert.deepEqual(summary(onNode), { picked: [ip(n2)], rest: [ip(n1), ip(n3)] });
    assert.deepEqual(onNode.explanation, {
      rule: 'PreferSameNode',
      matched: 'node',
      zone: 'zone-a',
      node: 'node-2',
    });

    const otherNode = pickForCaller(service, { zone: 'zone-a', node: 'node-9' });
    assert.deepEqual(summary(otherNode), { picked: [ip(n1), ip(n2)], rest: [ip(n3)] });
    assert.equal(otherNode.explanation.matched, 'zone');
    assert.equal(otherNode.explanation.fallback, 'node-not-hinted');

    const zoneOnly = pickForCaller(service, { zone: 'zone-b' });
    assert.deepEqual(summary(zoneOnly), { picked: [ip(n3)], rest: [ip(n1), ip(n2)] });
    assert.equal(zoneOnly.explanation.fallback, 'no-caller-node');

    const nowhere = pickForCaller(service, { zone: 'zone-c', node: 'node-9' });
    assert.deepEqual(nowhere.rest, []);
    assert.equal(nowhere.explanation.fallback, 'zone-not-hinted');

    const nodeOnly = pickForCaller(service, { node: 'node-3' });
    assert.deepEqual(summary(nodeOnly), { picked: [ip(n3)], rest: [ip(n1), ip(n2)] });
  });

  it('PreferSameNode with node hints on some endpoints only: zone hints decide', () => {
    const n1 = nodePod('zone-a', 'node-1');
    const bare = zonePod('zone-b');
    const pick = pickForCaller(
      { trafficDistribution: 'PreferSameNode', endpoints: [n1, bare] },
      { zone: 'zone-b', node: 'node-1' },
    );
    assert.deepEqual(summary(pick), { picked: [ip(bare)], rest: [ip(n1)] });
    assert.equal(pick.explanation.fallback, 'node-hints-incomplete');
  });

  it('a caller without locality gets everything, and is told why', () => {
    const pick = pickForCaller(sameZone, {});
    assert.deepEqual(summary(pick), { picked: [ip(a1), ip(a2), ip(b1)], rest: [] });
    assert.deepEqual(pick.explanation, {
      rule: 'PreferSameZone',
      matched: 'none',
      fallback: 'no-caller-locality',
    });
  });

  it('one pod in two slices (its ports changing) goes wholly into the pick', () => {
    // The same address, once hinted for zone a and once (a stale slice) for zone b.
    const address = '10.2.0.1';
    const current = zonePod('zone-a', { addresses: [address] });
    const stale = zonePod('zone-a', {
      addresses: [address],
      ports: [http, metrics],
      hintsForZones: ['zone-b'],
    });
    const pick = pickForCaller({ ...sameZone, endpoints: [current, stale, b1] }, { zone: 'zone-a' });
    assert.deepEqual(summary(pick), { picked: [address, address], rest: [ip(b1)] });
  });

  it('FQDN endpoints never route, hinted or not', () => {
    const fqdn = zonePod('zone-a', { addresses: ['db.example.com'], addressType: 'FQDN' });
    const pick = pickForCaller({ ...sameZone, endpoints: [fqdn, b1] }, { zone: 'zone-a' });
    assert.deepEqual(summary(pick), { picked: [ip(b1)], rest: [] });
  });

  it('a Service with no routable endpoint gives two empty parts and no fallback', () => {
    const pick = pickForCaller(
      { ...sameZone, endpoints: [pod('zone-a', { ready: false, serving: false })] },
      {
        zone: 'zone-a',
      },
    );
    assert.deepEqual(summary(pick), { picked: [], rest: [] });
    assert.equal(pick.explanation.fallback, undefined);
  });
});
