// Caller-aware answers through the real doors on loopback (issue 12 items 1–3): a caller that says its zone or node
// (REST `?zone=&node=`, gRPC `caller`) gets the endpoints Kubernetes' topology rules pick for it, with a `topology`
// part saying why; its answers' versions are hashes of what it receives, so a change it does not see (another
// zone's endpoints) neither ends its long-poll nor reaches its watch streams. Without locality, answers are as
// without topology.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { status } from '@grpc/grpc-js';
import type { Endpoint, ServiceEndpoints, ServiceInfo } from '../src/model.ts';
import { statusOf, TestClient, type DecodedService } from './support/grpc-discovery.ts';
import { startTestEndpointd, zonedServiceManifest, type TestEndpointd } from './support/endpointd.ts';
import { EventStream, eventually, get, subscribersReach } from './support/http.ts';

const SOURCE = 'topology-test';
const HTTP = { name: 'http', port: 8080, protocol: 'TCP' } as const;

function pod(
  ip: string,
  zone: string,
  hints: { zones?: string[]; nodes?: string[] },
  node?: string,
): Endpoint {
  return {
    addresses: [ip],
    addressType: 'IPv4',
    ports: [HTTP],
    ready: true,
    serving: true,
    terminating: false,
    zone,
    ...(node === undefined ? {} : { nodeName: node }),
    ...(hints.zones === undefined ? {} : { hintsForZones: hints.zones }),
    ...(hints.nodes === undefined ? {} : { hintsForNodes: hints.nodes }),
  };
}

