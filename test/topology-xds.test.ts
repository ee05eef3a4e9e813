// Caller-aware xDS (issue 12 items 1 and 4): the caller is its stream's first Node.locality, on state-of-the-world
// and delta streams; its assignment has what the topology rules pick at priority 0 and the rest of the routable set
// at priority 1, one locality per zone, each IP:port once; versions are content hashes of what that caller
// receives, so a change another caller sees is no change for it; every field decodes under Envoy's upstream protos.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { parseCommandLine } from '../src/config/index.ts';
import { STRICT_OVERPROVISIONING_FACTOR } from '../src/config/options/xds.ts';
import { ResourceCatalog } from '../src/api/xds/catalog.ts';
import { buildClusterLoadAssignment } from '../src/api/xds/resources.ts';
import { HEALTH_STATUS, TYPE_URL } from '../src/api/xds/wire.ts';
import type { Endpoint, ServiceEndpoints } from '../src/model.ts';
import { pickForCaller } from '../src/views/topology.ts';
import { ANYONE_TIERS_KEY, callerTiers } from '../src/views/topology-priorities.ts';
import {
  decodeAny,
  deltaMarker,
  newStore,
  rawDelta,
  rawSotw,
  SOURCE,
  sotwMarker,
  startXdsServer,
  type RawAny,
  type TestXdsServer,
} from './support/xds-harness.ts';

const { HEALTHY, UNHEALTHY, DRAINING } = HEALTH_STATUS;

function endpoint(address: string, zone: string | undefined, extra: Partial<Endpoint> = {}): Endpoint {
  return {
    addresses: [address],
    addressType: address.includes(':') ? 'IPv6' : 'IPv4',
    ports: [{ name: 'grpc', port: 8080, protocol: 'TCP' }],
    ready: true,
    serving: true,
    terminating: false,
    ...(zone === undefined ? {} : { zone, hintsForZones: [zone] }),
    ...extra,
  };
}

/** A PreferSameZone Service, its endpoints hinted for their own zones (as the EndpointSlice controller writes). */
function zoned(endpoints: Endpoint[], name = 'web'): ServiceEndpoints {
  return {
    namespace: 'shop',
    name,
    ports: [{ name: 'grpc', port: 8080, protocol: 'TCP' }],
    endpoints,
    service: {
      type: 'ClusterIP',
      headless: false,
      ports: [{ name: 'grpc', port: 80, targetPort: 8080, protocol: 'TCP' }],
      trafficDistribution: 'PreferSameZone',
    },
  };
}

interface Shape {
  priority: number;
  locality: Record<string, string>;
  weight: number;
  endpoints: string[];
}

/** An assignment as (priority, locality, weight, address:port/health) rows. */
function shape(any: RawAny | Record<string, unknown>): Shape[] {
  const cla = ('type_url' in any ? decodeAny(any as RawAny) : any) as {
    endpoints?: {
      priority?: number;
      locality?: Record<string, string>;
      load_balancing_weight?: { value: number };
      lb_endpoints?: {
        health_status?: number;
        endpoint: { address: { socket_address: { address: string; port_value: number } } };
      }[];
    }[];
  };
  return (cla.endpoints ?? []).map((l) => ({
    priority: l.priority ?? 0,
    locality: Object.fromEntries(Object.entries(l.locality ?? {}).filter(([, v]) => v !== '')),
    weight: l.load_balancing_weight?.value ?? 0,
    endpoints: (l.lb_endpoints ?? []).map(
      (e) =>
        `${e.endpoint.address.socket_address.address}:${e.endpoint.address.socket_address.port_value}/${e.health_status ?? 0}`,
    ),
  }));
}

const web = zoned([
  endpoint('10.0.0.1', 'zone-a'),
  endpoint('10.0.0.2', 'zone-a'),
  endpoint('10.0.1.1', 'zone-b'),
  endpoint('10.0.1.2', 'zone-b', { ready: false, serving: false }),
]);

