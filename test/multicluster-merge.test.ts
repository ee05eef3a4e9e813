// Several named clusters behind one endpointd (issue 13, items 1–3): two fake kube-apiservers on loopback, one
// endpointd reading both with --cluster. Same-named Services merge by namespace/name; every endpoint keeps its
// cluster on REST and gRPC; duplicates merge inside a cluster, never across; one IP in two clusters is a counted
// conflict with both copies served; Service-level conflicts resolve oldest-wins and are shown; `?cluster=` and
// the gRPC `cluster` field narrow any answer to one cluster, with 404/NOT_FOUND and 400/INVALID_ARGUMENT as due.
import assert from 'node:assert/strict';
import { status } from '@grpc/grpc-js';
import { after, before, describe, it } from 'node:test';
import { FakeApiServer, service } from './support/fake-apiserver/index.ts';
import { statusOf, TestClient, type DecodedWatchResponse } from './support/grpc-discovery.ts';
import { EventStream, get, metricValue, subscribersReach } from './support/http.ts';
import { runClient } from '../src/cli/index.ts';
import { startKubeEndpointd } from './support/kube-endpointd.ts';
import { PassThrough } from 'node:stream';
import {
  startMulticlusterEndpointd,
  taggedAddresses,
  type MulticlusterEndpointd,
  shopSlice,
} from './support/multicluster-endpointd.ts';

const NS = 'shop';

const slice = shopSlice;

