// Attacks on the seams between named clusters (issue 13) and the doors: the same one-cluster view asked of
// REST and of xDS must be the same view (its ports, its endpoints), and a REST wait for it must not end on what
// the other clusters do.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { status } from '@grpc/grpc-js';
import { TYPE_URL } from '../src/api/xds/wire.ts';
import { statusOf, TestClient } from './support/grpc-discovery.ts';
import { endpointSlice, FakeApiServer, service } from './support/fake-apiserver/index.ts';
import { get, subscribersReach } from './support/http.ts';
import { startMulticlusterEndpointd, type MulticlusterEndpointd } from './support/multicluster-endpointd.ts';
import type * as grpc from '@grpc/grpc-js';
import { register } from '@grpc/grpc-js-xds';
import {
  answeredBy,
  assignmentAddresses,
  decodeAny,
  rawSotw,
  resourceNames,
  startBackends,
  xdsChannel,
  type Backend,
} from './support/xds-harness.ts';

register();

const NS = 'shop';

describe('one cluster named on xDS, its Service port set differing from the merged one', () => {
  let east: FakeApiServer;
  let west: FakeApiServer;
  let t: MulticlusterEndpointd;

  before(async () => {
    [east, west] = await Promise.all([FakeApiServer.start(), FakeApiServer.start()]);
    // east serves one port; west (mid-rollout) serves a second one too: the merged Service has two TCP ports.
    east.create(
      'services',
      service({ name: 'web', namespace: NS, ports: [{ name: 'http', port: 80, targetPort: 8080 }] }),
    );
    west.create(
      'services',
      service({
        name: 'web',
        namespace: NS,
        ports: [
          { name: 'http', port: 80, targetPort: 8080 },
          { name: 'admin', port: 9090, targetPort: 9090 },
        ],
      }),
    );
    east.create(
      'endpointslices',
      endpointSlice({
        service: 'web',
        namespace: NS,
        name: 'web-a',
        endpoints: [{ addresses: '10.1.0.1' }],
        ports: [{ name: 'http', port: 8080 }],
      }),
    );
    west.create(
      'endpointslices',
      endpointSlice({
        service: 'web',
        namespace: NS,
        name: 'web-a',
        endpoints: [{ addresses: '10.2.0.1' }],
        ports: [
          { name: 'http', port: 8080 },
          { name: 'admin', port: 9090 },
        ],
      }),
    );
    t = await startMulticlusterEndpointd([
      { name: 'east', api: east },
      { name: 'west', api: west },
    ]);
  });

  after(async () => {
    await t?.stop();
    await Promise.all([east?.close(), west?.close()]);
  });

  it("resolves a port-less `{service}.{namespace}.{cluster}` against that cluster's ports, as REST lists them", async () => {
    const rest = await get(`${t.url}/v1/namespaces/${NS}/services/web?cluster=east`);
    assert.equal(rest.status, 200);
    assert.deepEqual(
      rest.json<{ ports: { name: string }[] }>().ports.map((p) => p.name),
      ['http'],
      "REST: east's share has one port",
    );
    const ads = rawSotw(t.endpointd.grpcPort);
    try {
      ads.send({
        node: { id: 'attack' },
        type_url: TYPE_URL.cluster,
        resource_names: ['web.shop.east', 'web.shop'],
      });
      const clusters = await ads.next(5000);
      assert.equal(clusters.type_url, TYPE_URL.cluster);
      // The merged Service has two ports, so `web.shop` does not exist; east's share has one, so its name does.
      assert.deepEqual(resourceNames(clusters.resources), ['web.shop.east']);
      ads.send({ node: { id: 'attack' }, type_url: TYPE_URL.endpoint, resource_names: ['web.shop.east'] });
      const assignments = await ads.next(5000);
      const assignment = assignments.resources.find(
        (r) => (decodeAny(r) as { cluster_name?: string }).cluster_name === 'web.shop.east',
      );
      assert.ok(assignment !== undefined);
      assert.deepEqual(assignmentAddresses(assignment), ['10.1.0.1:8080']);
    } finally {
      ads.close();
    }
  });

  it('keeps a long-poll with ?cluster= waiting while only another cluster starts defining the Service', async () => {
    // No version and no such Service anywhere: the poll waits for it to appear — in east, as the watch stream does.
    const poll = get(`${t.url}/v1/namespaces/${NS}/services/late?cluster=east&wait=60s`);
    await subscribersReach(t.url, 'rest', 1);
    const lateSlice = (ip: string): ReturnType<typeof endpointSlice> =>
      endpointSlice({
        service: 'late',
        namespace: NS,
        name: 'late-a',
        endpoints: [{ addresses: ip }],
        ports: [{ name: 'http', port: 8080 }],
      });
    west.create('services', service({ name: 'late', namespace: NS }));
    west.create('endpointslices', lateSlice('10.2.7.1'));
    await t.until(NS, 'late', (body) => body !== undefined, { cluster: 'west' });
    // The marker: east defines it now; the poll must answer with east's share, not end on west's change.
    east.create('services', service({ name: 'late', namespace: NS }));
    east.create('endpointslices', lateSlice('10.1.7.1'));
    const answer = await poll;
    assert.equal(answer.status, 200, answer.text);
    // East's share (its Service may be answered before its slice: an empty share is still east's).
    const body = answer.json<{ clusters: { name: string }[]; endpoints: { cluster: string }[] }>();
    assert.deepEqual(
      body.clusters.map((c) => c.name),
      ['east'],
    );
    assert.ok(body.endpoints.every((e) => e.cluster === 'east'));
  });
});