/** web's two localities, without their priority. */
const ZONE_A = {
  locality: { zone: 'zone-a' },
  weight: 2,
  endpoints: [`10.0.0.1:8080/${HEALTHY}`, `10.0.0.2:8080/${HEALTHY}`],
};
const ZONE_B = {
  locality: { zone: 'zone-b' },
  weight: 1,
  endpoints: [`10.0.1.1:8080/${HEALTHY}`, `10.0.1.2:8080/${UNHEALTHY}`],
};
const ZONE_A_VIEW: Shape[] = [
  { priority: 0, ...ZONE_A },
  { priority: 1, ...ZONE_B },
];
const ZONE_B_VIEW: Shape[] = [
  { priority: 0, ...ZONE_B },
  { priority: 1, ...ZONE_A },
];
const EVERYONE_VIEW: Shape[] = [
  { priority: 0, ...ZONE_A },
  { priority: 0, ...ZONE_B },
];

const node = (locality?: Readonly<Record<string, string | undefined>>): object => ({
  id: 'topology-test',
  ...(locality === undefined ? {} : { locality }),
});

describe('caller-aware assignments on ADS streams', () => {
  const store = newStore();
  let xds: TestXdsServer;
  before(async () => {
    store.upsert(SOURCE, web);
    xds = await startXdsServer({ store });
  });
  after(() => xds.stop());

  /** The first assignment a state-of-the-world stream with `locality` gets for web.shop:8080. */
  async function sotwAssignment(locality?: Readonly<Record<string, string | undefined>>) {
    const ads = rawSotw(xds.port);
    ads.send({ node: node(locality), type_url: TYPE_URL.endpoint, resource_names: ['web.shop:8080'] });
    const response = await ads.next();
    const [resource] = response.resources;
    assert.ok(resource !== undefined);
    return { ads, response, resource };
  }

  it('gives a zone-a caller its zone at priority 0 and zone b at priority 1, and zone b the reverse (SotW)', async () => {
    const a = await sotwAssignment({ zone: 'zone-a' });
    const b = await sotwAssignment({ zone: 'zone-b' });
    try {
      assert.deepEqual(shape(a.resource), ZONE_A_VIEW);
      assert.deepEqual(shape(b.resource), ZONE_B_VIEW);
      assert.notEqual(a.response.version_info, b.response.version_info);
    } finally {
      a.ads.close();
      b.ads.close();
    }
  });

  it('gives one priority to a caller without locality, with an empty or invalid one, or in a zone nobody is hinted for', async () => {
    for (const locality of [
      undefined,
      {},
      { zone: '' },
      { zone: 'zone-c' },
      { zone: 'zone a!' },
      { region: 'x|y' },
    ]) {
      const { ads, resource } = await sotwAssignment(locality);
      try {
        assert.deepEqual(shape(resource), EVERYONE_VIEW, JSON.stringify(locality));
      } finally {
        ads.close();
      }
    }
  });

  it('does the same on delta streams', async () => {
    for (const [locality, expected] of [
      [{ zone: 'zone-a' }, ZONE_A_VIEW],
      [{ zone: 'zone-b', sub_zone: 'node-7' }, ZONE_B_VIEW],
      [undefined, EVERYONE_VIEW],
    ] as const) {
      const ads = rawDelta(xds.port);
      try {
        ads.send({
          node: node(locality),
          type_url: TYPE_URL.endpoint,
          resource_names_subscribe: ['web.shop:8080'],
        });
        const response = await ads.next();
        const [resource] = response.resources;
        assert.ok(resource !== undefined);
        assert.deepEqual(shape(resource.resource), expected, JSON.stringify(locality));
      } finally {
        ads.close();
      }
    }
  });

  it('keeps the first request’s locality for the whole stream: a later request saying otherwise changes nothing', async () => {
    const { ads, response } = await sotwAssignment({ zone: 'zone-a' });
    try {
      // An ACK that claims another zone, then a new name: the new name is answered for zone a still.
      ads.send({
        node: node({ zone: 'zone-b' }),
        type_url: TYPE_URL.endpoint,
        resource_names: ['web.shop:8080', 'web.shop:grpc'],
        version_info: response.version_info,
        response_nonce: response.nonce,
      });
      const next = await ads.next();
      const byName = new Map(
        next.resources.map((r) => [(decodeAny(r) as { cluster_name: string }).cluster_name, r]),
      );
      const grpcPort = byName.get('web.shop:grpc');
      assert.ok(grpcPort !== undefined);
      assert.deepEqual(shape(grpcPort), ZONE_A_VIEW);
      assert.equal(byName.has('web.shop:8080'), false, 'unchanged: not sent again');
    } finally {
      ads.close();
    }
  });

  it('encodes once per what decided the tiers: callers on different nodes of one zone share the encoding and version', async () => {
    const before = store.encoded.stats();
    const one = await sotwAssignment({ zone: 'zone-a', sub_zone: 'node-1' });
    const two = await sotwAssignment({ zone: 'zone-a', sub_zone: 'node-2' });
    const plain = await sotwAssignment({ zone: 'zone-a' });
    try {
      assert.equal(one.response.version_info, two.response.version_info);
      assert.equal(one.response.version_info, plain.response.version_info);
      // A caller whose zone nobody is hinted for gets what a caller that says nothing gets: the same encoding.
      const nowhere = await sotwAssignment({ zone: 'zone-c', sub_zone: 'node-3' });
      const nobody = await sotwAssignment();
      nowhere.ads.close();
      nobody.ads.close();
      assert.equal(nowhere.response.version_info, nobody.response.version_info);
      assert.deepEqual(nowhere.resource.value, nobody.resource.value);
      assert.deepEqual(one.resource.value, two.resource.value);
      // Node callers each cost a key lookup (a short string), never another encoding.
      const after = store.encoded.stats();
      // Three node callers of zone a (one key each) and zone a's assignment; zone c's key, and anyone's assignment.
      assert.ok(after.entries - before.entries <= 6, `${after.entries - before.entries} new cache entries`);
    } finally {
      for (const s of [one, two, plain]) s.ads.close();
    }
  });

  it('sends a caller only what changes its assignment: a hint for zone c is news for zone c, not for a or b', async () => {
    store.upsert(SOURCE, zoned(web.endpoints.slice(), 'hints'));
    const streams = await Promise.all(
      ['zone-a', 'zone-b', 'zone-c'].map(async (zone) => {
        const ads = rawSotw(xds.port);
        ads.send({ node: node({ zone }), type_url: TYPE_URL.endpoint, resource_names: ['hints.shop:8080'] });
        const first = await ads.next();
        ads.send({
          type_url: TYPE_URL.endpoint,
          resource_names: ['hints.shop:8080'],
          version_info: first.version_info,
          response_nonce: first.nonce,
        });
        return { zone, ads, first };
      }),
    );
    try {
      // 10.0.1.1 now also serves zone c: zone c's callers get it at priority 0; a and b see the same assignment.
      const changed = web.endpoints.map((e) =>
        e.addresses[0] === '10.0.1.1' ? { ...e, hintsForZones: ['zone-b', 'zone-c'] } : e,
      );
      store.upsert(SOURCE, zoned(changed, 'hints'));
      const [a, b, c] = streams;
      assert.ok(a !== undefined && b !== undefined && c !== undefined);
      const news = await c.ads.next(5000);
      assert.notEqual(news.version_info, c.first.version_info);
      assert.deepEqual(
        shape(news.resources[0]!).map((l) => [l.priority, l.endpoints]),
        [
          [0, [`10.0.1.1:8080/${HEALTHY}`]],
          [1, [`10.0.0.1:8080/${HEALTHY}`, `10.0.0.2:8080/${HEALTHY}`]],
          // Not ready and hinted for zone b only: listed with the rest, where Envoy counts it.
          [1, [`10.0.1.2:8080/${UNHEALTHY}`]],
        ],
      );
      // Zone b is split across the priorities: listed once in each, the lower one marked (gRPC Java keys
      // localities by name alone, whatever their priority).
      assert.deepEqual(
        shape(news.resources[0]!).map((l) => l.locality),
        [{ zone: 'zone-b' }, { zone: 'zone-a' }, { zone: 'zone-b', sub_zone: 'priority-1' }],
      );
      for (const quiet of [a, b]) {
        const marker = await sotwMarker(quiet.ads, TYPE_URL.cluster, ['hints.shop:8080']);
        assert.equal(marker.type_url, TYPE_URL.cluster, `${quiet.zone} was sent something first`);
      }
      // Nonces stay per stream: each stream's marker is its own second response.
      assert.notEqual(a.first.nonce.split('.')[0], b.first.nonce.split('.')[0]);
    } finally {
      for (const s of streams) s.ads.close();
    }
  });

  it('answers a delta caller only what changes its assignment, too', async () => {
    store.upsert(SOURCE, zoned(web.endpoints.slice(), 'deltahints'));
    const ads = rawDelta(xds.port);
    try {
      ads.send({
        node: node({ zone: 'zone-a' }),
        type_url: TYPE_URL.endpoint,
        resource_names_subscribe: ['deltahints.shop:8080'],
      });
      const first = await ads.next();
      ads.send({ type_url: TYPE_URL.endpoint, response_nonce: first.nonce });
      const changed = web.endpoints.map((e) =>
        e.addresses[0] === '10.0.1.1' ? { ...e, hintsForZones: ['zone-b', 'zone-c'] } : e,
      );
      store.upsert(SOURCE, zoned(changed, 'deltahints'));
      const marker = await deltaMarker(ads, TYPE_URL.cluster, ['deltahints.shop:8080']);
      assert.equal(marker.type_url, TYPE_URL.cluster);
      // A change zone a does see: its own endpoint goes away.
      store.upsert(
        SOURCE,
        zoned(
          changed.filter((e) => e.addresses[0] !== '10.0.0.2'),
          'deltahints',
        ),
      );
      const news = await ads.next(5000);
      assert.equal(news.type_url, TYPE_URL.endpoint);
      assert.deepEqual(shape(news.resources[0]!.resource)[0]?.endpoints, [`10.0.0.1:8080/${HEALTHY}`]);
    } finally {
      ads.close();
    }
  });
});

