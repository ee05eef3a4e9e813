// Which Services clients may see: the flags that set the rules, and — end to end from the fake API server — a
// hidden Service answered exactly like one that does not exist, on every door. The rules alone: exposure-rules.test.ts.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ProblemBody, ServiceListBody } from '../src/api/rest/wire.ts';
import { decodeMessage } from '../src/api/xds/encoding.ts';
import { parseCommandLine } from '../src/config/index.ts';
import { endpointSlice, FakeApiServer, service, type KubeObject } from './support/fake-apiserver/index.ts';
import { statusOf, TestClient, type DecodedWatchResponse } from './support/grpc-discovery.ts';
import { EventStream, get } from './support/http.ts';
import { startKubeEndpointd, type KubeTestEndpointd } from './support/kube-endpointd.ts';
import { rawSotw, type RawResponse } from './support/xds-harness.ts';
describe('exposure flags', () => {
  const run = (args: string[]) => parseCommandLine(args, {});

  const hidden = (args: string[], env: NodeJS.ProcessEnv = {}): readonly string[] => {
    const parsed = parseCommandLine(args, env);
    assert.equal(parsed.kind, 'run', parsed.kind === 'invalid' ? parsed.problems.join('\n') : '');
    return parsed.kind === 'run' ? parsed.config.exposure.hideNamespaces : [];
  };
  const SYSTEM = ['kube-system', 'kube-public', 'kube-node-lease'];

  it('hides the system namespaces by default; --hide-namespace adds to them, from the flag or its variable', () => {
    assert.deepEqual(hidden([]), SYSTEM);
    assert.deepEqual(hidden(['--hide-namespace', 'secret']), [...SYSTEM, 'secret']);
    assert.deepEqual(hidden(['--hide-namespace', 'a,b', '--hide-namespace', 'c']), [
      ...SYSTEM,
      'a',
      'b',
      'c',
    ]);
    assert.deepEqual(hidden([], { ENDPOINTD_HIDE_NAMESPACE: 'a, b' }), [...SYSTEM, 'a', 'b']);
    // kube-system stays hidden however the list is given (the attack: --hide-namespace X un-hid it).
    assert.ok(hidden(['--hide-namespace', 'kube-system,x']).includes('kube-public'));
  });

  it('replaces the default list only when asked explicitly, and refuses the old "none"', () => {
    assert.deepEqual(hidden(['--hide-default-namespaces=false']), []);
    assert.deepEqual(hidden(['--hide-default-namespaces', 'false', '--hide-namespace', 'x']), ['x']);
    const none = run(['--hide-namespace', 'none']);
    assert.equal(none.kind, 'invalid');
    assert.match(none.kind === 'invalid' ? none.problems.join('\n') : '', /--hide-default-namespaces=false/);
  });

  it('says in --help that --hide-namespace adds to the default list, and how to replace it', () => {
    const help = run(['--help']);
    const text = help.kind === 'help' ? help.text : '';
    assert.match(text, /--hide-namespace .*in addition to kube-system/);
    assert.match(text, /--hide-default-namespaces\[=BOOL\]/);
  });

  it('refuses a bad selector, a bad annotation rule and a bad namespace, naming each', () => {
    const parsed = run([
      '--expose-selector',
      'a in (b',
      '--expose-annotation',
      'novalue',
      '--expose-namespace',
      'Bad_NS',
    ]);
    assert.equal(parsed.kind, 'invalid');
    const problems = parsed.kind === 'invalid' ? parsed.problems.join('\n') : '';
    assert.match(problems, /--expose-selector .*must be a label selector/);
    assert.match(problems, /--expose-annotation .*must be KEY=VALUE/);
    assert.match(problems, /--expose-namespace .*must be a namespace name/);
  });
});