describe('one cluster named on the gRPC list, as on the REST list', () => {
  let east: FakeApiServer;
  let west: FakeApiServer;
  let t: MulticlusterEndpointd;
  let grpc: TestClient;

  before(async () => {
    [east, west] = await Promise.all([FakeApiServer.start(), FakeApiServer.start()]);
    for (const [api, ip] of [
      [east, '10.1.0.1'],
      [west, '10.2.0.1'],
    ] as const) {
      api.create('services', service({ name: 'web', namespace: NS }));
      api.create(
        'endpointslices',
        endpointSlice({
          service: 'web',
          namespace: NS,
          endpoints: [{ addresses: ip }],
          ports: [{ port: 8080 }],
        }),
      );
    }
    west.create('services', service({ name: 'only-west', namespace: NS }));
    t = await startMulticlusterEndpointd([
      { name: 'east', api: east },
      { name: 'west', api: west },
    ]);
    grpc = new TestClient(`127.0.0.1:${t.endpointd.grpcPort}`);
  });

  after(async () => {
    grpc?.close();
    await t?.stop();
    await Promise.all([east?.close(), west?.close()]);
  });

  it('lists the Services one cluster defines, with the versions and counts of its share', async () => {
    for (const cluster of ['east', 'west']) {
      const rest = await get(`${t.url}/v1/services?namespace=${NS}&cluster=${cluster}`);
      assert.equal(rest.status, 200);
      const viaGrpc = await grpc.listServices(NS, cluster);
      assert.deepEqual(viaGrpc.services, rest.json<{ services: unknown[] }>().services, cluster);
    }
    assert.deepEqual(
      (await grpc.listServices(NS, 'east')).services.map((s) => s.name),
      ['web'],
      'only-west is not listed for east',
    );
    assert.deepEqual(
      (await grpc.listServices(NS)).services.map((s) => s.name),
      ['only-west', 'web'],
      'without cluster: every cluster',
    );
    const unknown = await statusOf(grpc.listServices(NS, 'north'));
    assert.equal(unknown.code, status.NOT_FOUND);
    assert.match(unknown.details, /no cluster named north; endpointd reads: east, west/);
    const invalid = await statusOf(grpc.listServices(NS, 'EAST'));
    assert.equal(invalid.code, status.INVALID_ARGUMENT);
    assert.match(invalid.details, /cluster/);
  });
});

