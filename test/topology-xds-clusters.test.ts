// Named clusters on the xDS door (issue 13 items 3 and 5), against the model contract (Endpoint.cluster,
// ServiceEndpoints.clusters[].region/stale) upserted into a real EndpointStore: the name form of one cluster's share,
// `{service}.{namespace}.{cluster}[:{port}]`, which no Kubernetes name can collide with and which the real grpc-js
// client dials; locality region = the cluster's region, or its name; a caller whose Node.locality.region is a
// cluster's region (or name) gets its own cluster first (priority 0), the others after.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import type * as grpc from '@grpc/grpc-js';
import { register } from '@grpc/grpc-js-xds';
import './support/xds-client-timers.ts';
import { formatResourceName, parseResourceName } from '../src/api/xds/naming.ts';
import { TYPE_URL } from '../src/api/xds/wire.ts';
import type { Endpoint, ServiceEndpoints } from '../src/model.ts';
import { namespaceNameProblem } from '../src/names.ts';
import {
  answeredBy,
  backendEndpoint,
  decodeAny,
  eventually,
  newStore,
  rawDelta,
  rawSotw,
  resourceNames,
  SOURCE,
  startBackends,
  startXdsServer,
  xdsChannel,
  type Backend,
  type RawAny,
  type TestXdsServer,
} from './support/xds-harness.ts';

register();

const BOUND_MS = 15_000;

interface Row {
  priority: number;
  locality: Record<string, string>;
  endpoints: string[];
}

function rows(any: RawAny): Row[] {
  const cla = decodeAny(any) as {
    endpoints?: {
      priority?: number;
      locality?: Record<string, string>;
      lb_endpoints?: { endpoint: { address: { socket_address: { address: string } } } }[];
    }[];
  };
  return (cla.endpoints ?? []).map((l) => ({
    priority: l.priority ?? 0,
    locality: Object.fromEntries(Object.entries(l.locality ?? {}).filter(([, v]) => v !== '')),
    endpoints: (l.lb_endpoints ?? []).map((e) => e.endpoint.address.socket_address.address),
  }));
}

describe('the name of one cluster’s share', () => {
  const label = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?$/);
  const port = fc.oneof(fc.integer({ min: 1, max: 65535 }), fc.constantFrom('grpc', 'http', 'h2c'));

  it('round-trips, and never reads as another Service or as the whole Service', () => {
    fc.assert(
      fc.property(label, label, label, port, (name, namespace, cluster, p) => {
        const whole = formatResourceName({ namespace, name }, p);
        const share = formatResourceName({ namespace, name }, p, cluster);
        assert.equal(share, `${name}.${namespace}.${cluster}:${p}`);
        const parsedShare = parseResourceName(share);
        assert.deepEqual(parsedShare?.key, { namespace, name });
        assert.equal(parsedShare?.cluster, cluster);
        assert.equal(parsedShare?.serviceId, `${namespace}/${name}`);
        assert.equal(parseResourceName(whole)?.cluster, undefined);
        assert.equal(parseResourceName(whole)?.serviceId, `${namespace}/${name}`);
        // A Kubernetes Service and namespace are DNS labels (no dots): `a.b` can never spell `a.b.c`.
        assert.ok(namespaceNameProblem(`${namespace}.${cluster}`) !== undefined);
        assert.notEqual(whole, share);
      }),
      { numRuns: 500 },
    );
    assert.equal(parseResourceName('web.shop.east')?.cluster, 'east');
    assert.deepEqual(parseResourceName('web.shop.east')?.port, { only: true });
  });
});