describe('the assignment’s fields', () => {
  const options = { overprovisioningFactor: STRICT_OVERPROVISIONING_FACTOR };
  const pod = (name: string) => ({ kind: 'Pod', namespace: 'shop', name, uid: `uid-${name}` });

  it('sends a dual-stack pod as one endpoint, IPv4 first and IPv6 in additional_addresses, with hostname and hash_key', () => {
    const service = zoned([
      endpoint('fd00::1', 'zone-a', { targetRef: pod('web-0'), hostname: 'web-0' }),
      endpoint('10.0.0.1', 'zone-a', { targetRef: pod('web-0'), hostname: 'web-0' }),
      endpoint('10.0.0.2', 'zone-a', { targetRef: pod('web-1') }),
      endpoint('fd00::2', 'zone-a', { targetRef: pod('web-1'), ready: false, serving: false }),
    ]);
    const cla = buildClusterLoadAssignment('n', service, { name: 'grpc' }, options);
    const [locality] = cla.endpoints;
    assert.equal(cla.endpoints.length, 1);
    assert.equal(locality?.load_balancing_weight.value, 2, 'pods, not addresses, weigh');
    assert.deepEqual(locality?.lb_endpoints, [
      {
        endpoint: {
          address: { socket_address: { address: '10.0.0.1', port_value: 8080 } },
          hostname: 'web-0',
          additional_addresses: [{ address: { socket_address: { address: 'fd00::1', port_value: 8080 } } }],
        },
        health_status: HEALTHY,
        metadata: { filter_metadata: { 'envoy.lb': { fields: { hash_key: { string_value: 'web-0' } } } } },
      },
      {
        endpoint: { address: { socket_address: { address: '10.0.0.2', port_value: 8080 } } },
        health_status: HEALTHY,
        metadata: { filter_metadata: { 'envoy.lb': { fields: { hash_key: { string_value: 'web-1' } } } } },
      },
      {
        // Its IPv6 side is not ready: another state, so another endpoint (an address is used or it is not).
        endpoint: { address: { socket_address: { address: 'fd00::2', port_value: 8080 } } },
        health_status: UNHEALTHY,
        metadata: { filter_metadata: { 'envoy.lb': { fields: { hash_key: { string_value: 'web-1' } } } } },
      },
    ]);
    assert.deepEqual(cla.policy, { overprovisioning_factor: { value: STRICT_OVERPROVISIONING_FACTOR } });
  });

  it('keeps the best copy of an IP:port: HEALTHY, else DRAINING, else UNHEALTHY, whatever their order', () => {
    const copies = (order: Endpoint[]) =>
      shape(
        buildClusterLoadAssignment('n', zoned(order), { name: 'grpc' }, options) as unknown as Record<
          string,
          unknown
        >,
      ).flatMap((l) => l.endpoints);
    const unready = endpoint('10.0.0.1', 'zone-a', { ready: false, serving: false });
    const draining = endpoint('10.0.0.1', 'zone-a', { ready: false, serving: true, terminating: true });
    const ready = endpoint('10.0.0.1', 'zone-a');
    const other = endpoint('10.0.0.2', 'zone-a');
    assert.deepEqual(copies([unready, draining, other]), [
      `10.0.0.1:8080/${DRAINING}`,
      `10.0.0.2:8080/${HEALTHY}`,
    ]);
    assert.deepEqual(copies([draining, unready, other]), [
      `10.0.0.1:8080/${DRAINING}`,
      `10.0.0.2:8080/${HEALTHY}`,
    ]);
    assert.deepEqual(copies([unready, draining, ready]), [`10.0.0.1:8080/${HEALTHY}`]);
  });

  it('places unready endpoints by their hints, never in a priority with nothing routable', () => {
    const service = zoned([
      endpoint('10.0.0.1', 'zone-a'),
      endpoint('10.0.0.2', 'zone-a', { ready: false, serving: true, terminating: true }),
      endpoint('10.0.1.1', 'zone-b', { ready: false, serving: false }),
      endpoint('10.0.2.1', 'zone-c', { ready: false, serving: false }),
    ]);
    // Zone a: only zone a is routable, so zone a's pick is everything (one priority), the others listed in it.
    const forA = buildClusterLoadAssignment(
      'n',
      service,
      { name: 'grpc' },
      { ...options, caller: { zone: 'zone-a' } },
    );
    assert.deepEqual(shape(forA as unknown as Record<string, unknown>), [
      {
        priority: 0,
        locality: { zone: 'zone-a' },
        weight: 1,
        endpoints: [`10.0.0.1:8080/${HEALTHY}`, `10.0.0.2:8080/${DRAINING}`],
      },
      { priority: 0, locality: { zone: 'zone-b' }, weight: 1, endpoints: [`10.0.1.1:8080/${UNHEALTHY}`] },
      { priority: 0, locality: { zone: 'zone-c' }, weight: 1, endpoints: [`10.0.2.1:8080/${UNHEALTHY}`] },
    ]);
    // Nothing routable at all: one priority, every endpoint UNHEALTHY (clients fail fast, Envoy sees 0 %).
    const down = zoned([endpoint('10.0.0.1', 'zone-a', { ready: false, serving: false })]);
    assert.deepEqual(
      shape(
        buildClusterLoadAssignment(
          'n',
          down,
          { name: 'grpc' },
          { ...options, caller: { zone: 'zone-a' } },
        ) as unknown as Record<string, unknown>,
      ),
      [{ priority: 0, locality: { zone: 'zone-a' }, weight: 1, endpoints: [`10.0.0.1:8080/${UNHEALTHY}`] }],
    );
  });
});