const info = (trafficDistribution: string): ServiceInfo => ({
  type: 'ClusterIP',
  headless: false,
  ports: [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' }],
  trafficDistribution,
});

/** PreferSameZone with the controller's hints: two endpoints in zone-a, one in zone-b (plus `extra`). */
function sameZone(extra: Endpoint[] = []): ServiceEndpoints {
  const endpoints = [
    pod('10.1.0.1', 'zone-a', { zones: ['zone-a'] }),
    pod('10.1.0.2', 'zone-a', { zones: ['zone-a'] }),
    pod('10.2.0.1', 'zone-b', { zones: ['zone-b'] }),
    ...extra,
  ].sort((x, y) => (x.addresses[0]! < y.addresses[0]! ? -1 : 1));
  return { namespace: 'shop', name: 'near', ports: [HTTP], endpoints, service: info('PreferSameZone') };
}

const ipsOf = (body: { endpoints: readonly { addresses: readonly string[] }[] }): string[] =>
  body.endpoints.map((e) => e.addresses[0] ?? '');

interface RestBody {
  version: string;
  endpoints: { addresses: string[] }[];
  targets?: { address: string; port: number }[];
  topology?: Record<string, string>;
}

describe('caller-aware answers (topology) on REST and gRPC', () => {
  let t: TestEndpointd;
  let grpc: TestClient;
  const lookupUrl = (query: string): string => `${t.url}/v1/namespaces/shop/services/near${query}`;
  const lookup = async (query: string): Promise<RestBody> => {
    const answer = await get(lookupUrl(query));
    assert.equal(answer.status, 200, answer.text);
    return answer.json<RestBody>();
  };

  before(async () => {
    t = await startTestEndpointd({});
    grpc = new TestClient(`127.0.0.1:${t.endpointd.grpcPort}`);
  });
  after(async () => {
    grpc.client.close();
    await t.stop();
  });
  const upsert = (service: ServiceEndpoints): void => {
    t.endpointd.store.upsert(SOURCE, service);
  };

  it('REST: a caller in zone-a gets zone-a endpoints and targets, with the topology part and its own version', async () => {
    upsert(sameZone());
    const body = await lookup('?zone=zone-a&port=http');
    assert.deepEqual(ipsOf(body), ['10.1.0.1', '10.1.0.2']);
    assert.deepEqual(
      body.targets?.map((x) => `${x.address}:${x.port}`),
      ['10.1.0.1:8080', '10.1.0.2:8080'],
    );
    assert.deepEqual(body.topology, { rule: 'PreferSameZone', matched: 'zone', zone: 'zone-a' });
    const snapshot = t.endpointd.store.get({ namespace: 'shop', name: 'near' });
    assert.notEqual(body.version, snapshot?.version, 'the version is that of what this caller receives');
    const answer = await get(lookupUrl('?zone=zone-a&port=http'));
    assert.equal(answer.headers['etag'], `"${body.version}"`);
    // The same URL again (the fast path) and another spelling of the same view give the same answer.
    assert.equal((await get(lookupUrl('?zone=zone-a&port=http'))).text, answer.text);
    assert.equal((await get(lookupUrl('?port=http&zone=zone-a&node='))).text, answer.text);
    // The fast path keys on the whole URL: another zone right after is another answer.
    assert.deepEqual(ipsOf(await lookup('?zone=zone-b&port=http')), ['10.2.0.1']);
    const notModified = await get(lookupUrl('?zone=zone-a&port=http'), {
      'If-None-Match': `"${body.version}"`,
    });
    assert.equal(notModified.status, 304);
  });

  it("REST: a caller in a zone nothing is hinted for gets all, saying why; no caller gets today's answer", async () => {
    upsert(sameZone());
    const elsewhere = await lookup('?zone=zone-c');
    assert.deepEqual(ipsOf(elsewhere), ['10.1.0.1', '10.1.0.2', '10.2.0.1']);
    assert.deepEqual(elsewhere.topology, {
      rule: 'PreferSameZone',
      matched: 'none',
      zone: 'zone-c',
      fallback: 'zone-not-hinted',
    });
    const plain = await get(lookupUrl(''));
    const body = plain.json<RestBody>();
    assert.ok(!('topology' in body), 'no topology part without caller locality');
    assert.equal(body.version, t.endpointd.store.get({ namespace: 'shop', name: 'near' })?.version);
    assert.deepEqual(ipsOf(body), ['10.1.0.1', '10.1.0.2', '10.2.0.1']);
    // Empty zone and node mean "not said": byte for byte the answer without them.
    assert.equal((await get(lookupUrl('?zone=&node='))).text, plain.text);
  });

  it('REST: with endpoints=all, every endpoint is answered and the topology is only reported', async () => {
    upsert(sameZone());
    const body = await lookup('?zone=zone-a&endpoints=all');
    assert.deepEqual(ipsOf(body), ['10.1.0.1', '10.1.0.2', '10.2.0.1']);
    assert.equal(body.topology?.['matched'], 'zone');
  });

  it('REST: refuses a zone or node that is not a label value, naming the parameter (problem+json)', async () => {
    for (const [query, name] of [
      ['?zone=zone%20a', 'zone'],
      ['?node=-node', 'node'],
      [`?zone=${'z'.repeat(64)}`, 'zone'],
      ['?zone=a%3Ab', 'zone'],
    ] as const) {
      for (const path of ['', '/watch']) {
        const answer = await get(`${t.url}/v1/namespaces/shop/services/near${path}${query}`);
        assert.equal(answer.status, 400, `${path}${query}`);
        assert.match(String(answer.headers['content-type']), /application\/problem\+json/);
        const problem = answer.json<{ invalidParams: { name: string }[] }>();
        assert.deepEqual(
          problem.invalidParams.map((p) => p.name),
          [name],
        );
      }
    }
    assert.equal((await get(`${t.url}/v1/watch?zone=a%20b`)).status, 400);
  });

  it('REST long-poll: a change to zone-b does not end a zone-a wait; a change to zone-a does', async () => {
    upsert(sameZone());
    const first = await lookup('?zone=zone-a');
    const pending = get(lookupUrl(`?zone=zone-a&wait=30s&version=${first.version}`));
    await subscribersReach(t.url, 'rest', 1);
    upsert(sameZone([pod('10.2.0.2', 'zone-b', { zones: ['zone-b'] })]));
    // The marker: a change the caller does see. Had the zone-b change ended the wait, the answer would lack it.
    upsert(
      sameZone([
        pod('10.2.0.2', 'zone-b', { zones: ['zone-b'] }),
        pod('10.1.0.3', 'zone-a', { zones: ['zone-a'] }),
      ]),
    );
    const answer = await pending;
    assert.equal(answer.status, 200);
    const body = answer.json<RestBody>();
    assert.deepEqual(ipsOf(body), ['10.1.0.1', '10.1.0.2', '10.1.0.3']);
    assert.notEqual(body.version, first.version);
    await subscribersReach(t.url, 'rest', 0);
  });

  it('REST watch: a zone-a stream sees no event for a zone-b change, then the zone-a change', async () => {
    upsert(sameZone());
    const stream = await EventStream.open(`${lookupUrl('/watch')}?zone=zone-a`);
    const all = await EventStream.open(`${t.url}/v1/watch?namespace=shop&zone=zone-a`);
    // The marker of the zone-b change: a zone-b stream receives it, and a stream's writes run in the same turn.
    const inB = await EventStream.open(`${lookupUrl('/watch')}?zone=zone-b`);
    try {
      await inB.until('SYNCED');
      for (const s of [stream, all]) {
        const [added] = await s.until('SYNCED');
        assert.equal(added?.data.type, 'ADDED');
        const service = added?.data['service'] as RestBody;
        assert.deepEqual(ipsOf(service), ['10.1.0.1', '10.1.0.2']);
        assert.equal(service.topology?.['zone'], 'zone-a');
        assert.equal(added?.data['version'], service.version);
      }
      upsert(sameZone([pod('10.2.0.2', 'zone-b', { zones: ['zone-b'] })]));
      const seenInB = await inB.next();
      assert.deepEqual(ipsOf(seenInB.data['service'] as RestBody), ['10.2.0.1', '10.2.0.2']);
      upsert(
        sameZone([
          pod('10.2.0.2', 'zone-b', { zones: ['zone-b'] }),
          pod('10.1.0.3', 'zone-a', { zones: ['zone-a'] }),
        ]),
      );
      for (const s of [stream, all]) {
        const next = await s.next();
        assert.equal(next.data.type, 'MODIFIED', 'the first event after SYNCED is the zone-a change');
        assert.deepEqual(ipsOf(next.data['service'] as RestBody), ['10.1.0.1', '10.1.0.2', '10.1.0.3']);
      }
    } finally {
      stream.close();
      all.close();
      inB.close();
    }
  });

  it('gRPC Resolve: the caller field picks; a zone without hints falls back; no caller is as before', async () => {
    upsert(sameZone());
    const near = await grpc.resolve({ namespace: 'shop', name: 'near', caller: { zone: 'zone-a' } });
    assert.deepEqual(ipsOf(near.service), ['10.1.0.1', '10.1.0.2']);
    assert.deepEqual(near.service.topology, {
      rule: 'PreferSameZone',
      matched: 'zone',
      zone: 'zone-a',
      node: '',
      fallback: '',
    });
    const rest = await lookup('?zone=zone-a');
    assert.equal(near.service.version, rest.version, 'one version for one answer, on every door');
    const far = await grpc.resolve({ namespace: 'shop', name: 'near', caller: { zone: 'zone-c' } });
    assert.deepEqual(ipsOf(far.service), ['10.1.0.1', '10.1.0.2', '10.2.0.1']);
    assert.equal(far.service.topology?.fallback, 'zone-not-hinted');
    const plain = await grpc.resolve({ namespace: 'shop', name: 'near' });
    assert.equal(plain.service.topology, null);
    assert.equal(plain.service.version, t.endpointd.store.get({ namespace: 'shop', name: 'near' })?.version);
    const unsaid = await grpc.resolve({ namespace: 'shop', name: 'near', caller: { zone: '', node: '' } });
    assert.deepEqual(unsaid, plain);
    const refused = await statusOf(
      grpc.resolve({ namespace: 'shop', name: 'near', caller: { zone: 'zone a' } }),
    );
    assert.equal(refused.code, status.INVALID_ARGUMENT);
    assert.match(refused.details, /caller\.zone/);
  });

  it('gRPC Watch: a zone-a caller sees no message for a zone-b change, then the zone-a change', async () => {
    upsert(sameZone());
    const watch = grpc.watch({ services: [{ namespace: 'shop', name: 'near' }], caller: { zone: 'zone-a' } });
    // The marker of the zone-b change: a zone-b watcher receives it.
    const inB = grpc.watch({ services: [{ namespace: 'shop', name: 'near' }], caller: { zone: 'zone-b' } });
    try {
      await inB.until((m) => m.event === 'synced');
      const initial = await watch.until((m) => m.event === 'synced');
      const added = initial[0];
      assert.equal(added?.event, 'added');
      const shown = (added as { added: DecodedService }).added;
      assert.deepEqual(ipsOf(shown), ['10.1.0.1', '10.1.0.2']);
      assert.equal(shown.topology?.matched, 'zone');
      upsert(sameZone([pod('10.2.0.2', 'zone-b', { zones: ['zone-b'] })]));
      const seenInB = await inB.next();
      assert.equal(seenInB.event, 'modified');
      assert.deepEqual(ipsOf((seenInB as { modified: DecodedService }).modified), ['10.2.0.1', '10.2.0.2']);
      upsert(
        sameZone([
          pod('10.2.0.2', 'zone-b', { zones: ['zone-b'] }),
          pod('10.1.0.3', 'zone-a', { zones: ['zone-a'] }),
        ]),
      );
      const next = await watch.next();
      assert.equal(next.event, 'modified', 'the first message after synced is the zone-a change');
      const modified = (next as { modified: DecodedService }).modified;
      assert.deepEqual(ipsOf(modified), ['10.1.0.1', '10.1.0.2', '10.1.0.3']);
      assert.notEqual(modified.version, shown.version);
    } finally {
      watch.cancel();
      inB.cancel();
    }
    // Resuming with the version it holds: nothing is resent, the stream goes straight to synced.
    const current = await grpc.resolve({ namespace: 'shop', name: 'near', caller: { zone: 'zone-a' } });
    const resumed = grpc.watch({
      services: [{ namespace: 'shop', name: 'near' }],
      caller: { zone: 'zone-a' },
      known: [{ namespace: 'shop', name: 'near', version: current.service.version }],
    });
    try {
      assert.equal((await resumed.next()).event, 'synced');
    } finally {
      resumed.cancel();
    }
  });

  it('PreferSameNode: node hints first, then zone hints, then everything', async () => {
    upsert({
      namespace: 'shop',
      name: 'near',
      ports: [HTTP],
      endpoints: [
        pod('10.3.0.1', 'zone-a', { zones: ['zone-a'], nodes: ['node-1'] }, 'node-1'),
        pod('10.3.0.2', 'zone-a', { zones: ['zone-a'], nodes: ['node-2'] }, 'node-2'),
        pod('10.3.0.3', 'zone-b', { zones: ['zone-b'], nodes: ['node-3'] }, 'node-3'),
      ],
      service: info('PreferSameNode'),
    });
    const onNode = await lookup('?zone=zone-a&node=node-1');
    assert.deepEqual(ipsOf(onNode), ['10.3.0.1']);
    assert.deepEqual(onNode.topology, {
      rule: 'PreferSameNode',
      matched: 'node',
      zone: 'zone-a',
      node: 'node-1',
    });
    const otherNode = await lookup('?zone=zone-a&node=node-9');
    assert.deepEqual(ipsOf(otherNode), ['10.3.0.1', '10.3.0.2']);
    assert.deepEqual(otherNode.topology, {
      rule: 'PreferSameNode',
      matched: 'zone',
      zone: 'zone-a',
      node: 'node-9',
      fallback: 'node-not-hinted',
    });
    const nowhere = await lookup('?zone=zone-c&node=node-9');
    assert.deepEqual(ipsOf(nowhere), ['10.3.0.1', '10.3.0.2', '10.3.0.3']);
    assert.equal(nowhere.topology?.['fallback'], 'zone-not-hinted');
    const grpcNode = await grpc.resolve({
      namespace: 'shop',
      name: 'near',
      caller: { zone: 'zone-b', node: 'node-3' },
    });
    assert.deepEqual(ipsOf(grpcNode.service), ['10.3.0.3']);
    assert.equal(grpcNode.service.topology?.matched, 'node');
  });
});

describe('caller-aware answers from manifests (file source)', () => {
  let t: TestEndpointd;
  const files = (distribution: string, bZone: string): Record<string, string> => ({
    'near.yaml': zonedServiceManifest(distribution, [
      { ip: '10.5.0.1', zone: 'zone-a' },
      { ip: '10.5.0.2', zone: bZone },
    ]),
  });
  before(async () => {
    t = await startTestEndpointd(files('PreferSameZone', 'zone-b'));
  });
  after(() => t.stop());

  it('reads trafficDistribution and hints from a Service and its slices, and follows an edit of the hints', async () => {
    const url = `${t.url}/v1/namespaces/shop/services/near?zone=zone-a`;
    const first = (await get(url)).json<RestBody>();
    assert.deepEqual(ipsOf(first), ['10.5.0.1']);
    assert.equal(first.topology?.['rule'], 'PreferSameZone');
    await t.write('near.yaml', files('PreferClose', 'zone-a')['near.yaml']!);
    const edited = await eventually(async () => {
      const body = (await get(url)).json<RestBody>();
      return body.topology?.['rule'] === 'PreferClose' ? body : undefined;
    }, 10_000);
    assert.deepEqual(ipsOf(edited), ['10.5.0.1', '10.5.0.2']);
  });
});