describe("one cluster named on xDS, its port's application protocol differing from another cluster's", () => {
  let east: FakeApiServer;
  let west: FakeApiServer;
  let t: MulticlusterEndpointd;

  before(async () => {
    [east, west] = await Promise.all([FakeApiServer.start(), FakeApiServer.start()]);
    // east serves gRPC (h2c) on the port; west, mid-migration, still plain HTTP/1 on the same port.
    for (const [api, ip, appProtocol] of [
      [east, '10.1.0.1', 'kubernetes.io/h2c'],
      [west, '10.2.0.1', undefined],
    ] as const) {
      api.create('services', service({ name: 'web', namespace: NS }));
      api.create(
        'endpointslices',
        endpointSlice({
          service: 'web',
          namespace: NS,
          endpoints: [{ addresses: ip }],
          ports: [{ name: 'http', port: 8080, ...(appProtocol === undefined ? {} : { appProtocol }) }],
        }),
      );
    }
    t = await startMulticlusterEndpointd([
      { name: 'east', api: east },
      { name: 'west', api: west },
    ]);
  });

  after(async () => {
    await t?.stop();
    await Promise.all([east?.close(), west?.close()]);
  });

  it("declares HTTP/2 on a one-cluster Cluster exactly when that cluster's port says so", async () => {
    const ads = rawSotw(t.endpointd.grpcPort);
    try {
      const names = ['web.shop.east:8080', 'web.shop.west:8080'];
      ads.send({ node: { id: 'attack' }, type_url: TYPE_URL.cluster, resource_names: names });
      const response = await ads.next(5000);
      const http2 = new Map(
        response.resources.map((r) => {
          const cluster = decodeAny(r) as { name: string; typed_extension_protocol_options?: object };
          return [cluster.name, cluster.typed_extension_protocol_options !== undefined];
        }),
      );
      assert.deepEqual(Object.fromEntries(http2), {
        'web.shop.east:8080': true,
        'web.shop.west:8080': false,
      });
    } finally {
      ads.close();
    }
  });
});

describe('the port-less one-cluster name with the real grpc-js xDS client', () => {
  let east: FakeApiServer;
  let west: FakeApiServer;
  let t: MulticlusterEndpointd;
  let backends: Backend[];
  let client: grpc.Client | undefined;

  before(async () => {
    backends = await startBackends(2, 'attack');
    const [b1, b2] = backends as [Backend, Backend];
    [east, west] = await Promise.all([FakeApiServer.start(), FakeApiServer.start()]);
    // east: one port; west: that port and a second one, so the merged Service (web.shop) has two.
    const ports = [
      [east, b1, [{ name: 'grpc', port: b1.port, appProtocol: 'kubernetes.io/h2c' }]],
      [
        west,
        b2,
        [
          { name: 'grpc', port: b2.port, appProtocol: 'kubernetes.io/h2c' },
          { name: 'admin', port: 9901 },
        ],
      ],
    ] as const;
    for (const [api, backend, slicePorts] of ports) {
      api.create('services', service({ name: 'web', namespace: NS }));
      api.create(
        'endpointslices',
        endpointSlice({
          service: 'web',
          namespace: NS,
          endpoints: [{ addresses: backend.address }],
          ports: [...slicePorts],
        }),
      );
    }
    t = await startMulticlusterEndpointd([
      { name: 'east', api: east },
      { name: 'west', api: west },
    ]);
  });

  after(async () => {
    client?.close();
    await t?.stop();
    await Promise.all([east?.close(), west?.close(), ...(backends ?? []).map((b) => b.stop())]);
  });

  it("dials xds:///web.shop.east (east's only port) and reaches east's backend only", async () => {
    client = xdsChannel('xds:///web.shop.east', t.endpointd.grpcPort);
    assert.deepEqual(await answeredBy(client, 6), ['attack1']);
  });
});