describe('named clusters on ADS streams', () => {
  const store = newStore();
  let xds: TestXdsServer;
  const at = (address: string, cluster: string, zone: string, extra: Partial<Endpoint> = {}): Endpoint => ({
    addresses: [address],
    addressType: 'IPv4',
    ports: [{ name: 'grpc', port: 8080, protocol: 'TCP' }],
    ready: true,
    serving: true,
    terminating: false,
    zone,
    hintsForZones: [zone],
    cluster,
    ...extra,
  });
  const merged: ServiceEndpoints = {
    namespace: 'shop',
    name: 'web',
    ports: [{ name: 'grpc', port: 8080, protocol: 'TCP' }],
    endpoints: [
      at('10.1.0.1', 'east', 'zone-a'),
      at('10.1.0.2', 'east', 'zone-b'),
      at('10.2.0.1', 'west', 'zone-c'),
      at('10.2.0.2', 'west', 'zone-c', { ready: false, serving: false }),
    ],
    clusters: [
      { name: 'east', region: 'us-east1', stale: false },
      // No region given: the name is the region.
      { name: 'west', stale: true },
    ],
  };
  before(async () => {
    store.upsert(SOURCE, merged);
    xds = await startXdsServer({ store });
  });
  after(() => xds.stop());

  async function assignment(name: string, locality?: Readonly<Record<string, string>>): Promise<Row[]> {
    const ads = rawSotw(xds.port);
    try {
      ads.send({
        node: { id: 'clusters', ...(locality === undefined ? {} : { locality }) },
        type_url: TYPE_URL.endpoint,
        resource_names: [name],
      });
      const response = await ads.next();
      assert.equal(response.resources.length, 1, name);
      return rows(response.resources[0]!);
    } finally {
      ads.close();
    }
  }

  it('puts the caller’s own cluster first when its region is that cluster’s region, or its name', async () => {
    assert.deepEqual(await assignment('web.shop:8080', { region: 'us-east1' }), [
      { priority: 0, locality: { region: 'us-east1', zone: 'zone-a' }, endpoints: ['10.1.0.1'] },
      { priority: 0, locality: { region: 'us-east1', zone: 'zone-b' }, endpoints: ['10.1.0.2'] },
      { priority: 1, locality: { region: 'west', zone: 'zone-c' }, endpoints: ['10.2.0.1', '10.2.0.2'] },
    ]);
    assert.deepEqual(await assignment('web.shop:8080', { region: 'west', zone: 'zone-a' }), [
      { priority: 0, locality: { region: 'west', zone: 'zone-c' }, endpoints: ['10.2.0.1', '10.2.0.2'] },
      // Inside the other clusters the topology rules still apply: zone a's endpoint before zone b's.
      { priority: 1, locality: { region: 'us-east1', zone: 'zone-a' }, endpoints: ['10.1.0.1'] },
      { priority: 2, locality: { region: 'us-east1', zone: 'zone-b' }, endpoints: ['10.1.0.2'] },
    ]);
  });

  it('gives a caller without a matching region the topology rules only, the regions in its localities', async () => {
    const everyone = [
      { priority: 0, locality: { region: 'us-east1', zone: 'zone-a' }, endpoints: ['10.1.0.1'] },
      { priority: 0, locality: { region: 'us-east1', zone: 'zone-b' }, endpoints: ['10.1.0.2'] },
      { priority: 0, locality: { region: 'west', zone: 'zone-c' }, endpoints: ['10.2.0.1', '10.2.0.2'] },
    ];
    const localities: (Readonly<Record<string, string>> | undefined)[] = [
      undefined,
      {},
      { region: 'eu-west1' },
      { region: 'US-EAST1' },
      { region: 'East' },
    ];
    for (const locality of localities) {
      assert.deepEqual(await assignment('web.shop:8080', locality), everyone, JSON.stringify(locality));
    }
    assert.deepEqual(
      (await assignment('web.shop:8080', { zone: 'zone-b' })).map((r) => [r.priority, r.endpoints]),
      [
        [0, ['10.1.0.2']],
        [1, ['10.1.0.1']],
        [1, ['10.2.0.1', '10.2.0.2']],
      ],
    );
  });

  it('serves one cluster’s share under {service}.{namespace}.{cluster}, and nothing for a cluster the Service is not in', async () => {
    assert.deepEqual(await assignment('web.shop.east:8080'), [
      { priority: 0, locality: { region: 'us-east1', zone: 'zone-a' }, endpoints: ['10.1.0.1'] },
      { priority: 0, locality: { region: 'us-east1', zone: 'zone-b' }, endpoints: ['10.1.0.2'] },
    ]);
    assert.deepEqual(await assignment('web.shop.west:grpc', { zone: 'zone-a' }), [
      { priority: 0, locality: { region: 'west', zone: 'zone-c' }, endpoints: ['10.2.0.1', '10.2.0.2'] },
    ]);
    const ads = rawSotw(xds.port);
    try {
      ads.send({
        type_url: TYPE_URL.listener,
        resource_names: ['web.shop.east:8080', 'web.shop.north:8080', 'web.shop:8080'],
      });
      assert.deepEqual(resourceNames((await ads.next()).resources), ['web.shop.east:8080', 'web.shop:8080']);
    } finally {
      ads.close();
    }
    const delta = rawDelta(xds.port);
    try {
      delta.send({
        type_url: TYPE_URL.cluster,
        resource_names_subscribe: ['web.shop.north:8080', 'web.shop.west:8080'],
      });
      const response = await delta.next();
      assert.deepEqual(
        response.resources.map((r) => r.name),
        ['web.shop.west:8080'],
      );
      assert.deepEqual(response.removed_resources, ['web.shop.north:8080']);
    } finally {
      delta.close();
    }
  });

  it('follows a cluster’s endpoints on its share’s name', async () => {
    const ads = rawSotw(xds.port);
    try {
      ads.send({ type_url: TYPE_URL.endpoint, resource_names: ['web.shop.east:8080'] });
      const first = await ads.next();
      ads.send({
        type_url: TYPE_URL.endpoint,
        resource_names: ['web.shop.east:8080'],
        version_info: first.version_info,
        response_nonce: first.nonce,
      });
      store.upsert(SOURCE, {
        ...merged,
        endpoints: merged.endpoints.filter((e) => e.addresses[0] !== '10.1.0.2'),
      });
      const next = await ads.next(5000);
      assert.deepEqual(
        rows(next.resources[0]!).flatMap((r) => r.endpoints),
        ['10.1.0.1'],
      );
    } finally {
      ads.close();
      store.upsert(SOURCE, merged);
    }
  });
});