describe('callerTiers: properties', () => {
  const zones = ['zone-a', 'zone-b', 'zone-c'];
  const drawnEndpoint = fc
    .record({
      host: fc.integer({ min: 1, max: 6 }),
      zone: fc.constantFrom(...zones, undefined),
      hinted: fc.boolean(),
      ready: fc.boolean(),
      serving: fc.boolean(),
      terminating: fc.boolean(),
    })
    .map((d): Endpoint => ({
      addresses: [`10.0.0.${d.host}`],
      addressType: 'IPv4',
      ports: [{ name: 'grpc', port: 8080, protocol: 'TCP' }],
      ready: d.ready,
      serving: d.serving || d.ready,
      terminating: d.terminating && !d.ready,
      ...(d.zone === undefined ? {} : { zone: d.zone }),
      ...(d.hinted && d.zone !== undefined ? { hintsForZones: [d.zone] } : {}),
    }));
  const endpoints = fc.array(drawnEndpoint, { maxLength: 8 });
  const caller = fc.option(
    fc.record({ zone: fc.constantFrom(...zones, undefined), node: fc.constantFrom('n1', 'n2', undefined) }),
    { nil: undefined },
  );
  const policy = { trafficDistribution: 'PreferSameZone' };

  it('puts every endpoint in exactly one tier; the routable ones as the REST/gRPC pick does', () => {
    fc.assert(
      fc.property(endpoints, caller, (list, where) => {
        const { tiers, routable } = callerTiers(list, policy, where, undefined);
        const all = tiers.flat();
        assert.equal(all.length, list.length);
        assert.deepEqual(new Set(all), new Set(list));
        const pick = pickForCaller({ ...policy, endpoints: list }, where ?? {});
        if (routable.size === 0) {
          assert.equal(tiers.length, 1, 'nothing routable: one tier of what is listed');
          return;
        }
        assert.deepEqual(
          tiers.map((t) => t.filter((e) => routable.has(e))),
          [pick.picked, pick.rest],
        );
        if (routable.size > 0) {
          for (const tier of tiers) {
            if (tier.length > 0)
              assert.ok(
                tier.some((e) => routable.has(e)),
                'a tier with nothing routable',
              );
          }
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('gives equal tiers to callers with equal keys, a caller that says nothing included', () => {
    fc.assert(
      fc.property(endpoints, caller, caller, (list, one, two) => {
        const x = callerTiers(list, policy, one, undefined);
        const y = callerTiers(list, policy, two, undefined);
        if (x.key === y.key) assert.deepEqual(x.tiers, y.tiers);
        const anyone = callerTiers(list, policy, undefined, undefined);
        assert.equal(anyone.key, ANYONE_TIERS_KEY);
        if (x.key === ANYONE_TIERS_KEY) assert.deepEqual(x.tiers, anyone.tiers);
      }),
      { numRuns: 1000 },
    );
  });
});

describe('--xds-overprovisioning-factor', () => {
  const parse = (value?: string) =>
    parseCommandLine(value === undefined ? [] : ['--xds-overprovisioning-factor', value], {});

  it('is strict by default, takes strict or a percentage from 100, and refuses anything else naming the flag', () => {
    const run = (value?: string): number => {
      const parsed = parse(value);
      assert.equal(parsed.kind, 'run', value);
      return parsed.kind === 'run' ? parsed.config.xds.overprovisioningFactor : 0;
    };
    assert.equal(run(), STRICT_OVERPROVISIONING_FACTOR);
    assert.equal(run('strict'), STRICT_OVERPROVISIONING_FACTOR);
    assert.equal(run('140'), 140);
    assert.equal(run('100'), 100);
    for (const bad of ['99', '0', '1.4', 'Strict', '', '100000001', '-140']) {
      const parsed = parse(bad);
      assert.equal(parsed.kind, 'invalid', bad);
      if (parsed.kind === 'invalid') assert.match(parsed.problems.join(), /--xds-overprovisioning-factor/);
    }
  });

  it('reaches every assignment the catalog encodes', () => {
    const store = newStore();
    store.upsert(SOURCE, web);
    const catalog = new ResourceCatalog({
      store,
      instanceId: 'f',
      maxWildcardResources: 10,
      overprovisioningFactor: 140,
    });
    const resource = catalog.get('endpoint', 'web.shop:8080', { zone: 'zone-a' });
    assert.ok(resource !== undefined);
    const cla = decodeAny({ type_url: resource.any.type_url, value: Buffer.from(resource.any.value) }) as {
      policy: { overprovisioning_factor: { value: number } };
    };
    assert.equal(cla.policy.overprovisioning_factor.value, 140);
  });
});