describe('a hidden Service, through every door', () => {
  let api: FakeApiServer;
  let t: KubeTestEndpointd;
  let grpc: TestClient;
  let privateService: KubeObject;

  const annotated = (object: KubeObject, value: string | undefined): KubeObject => {
    const copy = structuredClone(object);
    copy.metadata.annotations = value === undefined ? {} : { 'endpointd.io/expose': value };
    return copy;
  };

  before(async () => {
    api = await FakeApiServer.start();
    for (const [namespace, name, ip] of [
      ['shop', 'public', '10.0.0.1'],
      ['shop', 'private', '10.0.0.2'],
      ['kube-system', 'kube-dns', '10.0.0.3'],
    ] as const) {
      const object = service({ name, namespace, ports: [{ name: 'http', port: 80, targetPort: 8080 }] });
      const created = api.create('services', annotated(object, name === 'private' ? undefined : 'true'));
      if (name === 'private') privateService = created;
      api.create(
        'endpointslices',
        endpointSlice({ service: name, namespace, endpoints: [{ addresses: ip }] }),
      );
    }
    t = await startKubeEndpointd(
      api,
      {},
      {
        exposure: {
          exposeNamespaces: [],
          hideNamespaces: ['kube-system'],
          selector: undefined,
          annotation: { key: 'endpointd.io/expose', value: 'true' },
        },
      },
    );
    grpc = new TestClient(`127.0.0.1:${t.endpointd.grpcPort}`);
  });
  after(async () => {
    grpc.client.close();
    await t.stop();
    await api.close();
  });

  /** The answer for `name` with the name itself blanked out, to compare hidden with unknown. */
  const restLookup = async (namespace: string, name: string): Promise<string> => {
    const answer = await get(`${t.url}/v1/namespaces/${namespace}/services/${name}`);
    return `${answer.status} ${answer.text.replaceAll(`${namespace}/${name}`, 'X')}`;
  };

  it('REST: a lookup answers exactly as for an unknown Service, and lists leave it out', async () => {
    assert.equal((await get(`${t.url}/v1/namespaces/shop/services/public`)).status, 200);
    assert.equal(await restLookup('shop', 'private'), await restLookup('shop', 'nothing'));
    assert.equal(await restLookup('kube-system', 'kube-dns'), await restLookup('kube-system', 'nothing'));
    assert.equal((await get(`${t.url}/v1/namespaces/shop/services/private`)).json<ProblemBody>().status, 404);
    const list = (await get(`${t.url}/v1/services`)).json<ServiceListBody>();
    assert.deepEqual(
      list.services.map((s) => `${s.namespace}/${s.name}`),
      ['shop/public'],
    );
  });

  it('REST: watches report it absent and never send it', async () => {
    const one = await EventStream.open(`${t.url}/v1/namespaces/shop/services/private/watch`);
    const all = await EventStream.open(`${t.url}/v1/watch`);
    try {
      assert.deepEqual((await one.next()).data, { type: 'ABSENT', namespace: 'shop', name: 'private' });
      const initial = await all.until('SYNCED');
      assert.deepEqual(
        initial.filter((e) => e.data.type === 'ADDED').map((e) => e.data.name),
        ['public'],
      );
    } finally {
      one.close();
      all.close();
    }
  });

  it('gRPC: Resolve answers NOT_FOUND as for an unknown Service; lists and watches leave it out', async () => {
    const hidden = await statusOf(
      grpc.unary('endpointd.v1.Discovery', 'Resolve', { namespace: 'shop', name: 'private' }),
    );
    const unknown = await statusOf(
      grpc.unary('endpointd.v1.Discovery', 'Resolve', { namespace: 'shop', name: 'nothing' }),
    );
    assert.equal(hidden.code, unknown.code);
    assert.equal(hidden.details.replace('private', 'X'), unknown.details.replace('nothing', 'X'));
    const list = await grpc.unary<{ services: Array<{ name: string }> }>(
      'endpointd.v1.Discovery',
      'ListServices',
      {},
    );
    assert.deepEqual(
      list.services.map((s) => s.name),
      ['public'],
    );
    const stream = grpc.watch({ services: [{ namespace: 'shop', name: 'private' }] });
    try {
      const first: DecodedWatchResponse = await stream.next();
      assert.equal(first.event, 'absent');
    } finally {
      stream.cancel();
    }
  });

  it('xDS: no Cluster for it, and the same empty assignment as for an unknown Service', async () => {
    const ads = rawSotw(t.endpointd.grpcPort);
    try {
      ads.send({
        node: { id: 'exposure-test', locality: {} },
        type_url: 'type.googleapis.com/envoy.config.cluster.v3.Cluster',
        resource_names: ['private.shop:8080', 'public.shop:8080', 'nothing.shop:8080'],
      });
      const clusters: RawResponse = await ads.next();
      assert.equal(clusters.resources.length, 1, 'only the exposed Service has a Cluster');
      ads.send({
        type_url: 'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment',
        resource_names: ['private.shop:8080', 'nothing.shop:8080'],
      });
      const assignments: RawResponse = await ads.next();
      const decoded = assignments.resources.map((r) => {
        const { cluster_name: name, ...rest } = decodeMessage(
          'envoy.config.endpoint.v3.ClusterLoadAssignment',
          r.value,
        );
        return { name, rest: JSON.stringify(rest) };
      });
      assert.deepEqual(
        decoded.map((d) => d.name),
        ['private.shop:8080', 'nothing.shop:8080'],
      );
      assert.equal(decoded[0]?.rest, decoded[1]?.rest, 'the same assignment but for its name');
    } finally {
      ads.close();
    }
  });

  it('appears when annotated, and is seen as deleted when the annotation goes', async () => {
    const stream = await EventStream.open(`${t.url}/v1/namespaces/shop/services/private/watch`);
    try {
      await stream.until('SYNCED');
      api.update('services', annotated(privateService, 'true'));
      const added = await stream.next();
      assert.equal(added.data.type, 'ADDED');
      api.update('services', annotated(privateService, undefined));
      assert.equal((await stream.next()).data.type, 'DELETED');
    } finally {
      stream.close();
    }
  });
});