describe('several clusters merged by namespace/name', () => {
  let east: FakeApiServer;
  let west: FakeApiServer;
  let t: MulticlusterEndpointd;
  let grpc: TestClient;

  before(async () => {
    [east, west] = await Promise.all([FakeApiServer.start(), FakeApiServer.start()]);
    east.create('services', service({ name: 'web', namespace: NS }));
    west.create('services', service({ name: 'web', namespace: NS }));
    east.create('endpointslices', slice('web', ['10.1.0.1', '10.1.0.2']));
    // The same address in two slices of one cluster (the controller moving it) counts once.
    east.create('endpointslices', slice('web', ['10.1.0.2'], 'web-b'));
    west.create('endpointslices', slice('web', ['10.2.0.1']));
    west.create('services', service({ name: 'only-west', namespace: NS }));
    // Listed at start (not watched): the older Service's type must still win, so the list items keep their age.
    west.create('services', {
      ...service({ name: 'legacy', namespace: 'old', type: 'NodePort' }),
      metadata: { name: 'legacy', namespace: 'old', creationTimestamp: '2019-05-01T00:00:00Z' },
    });
    east.create('services', {
      ...service({ name: 'legacy', namespace: 'old' }),
      metadata: { name: 'legacy', namespace: 'old', creationTimestamp: '2025-05-01T00:00:00Z' },
    });
    west.create('endpointslices', slice('only-west', ['10.2.9.1']));
    t = await startMulticlusterEndpointd([
      { name: 'east', api: east, region: 'us-east-1' },
      { name: 'west', api: west },
    ]);
    grpc = new TestClient(`127.0.0.1:${t.endpointd.grpcPort}`);
  });

  after(async () => {
    grpc?.close();
    await t?.stop();
    await Promise.all([east?.close(), west?.close()]);
  });

  it('serves the union, each endpoint with its cluster, deduplicated inside a cluster only', async () => {
    const body = await t.lookup(NS, 'web');
    assert.deepEqual(taggedAddresses(body), ['east 10.1.0.1', 'east 10.1.0.2', 'west 10.2.0.1']);
    assert.deepEqual(body?.clusters, [
      { name: 'east', region: 'us-east-1', stale: false },
      { name: 'west', stale: false },
    ]);
    assert.equal(body?.conflicts, undefined);
    const answer = await grpc.resolve({ namespace: NS, name: 'web', endpoints: 'ENDPOINT_SET_ALL' });
    assert.deepEqual(answer.service.endpoints.map((e) => `${e.cluster} ${e.addresses[0]}`).sort(), [
      'east 10.1.0.1',
      'east 10.1.0.2',
      'west 10.2.0.1',
    ]);
    assert.deepEqual(answer.service.clusters, [
      { name: 'east', region: 'us-east-1', stale: false, truncated: false },
      { name: 'west', region: '', stale: false, truncated: false },
    ]);
    assert.equal(answer.service.version, body?.version, 'REST and gRPC carry the same version');
  });

  it('takes the age of listed Services for oldest-wins, as of watched ones', async () => {
    const body = await t.lookup('old', 'legacy');
    assert.equal(body?.service?.type, 'NodePort', "west's Service is the older one");
    assert.deepEqual(body?.conflicts, [{ field: 'type', servedFrom: 'west', ignored: ['east'] }]);
  });

  it('narrows every door to one cluster with ?cluster= and the gRPC cluster field', async () => {
    const merged = await t.lookup(NS, 'web');
    const eastOnly = await t.lookup(NS, 'web', 'east');
    assert.deepEqual(taggedAddresses(eastOnly), ['east 10.1.0.1', 'east 10.1.0.2']);
    assert.deepEqual(eastOnly?.clusters, [{ name: 'east', region: 'us-east-1', stale: false }]);
    assert.notEqual(eastOnly?.version, merged?.version, "a cluster's share has its own version");
    // The version of a share is the same whatever else the view asks (as a merged version is).
    const routable = await get(`${t.url}/v1/namespaces/${NS}/services/web?cluster=east&port=http`);
    assert.equal(routable.status, 200);
    assert.equal(routable.headers.etag, `"${eastOnly?.version}"`);
    assert.deepEqual(routable.json<{ targets: unknown[] }>().targets, [
      { address: '10.1.0.1', port: 8080 },
      { address: '10.1.0.2', port: 8080 },
    ]);
    const list = await get(`${t.url}/v1/services?namespace=${NS}&cluster=east`);
    assert.deepEqual(list.json(), {
      services: [{ namespace: NS, name: 'web', version: eastOnly?.version, endpoints: 2, ready: 2 }],
    });
    const viaGrpc = await grpc.resolve({
      namespace: NS,
      name: 'web',
      cluster: 'west',
      endpoints: 'ENDPOINT_SET_ALL',
    });
    assert.deepEqual(
      viaGrpc.service.endpoints.map((e) => e.addresses[0]),
      ['10.2.0.1'],
    );
    assert.equal(viaGrpc.service.version, (await t.lookup(NS, 'web', 'west'))?.version);
  });

  it("holds a long-poll with ?cluster= through another cluster's changes, and answers its own", async () => {
    east.create('services', service({ name: 'poll', namespace: NS }));
    west.create('services', service({ name: 'poll', namespace: NS }));
    east.create('endpointslices', slice('poll', ['10.1.7.1']));
    west.create('endpointslices', slice('poll', ['10.2.7.1']));
    const before = await t.until(NS, 'poll', (b) => taggedAddresses(b).length === 2, { cluster: undefined });
    const eastBefore = await t.lookup(NS, 'poll', 'east');
    assert.ok(before !== undefined && eastBefore !== undefined);
    const polled = get(
      `${t.url}/v1/namespaces/${NS}/services/poll?cluster=east&endpoints=all&wait=30s&version=${eastBefore.version}`,
    );
    await subscribersReach(t.url, 'rest', 1);
    // west changes first: no news for east's share. Then east's change: the marker the answer must carry.
    west.update('endpointslices', slice('poll', ['10.2.7.1', '10.2.7.2']));
    await t.until(NS, 'poll', (b) => taggedAddresses(b).includes('west 10.2.7.2'));
    east.update('endpointslices', slice('poll', ['10.1.7.9']));
    const answer = await polled;
    assert.equal(answer.status, 200);
    const body = answer.json<{
      version: string;
      endpoints: Array<{ addresses: string[]; cluster: string }>;
    }>();
    assert.deepEqual(
      body.endpoints.map((e) => `${e.cluster} ${e.addresses[0]}`),
      ['east 10.1.7.9'],
      "the long-poll ended on east's change, not west's",
    );
    assert.notEqual(body.version, eastBefore.version);
  });

  it('narrows the command-line client to one cluster with --cluster', async () => {
    const run = async (...argv: string[]): Promise<{ code: number; out: string; err: string }> => {
      const stdout = new PassThrough();
      const stderr = new PassThrough();
      let out = '';
      let err = '';
      stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
      stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
      const code = await runClient(argv[0] ?? '', [...argv.slice(1), '--server', t.url], {
        stdout,
        stderr,
        env: {},
        signal: new AbortController().signal,
      });
      return { code, out, err };
    };
    const one = await run('get', `${NS}/web`, '--cluster', 'west', '-o', 'json');
    assert.equal(one.code, 0, one.err);
    assert.deepEqual(
      (JSON.parse(one.out) as { endpoints: Array<{ cluster: string; addresses: string[] }> }).endpoints.map(
        (e) => `${e.cluster} ${e.addresses[0]}`,
      ),
      ['west 10.2.0.1'],
    );
    const listed = await run('get', '-n', NS, '--cluster', 'east', '-o', 'json');
    assert.deepEqual(
      (JSON.parse(listed.out) as { services: Array<{ name: string }> }).services.map((s) => s.name),
      ['poll', 'web'],
      'the list of one cluster holds what it defines (not only-west)',
    );
    const unknown = await run('get', `${NS}/web`, '--cluster', 'north');
    assert.equal(unknown.code, 4);
    assert.match(unknown.err, /no cluster named north/);
    const bad = await run('get', `${NS}/web`, '--cluster', 'North');
    assert.equal(bad.code, 2);
    assert.match(bad.err, /--cluster "North" is not a valid cluster name/);
  });

  it('answers 404/NOT_FOUND for a cluster it does not read or that lacks the Service, 400/INVALID_ARGUMENT for a bad name', async () => {
    for (const path of [
      `/v1/namespaces/${NS}/services/web?cluster=north`,
      `/v1/namespaces/${NS}/services/web/watch?cluster=north`,
      `/v1/watch?cluster=north`,
      `/v1/services?cluster=north`,
    ]) {
      const answer = await get(`${t.url}${path}`);
      assert.equal(answer.status, 404, path);
      assert.match(
        answer.json<{ detail: string }>().detail,
        /no cluster named north; endpointd reads: east, west/,
      );
    }
    const notThere = await get(`${t.url}/v1/namespaces/${NS}/services/only-west?cluster=east`);
    assert.equal(notThere.status, 404);
    assert.match(
      notThere.json<{ detail: string }>().detail,
      /not known in cluster east; it is defined by cluster west/,
    );
    // Long-polls end at once on it, like an unknown port.
    const polled = await get(
      `${t.url}/v1/namespaces/${NS}/services/only-west?cluster=east&wait=30s&version=x`,
    );
    assert.equal(polled.status, 404);
    for (const bad of ['East', 'a_b', '-x', 'a'.repeat(64)]) {
      const answer = await get(`${t.url}/v1/namespaces/${NS}/services/web?cluster=${bad}`);
      assert.equal(answer.status, 400, bad);
      assert.equal(
        answer.json<{ invalidParams: Array<{ name: string }> }>().invalidParams[0]?.name,
        'cluster',
      );
    }
    const unknown = await statusOf(grpc.resolve({ namespace: NS, name: 'web', cluster: 'north' }));
    assert.equal(unknown.code, status.NOT_FOUND);
    assert.match(unknown.details, /no cluster named north/);
    const lacking = await statusOf(grpc.resolve({ namespace: NS, name: 'only-west', cluster: 'east' }));
    assert.equal(lacking.code, status.NOT_FOUND);
    const badName = await statusOf(grpc.resolve({ namespace: NS, name: 'web', cluster: 'East!' }));
    assert.equal(badName.code, status.INVALID_ARGUMENT);
    assert.match(badName.details, /^cluster: /);
    const watch = grpc.watch({ services: [{ namespace: NS, name: 'web' }], cluster: 'north' });
    assert.equal(await watch.ended(), status.NOT_FOUND);
  });

  it('keeps both copies of one IP in two clusters, counts and shows the conflict, and resolves it', async () => {
    const before = (await metricValue(t.url, 'endpointd_cluster_conflicts_total{kind="address"}')) ?? 0;
    east.create('services', service({ name: 'dup', namespace: NS }));
    west.create('services', service({ name: 'dup', namespace: NS }));
    east.create('endpointslices', slice('dup', ['10.9.0.1']));
    west.create('endpointslices', slice('dup', ['10.9.0.1', '10.9.0.2']));
    await t.until(NS, 'dup', (b) => taggedAddresses(b).length === 3);
    assert.deepEqual(taggedAddresses(await t.lookup(NS, 'dup')), [
      'east 10.9.0.1',
      'west 10.9.0.1',
      'west 10.9.0.2',
    ]);
    assert.equal(await metricValue(t.url, 'endpointd_cluster_conflicts_total{kind="address"}'), before + 1);
    // Resolved (west's pod moves), then appearing again counts again: once per appearance, not per rewrite.
    west.update('endpointslices', slice('dup', ['10.9.0.3', '10.9.0.2']));
    await t.until(NS, 'dup', (b) => taggedAddresses(b).includes('west 10.9.0.3'));
    west.update('endpointslices', slice('dup', ['10.9.0.3', '10.9.0.2', '10.9.0.4']));
    await t.until(NS, 'dup', (b) => taggedAddresses(b).includes('west 10.9.0.4'));
    assert.equal(await metricValue(t.url, 'endpointd_cluster_conflicts_total{kind="address"}'), before + 1);
    west.update('endpointslices', slice('dup', ['10.9.0.1']));
    await t.until(NS, 'dup', (b) => taggedAddresses(b).includes('west 10.9.0.1'));
    assert.equal(await metricValue(t.url, 'endpointd_cluster_conflicts_total{kind="address"}'), before + 2);
  });

  it('resolves Service-level conflicts oldest-wins, shows and counts them, and drops them once resolved', async () => {
    // west's Service is older: its type and ports are served, east's differing ones are reported.
    const typeBefore = (await metricValue(t.url, 'endpointd_cluster_conflicts_total{kind="type"}')) ?? 0;
    west.create('services', {
      ...service({ name: 'api', namespace: NS, ports: [{ name: 'http', port: 80, targetPort: 8080 }] }),
      metadata: { name: 'api', namespace: NS, creationTimestamp: '2020-01-01T00:00:00Z' },
    });
    east.create('services', {
      ...service({
        name: 'api',
        namespace: NS,
        type: 'NodePort',
        ports: [{ name: 'grpc', port: 9000, targetPort: 9000 }],
      }),
      metadata: { name: 'api', namespace: NS, creationTimestamp: '2024-01-01T00:00:00Z' },
    });
    const body = await t.until(NS, 'api', (b) => b?.conflicts?.length === 2);
    assert.equal(body?.service?.type, 'ClusterIP');
    assert.deepEqual(
      body?.service?.ports.map((p) => p.name),
      ['http'],
    );
    assert.deepEqual(body?.conflicts, [
      { field: 'ports', servedFrom: 'west', ignored: ['east'] },
      { field: 'type', servedFrom: 'west', ignored: ['east'] },
    ]);
    const viaGrpc = await grpc.resolve({ namespace: NS, name: 'api' });
    assert.deepEqual(viaGrpc.service.conflicts, body?.conflicts);
    assert.equal(await metricValue(t.url, 'endpointd_cluster_conflicts_total{kind="type"}'), typeBefore + 1);
    // east agrees again: no conflict is shown, and the version is that of agreeing content.
    east.update('services', {
      ...service({ name: 'api', namespace: NS, ports: [{ name: 'http', port: 80, targetPort: 8080 }] }),
      metadata: { name: 'api', namespace: NS },
    });
    const agreed = await t.until(NS, 'api', (b) => b?.conflicts === undefined);
    assert.equal(agreed?.service?.type, 'ClusterIP');
    // The older Service goes: the remaining one is served, with nothing to conflict with.
    west.delete('services', NS, 'api');
    const alone = await t.until(NS, 'api', (b) => b?.clusters?.length === 1);
    assert.deepEqual(
      alone?.clusters?.map((c) => c.name),
      ['east'],
    );
  });

  it('reports clusters that disagree on the topology a caller gets, and serves the oldest Service’s', async () => {
    const before =
      (await metricValue(t.url, 'endpointd_cluster_conflicts_total{kind="trafficDistribution"}')) ?? 0;
    const spec = { name: 'near', namespace: NS, ports: [{ name: 'http', port: 80, targetPort: 8080 }] };
    west.create('services', {
      ...service(spec),
      metadata: {
        name: 'near',
        namespace: NS,
        creationTimestamp: '2020-01-01T00:00:00Z',
        annotations: { 'service.kubernetes.io/topology-mode': 'Auto' },
      },
      spec: { ...(service(spec).spec as Record<string, unknown>), trafficDistribution: 'PreferSameZone' },
    });
    east.create('services', {
      ...service(spec),
      metadata: { name: 'near', namespace: NS, creationTimestamp: '2024-01-01T00:00:00Z' },
    });
    west.create('endpointslices', slice('near', ['10.2.7.1']));
    east.create('endpointslices', slice('near', ['10.1.7.1']));
    const body = await t.until(NS, 'near', (b) => b?.conflicts?.length === 2 && b.endpoints.length === 2);
    assert.deepEqual(body?.conflicts, [
      { field: 'topologyMode', servedFrom: 'west', ignored: ['east'] },
      { field: 'trafficDistribution', servedFrom: 'west', ignored: ['east'] },
    ]);
    assert.equal(body?.service?.trafficDistribution, 'PreferSameZone');
    const viaGrpc = await grpc.resolve({ namespace: NS, name: 'near' });
    assert.deepEqual(viaGrpc.service.conflicts, body?.conflicts);
    assert.equal(
      await metricValue(t.url, 'endpointd_cluster_conflicts_total{kind="trafficDistribution"}'),
      before + 1,
    );
    // east says the same: nothing is reported any more.
    east.update('services', {
      ...service(spec),
      metadata: {
        name: 'near',
        namespace: NS,
        annotations: { 'service.kubernetes.io/topology-mode': 'Auto' },
      },
      spec: { ...(service(spec).spec as Record<string, unknown>), trafficDistribution: 'PreferSameZone' },
    });
    const agreed = await t.until(NS, 'near', (b) => b?.conflicts === undefined);
    assert.equal(agreed?.service?.trafficDistribution, 'PreferSameZone');
  });

  it('keeps a Service deleted in one cluster served from the other, and tells a cluster-scoped watch it is gone', async () => {
    east.create('services', service({ name: 'cart', namespace: NS }));
    west.create('services', service({ name: 'cart', namespace: NS }));
    east.create('endpointslices', slice('cart', ['10.1.5.1']));
    west.create('endpointslices', slice('cart', ['10.2.5.1']));
    await t.until(NS, 'cart', (b) => taggedAddresses(b).length === 2);
    const eastWatch = await EventStream.open(`${t.url}/v1/namespaces/${NS}/services/cart/watch?cluster=east`);
    const grpcEast = grpc.watch({ services: [{ namespace: NS, name: 'cart' }], cluster: 'east' });
    const westWatch = await EventStream.open(`${t.url}/v1/namespaces/${NS}/services/cart/watch?cluster=west`);
    try {
      await eastWatch.until('SYNCED');
      await westWatch.until('SYNCED');
      await grpcEast.until((m) => m.event === 'synced');
      east.delete('endpointslices', NS, 'cart-a');
      east.delete('services', NS, 'cart');
      const merged = await t.until(NS, 'cart', (b) => taggedAddresses(b).join() === 'west 10.2.5.1');
      assert.deepEqual(
        merged?.clusters?.map((c) => c.name),
        ['west'],
      );
      const events = await eastWatch.until('DELETED');
      assert.equal(events.at(-1)?.data.name, 'cart');
      const messages = await grpcEast.until((m: DecodedWatchResponse) => m.event === 'deleted');
      assert.equal(messages.at(-1)?.event, 'deleted');
      // The west watch saw no change of its share: the next thing it gets is the marker written after.
      west.update('endpointslices', slice('cart', ['10.2.5.1', '10.2.5.2']));
      const westEvents = await westWatch.until('MODIFIED');
      assert.deepEqual(
        westEvents.map((e) => e.data.type),
        ['MODIFIED'],
        'a change in another cluster is no news to a cluster-scoped watch',
      );
      // And back: east defines it again, its watch sees it added.
      east.create('services', service({ name: 'cart', namespace: NS }));
      east.create('endpointslices', slice('cart', ['10.1.5.9']));
      const back = await eastWatch.until('ADDED');
      assert.deepEqual(
        (back.at(-1)?.data.service as { endpoints: Array<{ addresses: string[] }> }).endpoints.map(
          (e) => e.addresses[0],
        ),
        ['10.1.5.9'],
      );
      west.delete('endpointslices', NS, 'cart-a');
      west.delete('services', NS, 'cart');
      east.delete('endpointslices', NS, 'cart-a');
      east.delete('services', NS, 'cart');
      await t.until(NS, 'cart', (b) => b === undefined);
    } finally {
      eastWatch.close();
      westWatch.close();
      grpcEast.cancel();
    }
  });
});

describe('one unnamed cluster (--source kubernetes), as before', () => {
  it('answers without any cluster field, and /readyz has no cluster entry', async () => {
    const api = await FakeApiServer.start();
    api.create('services', service({ name: 'web', namespace: NS }));
    api.create('endpointslices', slice('web', ['10.1.0.1']));
    const t = await startKubeEndpointd(api);
    try {
      const body = await t.lookup(NS, 'web');
      assert.ok(body !== undefined);
      assert.equal('clusters' in body, false);
      assert.equal('conflicts' in body, false);
      assert.equal(
        body.endpoints.some((e) => 'cluster' in e),
        false,
      );
      const ready = (await get(`${t.url}/readyz`)).json<{ sources: object[] }>();
      assert.equal(
        ready.sources.some((s) => 'cluster' in s),
        false,
      );
      // Naming a cluster of an endpointd that reads none is a clear 404.
      const named = await get(`${t.url}/v1/namespaces/${NS}/services/web?cluster=east`);
      assert.equal(named.status, 404);
      assert.match(named.json<{ detail: string }>().detail, /endpointd reads no named clusters/);
    } finally {
      await t.stop();
      await api.close();
    }
  });
});