describe('grpc-js-xds clients and named clusters', () => {
  const store = newStore();
  let xds: TestXdsServer;
  let backends: Backend[];
  const clients: grpc.Client[] = [];
  /** c1, c2 in cluster east (region us-east1); c3, c4 in west; east's readiness as given. */
  const web = (eastReady: boolean): ServiceEndpoints => {
    const at = (b: Backend, cluster: string, ready: boolean): Endpoint =>
      backendEndpoint(b, ready, { cluster });
    return {
      namespace: 'shop',
      name: 'web',
      ports: [{ name: 'grpc', port: backends[0]?.port ?? 0, protocol: 'TCP' }],
      endpoints: backends.map((b, i) => (i < 2 ? at(b, 'east', eastReady) : at(b, 'west', true))),
      clusters: [
        { name: 'east', region: 'us-east1', stale: false },
        { name: 'west', stale: false },
      ],
    };
  };
  const answered = async (client: grpc.Client, n: number): Promise<string> =>
    (await answeredBy(client, n)).join();
  before(async () => {
    backends = await startBackends(4, 'c');
    store.upsert(SOURCE, web(true));
    xds = await startXdsServer({ store });
  });
  after(async () => {
    for (const c of clients) c.close();
    await xds.stop();
    await Promise.all(backends.map((b) => b.stop()));
  });

  it('dials one cluster’s share (xds:///web.shop.west:PORT) and reaches only that cluster', async () => {
    const client = xdsChannel(`xds:///web.shop.west:${backends[0]?.port ?? 0}`, xds.port);
    clients.push(client);
    await eventually(
      'west only',
      BOUND_MS,
      async () => (await answered(client, 12).catch(() => '')) === 'c3,c4',
    );
    assert.equal(await answered(client, 30), 'c3,c4');
  });

  it('sends a client in region us-east1 to its own cluster, and over to the others when it has nothing ready', async () => {
    const client = xdsChannel(`xds:///web.shop:${backends[0]?.port ?? 0}`, xds.port, { region: 'us-east1' });
    const anywhere = xdsChannel(`xds:///web.shop:${backends[0]?.port ?? 0}`, xds.port);
    clients.push(client, anywhere);
    await eventually(
      'east only',
      BOUND_MS,
      async () => (await answered(client, 12).catch(() => '')) === 'c1,c2',
    );
    assert.equal(await answered(client, 30), 'c1,c2');
    await eventually(
      'everyone',
      BOUND_MS,
      async () => (await answered(anywhere, 16).catch(() => '')) === 'c1,c2,c3,c4',
    );
    store.upsert(SOURCE, web(false));
    await eventually(
      'east unready: west',
      BOUND_MS,
      async () => (await answered(client, 12).catch(() => '')) === 'c3,c4',
    );
    store.upsert(SOURCE, web(true));
    await eventually(
      'east back',
      BOUND_MS,
      async () => (await answered(client, 12).catch(() => '')) === 'c1,c2',
    );
    assert.equal(xds.plane.stats().nacks, 0);
  });
});
