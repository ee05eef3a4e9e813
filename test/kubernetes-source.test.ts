// End to end: the fake kube-apiserver → endpointd's Kubernetes source (the real @kubernetes/client-node for
// credentials and TLS) → what a REST client sees.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ServiceBody } from '../src/api/rest/wire.ts';
import { createLogger } from '../src/observability/logger.ts';
import { KubernetesSource } from '../src/sources/kubernetes/kubernetes-source.ts';
import { loadKubeConfig } from '../src/kube/kubeconfig.ts';
import { EndpointStore } from '../src/store/endpoint-store.ts';
import {
  dualStackSlices,
  endpoints,
  endpointSlice,
  externalNameService,
  FakeApiServer,
  headlessService,
  service,
  truncatedEndpoints,
  type KubeObject,
} from './support/fake-apiserver/index.ts';
import { TestClient, type DecodedService } from './support/grpc-discovery.ts';
import { eventually, get } from './support/http.ts';
import { ips, startKubeEndpointd, type KubeTestEndpointd } from './support/kube-endpointd.ts';

const sameIps = (expected: string[]) => (body: ServiceBody | undefined) =>
  JSON.stringify(ips(body)) === JSON.stringify(expected);

function update(api: FakeApiServer, object: KubeObject, change: (o: KubeObject) => void): void {
  const copy = structuredClone(object);
  change(copy);
  api.update('endpointslices', copy);
}

describe('Kubernetes source: EndpointSlices', () => {
  let api: FakeApiServer;
  let t: KubeTestEndpointd;
  let webA: KubeObject;

  before(async () => {
    api = await FakeApiServer.start({ bookmarkIntervalMs: 200 });
    api.create('services', service({ name: 'web', namespace: 'shop' }));
    webA = api.create(
      'endpointslices',
      endpointSlice({
        service: 'web',
        namespace: 'shop',
        name: 'web-a',
        endpoints: [{ addresses: '10.0.0.1' }],
      }),
    );
    t = await startKubeEndpointd(api);
  });
  after(async () => {
    await t.stop();
    await api.close();
  });

  it('syncs the initial state and asks for bookmarks and a 5-10 min watch timeout', async () => {
    assert.deepEqual(ips(await t.lookup('shop', 'web')), ['10.0.0.1']);
    const watch = api.requests.find((r) => r.verb === 'watch' && r.resource === 'endpointslices');
    assert.ok(watch);
    assert.equal(watch.query.get('allowWatchBookmarks'), 'true');
    const timeout = Number(watch.query.get('timeoutSeconds'));
    assert.ok(timeout >= 300 && timeout <= 600, `timeoutSeconds=${timeout}`);
    const list = api.requests.find((r) => r.verb === 'list' && r.resource === 'endpointslices');
    assert.equal(list?.query.get('limit'), '500');
    assert.equal(watch.query.get('resourceVersion') !== null, true, 'watches from the list resourceVersion');
  });

  it('follows additions, updates and deletions', async () => {
    const webB = api.create(
      'endpointslices',
      endpointSlice({
        service: 'web',
        namespace: 'shop',
        name: 'web-b',
        endpoints: [{ addresses: '10.0.0.2' }],
      }),
    );
    await t.until('shop', 'web', sameIps(['10.0.0.1', '10.0.0.2']));
    update(api, webB, (o) => {
      (o.endpoints as Array<{ conditions: { ready: boolean } }>)[0]!.conditions.ready = false;
    });
    await t.until(
      'shop',
      'web',
      (b) => b?.endpoints.find((e) => e.addresses[0] === '10.0.0.2')?.ready === false,
    );
    api.delete('endpointslices', 'shop', 'web-b');
    await t.until('shop', 'web', sameIps(['10.0.0.1']));
  });

  it('merges a Service split over several slices, counting a duplicated endpoint once', async () => {
    api.create(
      'endpointslices',
      endpointSlice({
        service: 'split',
        namespace: 'shop',
        name: 'split-1',
        endpoints: [{ addresses: '10.1.0.1' }, { addresses: '10.1.0.2', ready: false, terminating: true }],
      }),
    );
    api.create(
      'endpointslices',
      endpointSlice({
        service: 'split',
        namespace: 'shop',
        name: 'split-2',
        endpoints: [{ addresses: '10.1.0.2' }, { addresses: '10.1.0.3' }],
      }),
    );
    const body = await t.until('shop', 'split', sameIps(['10.1.0.1', '10.1.0.2', '10.1.0.3']));
    const moved = body?.endpoints.find((e) => e.addresses[0] === '10.1.0.2');
    assert.equal(moved?.terminating, false, 'the non-terminating copy wins');
  });

  it('merges the IPv4 and IPv6 slices of a dual-stack Service', async () => {
    for (const slice of dualStackSlices(
      {
        service: 'dual',
        namespace: 'shop',
        endpoints: [{ addresses: '10.2.0.1' }, { addresses: '10.2.0.2' }],
      },
      ['fd00::1', 'fd00::2'],
    )) {
      api.create('endpointslices', slice);
    }
    const body = await t.until('shop', 'dual', (b) => (b?.endpoints.length ?? 0) === 4);
    assert.deepEqual(body?.endpoints.map((e) => e.addressType).sort(), ['IPv4', 'IPv4', 'IPv6', 'IPv6']);
  });

  it('keeps a named port that maps to different numbers on different pods', async () => {
    api.create(
      'endpointslices',
      endpointSlice({
        service: 'rolling',
        namespace: 'shop',
        name: 'rolling-old',
        endpoints: [{ addresses: '10.3.0.1' }],
        ports: [{ name: 'http', port: 8080 }],
      }),
    );
    api.create(
      'endpointslices',
      endpointSlice({
        service: 'rolling',
        namespace: 'shop',
        name: 'rolling-new',
        endpoints: [{ addresses: '10.3.0.2' }],
        ports: [{ name: 'http', port: 9090 }],
      }),
    );
    await t.until('shop', 'rolling', (b) => b?.endpoints.length === 2);
    const answer = await get(`${t.url}/v1/namespaces/shop/services/rolling?port=http`);
    assert.deepEqual(answer.json<ServiceBody>().targets, [
      { address: '10.3.0.1', port: 8080 },
      { address: '10.3.0.2', port: 9090 },
    ]);
  });

  it('routes to serving terminating endpoints only when none is ready', async () => {
    const slice = api.create(
      'endpointslices',
      endpointSlice({
        service: 'draining',
        namespace: 'shop',
        name: 'draining-a',
        endpoints: [
          { addresses: '10.4.0.1' },
          { addresses: '10.4.0.2', ready: false, serving: true, terminating: true },
        ],
      }),
    );
    await t.until('shop', 'draining', (b) => b?.endpoints.length === 2);
    const routable = async (): Promise<string[]> =>
      ips((await get(`${t.url}/v1/namespaces/shop/services/draining`)).json<ServiceBody>());
    assert.deepEqual(await routable(), ['10.4.0.1']);
    update(api, slice, (o) => {
      o.endpoints = [
        { addresses: ['10.4.0.2'], conditions: { ready: false, serving: true, terminating: true } },
      ];
    });
    await eventually(async () => ((await routable()).join() === '10.4.0.2' ? true : undefined));
  });

  it('tells a Service with zero endpoints from an unknown one, and marks headless Services', async () => {
    api.create(
      'services',
      headlessService({ name: 'idle', namespace: 'shop', ports: [{ name: 'db', port: 5432 }] }),
    );
    const idle = await t.until('shop', 'idle', (b) => b !== undefined);
    assert.deepEqual(idle?.endpoints, []);
    assert.equal(idle?.service?.headless, true);
    assert.deepEqual(idle?.service?.ports, [{ name: 'db', port: 5432, targetPort: 5432, protocol: 'TCP' }]);
    assert.equal((await get(`${t.url}/v1/namespaces/shop/services/nothing`)).status, 404);
  });

  it('answers an ExternalName Service with its external name', async () => {
    api.create(
      'services',
      externalNameService({ name: 'ext', namespace: 'shop', externalName: 'db.example.com' }),
    );
    const ext = await t.until('shop', 'ext', (b) => b !== undefined);
    assert.equal(ext?.service?.type, 'ExternalName');
    assert.equal(ext?.service?.externalName, 'db.example.com');
    assert.deepEqual(ext?.endpoints, []);
  });

  it('carries topology hints and the Service topology policy, a change of either changing the version', async () => {
    const near = api.create('services', service({ name: 'near', namespace: 'shop' }));
    const slice = api.create(
      'endpointslices',
      endpointSlice({
        service: 'near',
        namespace: 'shop',
        name: 'near-a',
        endpoints: [{ addresses: '10.7.0.1', zone: 'zone-a' }],
      }),
    );
    const first = await t.until('shop', 'near', (b) => ips(b).length === 1);
    assert.deepEqual(first?.endpoints[0]?.hints, null);
    update(api, slice, (o) => {
      (o['endpoints'] as Record<string, unknown>[])[0]!['hints'] = {
        forZones: [{ name: 'zone-a' }],
        forNodes: [{ name: 'node-1' }],
      };
    });
    const hinted = await t.until('shop', 'near', (b) => b?.endpoints[0]?.hints !== null);
    assert.deepEqual(hinted?.endpoints[0]?.hints, { forZones: ['zone-a'], forNodes: ['node-1'] });
    assert.notEqual(hinted?.version, first?.version);
    const withPolicy = structuredClone(near);
    (withPolicy['spec'] as Record<string, unknown>)['trafficDistribution'] = 'PreferSameNode';
    (withPolicy['metadata'] as Record<string, unknown>)['annotations'] = {
      'service.kubernetes.io/topology-mode': 'Auto',
    };
    api.update('services', withPolicy);
    const declared = await t.until('shop', 'near', (b) => b?.service?.trafficDistribution !== undefined);
    assert.equal(declared?.service?.trafficDistribution, 'PreferSameNode');
    assert.equal(declared?.service?.topologyMode, 'Auto');
    assert.notEqual(declared?.version, hinted?.version);
  });

  it('carries the Service port names and appProtocol', async () => {
    api.update(
      'services',
      service({
        name: 'web',
        namespace: 'shop',
        ports: [{ name: 'grpc', port: 9000, targetPort: 'grpc-port', appProtocol: 'kubernetes.io/h2c' }],
      }),
    );
    const web = await t.until('shop', 'web', (b) => b?.service?.ports[0]?.name === 'grpc');
    assert.deepEqual(web?.service?.ports, [
      {
        name: 'grpc',
        port: 9000,
        targetPort: 'grpc-port',
        protocol: 'TCP',
        appProtocol: 'kubernetes.io/h2c',
      },
    ]);
    const client = new TestClient(`127.0.0.1:${t.endpointd.grpcPort}`);
    try {
      const resolved = await client.unary<{ service: DecodedService }>('endpointd.v1.Discovery', 'Resolve', {
        namespace: 'shop',
        name: 'web',
      });
      assert.equal(resolved.service.version, web?.version);
      assert.equal(resolved.service.serviceInfo?.type, 'ClusterIP');
      assert.deepEqual(
        resolved.service.serviceInfo?.ports.map((p) => [p.name, p.port, p.targetPortName, p.appProtocol]),
        [['grpc', 9000, 'grpc-port', 'kubernetes.io/h2c']],
      );
    } finally {
      client.client.close();
    }
  });

  it('deletes a Service whose last slice and Service object are gone', async () => {
    api.create(
      'endpointslices',
      endpointSlice({
        service: 'brief',
        namespace: 'shop',
        name: 'brief-a',
        endpoints: [{ addresses: '10.5.0.1' }],
      }),
    );
    await t.until('shop', 'brief', sameIps(['10.5.0.1']));
    api.delete('endpointslices', 'shop', 'brief-a');
    await t.until('shop', 'brief', (b) => b === undefined);
  });

  it('relists on 410 and deletes what vanished while it was not watching', async () => {
    api.create(
      'endpointslices',
      endpointSlice({
        service: 'gone',
        namespace: 'shop',
        name: 'gone-a',
        endpoints: [{ addresses: '10.6.0.1' }],
      }),
    );
    await t.until('shop', 'gone', sameIps(['10.6.0.1']));
    const relists = api.requests.filter((r) => r.verb === 'list' && r.resource === 'endpointslices').length;
    // The watch breaks, the object is deleted meanwhile, and history is compacted: resuming must fail with 410.
    api.stall({ verb: 'watch', resource: 'endpointslices', phase: 'before-headers' });
    api.destroyWatchSockets();
    api.delete('endpointslices', 'shop', 'gone-a');
    api.delete('services', 'shop', 'web');
    api.delete('endpointslices', 'shop', 'web-a');
    api.compact();
    api.unstall();
    await t.until('shop', 'gone', (b) => b === undefined, 5000);
    await t.until('shop', 'web', (b) => b === undefined);
    assert.ok(
      api.requests.filter((r) => r.verb === 'list' && r.resource === 'endpointslices').length > relists,
      'relisted',
    );
    api.create('services', service({ name: 'web', namespace: 'shop' }));
    webA = api.create(
      'endpointslices',
      endpointSlice({
        service: 'web',
        namespace: 'shop',
        name: 'web-a',
        endpoints: [{ addresses: '10.0.0.1' }],
      }),
    );
    await t.until('shop', 'web', sameIps(['10.0.0.1']));
  });

  it('follows changes while watches are ended every few hundred milliseconds', async () => {
    const ender = setInterval(() => api.endAllWatches(), 300);
    try {
      for (let i = 1; i <= 10; i += 1) {
        update(api, webA, (o) => {
          o.endpoints = [{ addresses: [`10.0.1.${i}`], conditions: { ready: true } }];
        });
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      await t.until('shop', 'web', sameIps(['10.0.1.10']), 5000);
    } finally {
      clearInterval(ender);
    }
  });

  it('keeps a quiet watch open on bookmarks for three times its idle timeout, without reconnecting', async () => {
    // Its own endpointd, whose idle timeout (1 s) is short against the quiet period: without bookmarks (every
    // 200 ms here) it would cut and reopen its watches about once a second. The quiet period is the property
    // under test, so it is measured in idle timeouts rather than guessed.
    const quiet = await startKubeEndpointd(api, { watchIdleTimeoutMs: 1000 });
    try {
      await api.waitFor(() => api.openWatches >= 4, 5000, "the second endpointd's watches");
      const watches = () => api.requests.filter((r) => r.verb === 'watch').length;
      const watchesBefore = watches();
      await new Promise((resolve) => setTimeout(resolve, 3000));
      assert.equal(watches(), watchesBefore, 'no watch was reopened');
      update(api, webA, (o) => {
        o.endpoints = [{ addresses: ['10.0.2.1'], conditions: { ready: true } }];
      });
      await quiet.until('shop', 'web', sameIps(['10.0.2.1']));
      await t.until('shop', 'web', sameIps(['10.0.2.1']));
    } finally {
      await quiet.stop();
    }
  });

  it('does not lose an event split across TCP chunks', async () => {
    api.splitNextEvent({ pieces: 4, delayMs: 30 });
    update(api, webA, (o) => {
      o.endpoints = [{ addresses: ['10.0.3.1'], conditions: { ready: true } }];
    });
    await t.until('shop', 'web', sameIps(['10.0.3.1']));
  });

  it('recovers from a 500 on the watch and on the list', async () => {
    api.failNext({ verb: 'watch', resource: 'endpointslices', status: 500, times: 2 });
    api.failNext({ verb: 'list', resource: 'endpointslices', status: 500, times: 1 });
    api.endAllWatches();
    api.compact(); // force a relist after the failing watches
    update(api, webA, (o) => {
      o.endpoints = [{ addresses: ['10.0.4.1'], conditions: { ready: true } }];
    });
    await t.until('shop', 'web', sameIps(['10.0.4.1']), 8000);
  });

  it('serves the last known state while watches fail, marked stale in /readyz', async () => {
    api.failNext({ verb: 'any', resource: 'endpointslices', status: 503, times: 1000 });
    api.endAllWatches();
    const stale = await eventually(async () => {
      const detail = (await get(`${t.url}/readyz`)).json<{ sources: Array<{ error: string | null }> }>();
      return detail.sources[0]?.error?.includes('503') === true ? detail : undefined;
    }, 5000);
    assert.ok(stale);
    assert.deepEqual(ips(await t.lookup('shop', 'web')), ['10.0.4.1'], 'still served');
    assert.equal((await get(`${t.url}/readyz`)).status, 200, 'still ready: stale beats nothing');
    api.failNext({ verb: 'any', resource: 'endpointslices', status: 503, times: 0 });
  });
});

describe('Kubernetes source: recovery', () => {
  it('follows a watch that stalls after its headers (half-open), by reopening it', async () => {
    const api = await FakeApiServer.start();
    const slice = api.create(
      'endpointslices',
      endpointSlice({
        service: 'web',
        namespace: 'shop',
        name: 'web-a',
        endpoints: [{ addresses: '10.0.0.1' }],
      }),
    );
    const t = await startKubeEndpointd(api, { watchIdleTimeoutMs: 1000 });
    try {
      await api.waitForOpenWatches(2);
      api.stall({ verb: 'watch', resource: 'endpointslices', phase: 'after-headers' });
      api.endAllWatches();
      await new Promise((resolve) => setTimeout(resolve, 300));
      api.unstall();
      update(api, slice, (o) => {
        o.endpoints = [{ addresses: ['10.0.0.9'], conditions: { ready: true } }];
      });
      await t.until('shop', 'web', sameIps(['10.0.0.9']), 4000);
    } finally {
      await t.stop();
      await api.close();
    }
  });

  it('reports a 403 in /readyz and answers 503 until the first list, then syncs once the permission is fixed', async () => {
    const api = await FakeApiServer.start({
      tokens: { good: { resources: ['services'] } }, // no endpointslices yet
    });
    api.create(
      'endpointslices',
      endpointSlice({
        service: 'web',
        namespace: 'shop',
        name: 'web-a',
        endpoints: [{ addresses: '10.0.0.1' }],
      }),
    );
    const t = await startKubeEndpointd(api, {}, {}, { token: 'good', waitForSync: false });
    try {
      // The refused list has been tried (and reported) before anything is checked: no timed wait.
      const error = await eventually(async () => {
        const readyz = (await get(`${t.url}/readyz`)).json<{ sources: Array<{ error: string | null }> }>();
        return readyz.sources[0]?.error ?? undefined;
      }, 10_000);
      assert.match(error, /403: .*forbidden/);
      assert.equal((await get(`${t.url}/v1/services`)).status, 503, 'not ready before its first list');
      api.setTokens({ good: {} });
      await t.endpointd.synced;
      assert.deepEqual(ips(await t.lookup('shop', 'web')), ['10.0.0.1']);
    } finally {
      await t.stop();
      await api.close();
    }
  });

  it('serves stale state while the API server is down for 30 s, and converges once it is back', async () => {
    const api = await FakeApiServer.start();
    api.create(
      'endpointslices',
      endpointSlice({
        service: 'web',
        namespace: 'shop',
        name: 'web-a',
        endpoints: [{ addresses: '10.0.0.1' }],
      }),
    );
    const t = await startKubeEndpointd(api);
    try {
      await api.stopListening();
      const deadline = Date.now() + Number(process.env.DOWN_MS ?? 30_000);
      while (Date.now() < deadline) {
        assert.deepEqual(ips(await t.lookup('shop', 'web')), ['10.0.0.1'], 'stale state stays served');
        await new Promise((resolve) => setTimeout(resolve, 2000));
      }
      const readyz = (await get(`${t.url}/readyz`)).json<{ sources: Array<{ error: string | null }> }>();
      assert.ok(readyz.sources[0]?.error !== null, 'marked stale');
      // While it was down, the world moved on: one endpoint replaced, one Service gone.
      api.delete('endpointslices', 'shop', 'web-a');
      api.create(
        'endpointslices',
        endpointSlice({
          service: 'web',
          namespace: 'shop',
          name: 'web-b',
          endpoints: [{ addresses: '10.0.0.2' }],
        }),
      );
      await api.resumeListening();
      // A generous bound: how fast it converges is the benchmark's business (bench/), that it does is this test's.
      await t.until('shop', 'web', sameIps(['10.0.0.2']), 20_000);
      await eventually(async () => {
        const detail = (await get(`${t.url}/readyz`)).json<{ sources: Array<{ error: string | null }> }>();
        return detail.sources[0]?.error === null ? true : undefined;
      });
    } finally {
      await t.stop();
      await api.close();
    }
  });
});

describe('Kubernetes source: selectors and namespaces', () => {
  it('follows a label selector, a slice leaving it counting as a deletion', async () => {
    const api = await FakeApiServer.start();
    const slice = api.create(
      'endpointslices',
      endpointSlice({
        service: 'web',
        namespace: 'shop',
        name: 'web-a',
        labels: { tier: 'front' },
        endpoints: [{ addresses: '10.0.0.1' }],
      }),
    );
    api.create(
      'endpointslices',
      endpointSlice({
        service: 'db',
        namespace: 'shop',
        name: 'db-a',
        labels: { tier: 'back' },
        endpoints: [{ addresses: '10.0.9.1' }],
      }),
    );
    const t = await startKubeEndpointd(api, { labelSelector: 'tier=front' });
    try {
      assert.deepEqual(ips(await t.lookup('shop', 'web')), ['10.0.0.1']);
      assert.equal(await t.lookup('shop', 'db'), undefined);
      const moved = structuredClone(slice);
      moved.metadata.labels = { ...moved.metadata.labels, tier: 'back' };
      api.update('endpointslices', moved);
      await t.until('shop', 'web', (b) => b === undefined);
      const list = api.requests.find((r) => r.verb === 'list' && r.resource === 'endpointslices');
      assert.equal(list?.query.get('labelSelector'), 'tier=front');
    } finally {
      await t.stop();
      await api.close();
    }
  });

  it('watches only the namespaces it is given', async () => {
    const api = await FakeApiServer.start({ tokens: { ns: { namespaces: ['shop', 'billing'] } } });
    api.create(
      'endpointslices',
      endpointSlice({ service: 'web', namespace: 'shop', endpoints: [{ addresses: '10.0.0.1' }] }),
    );
    api.create(
      'endpointslices',
      endpointSlice({ service: 'api', namespace: 'billing', endpoints: [{ addresses: '10.0.1.1' }] }),
    );
    api.create(
      'endpointslices',
      endpointSlice({ service: 'x', namespace: 'secret', endpoints: [{ addresses: '10.0.2.1' }] }),
    );
    const t = await startKubeEndpointd(api, { namespaces: ['shop', 'billing'] }, {}, { token: 'ns' });
    try {
      const names = (await get(`${t.url}/v1/services`)).json<{ services: Array<{ namespace: string }> }>();
      assert.deepEqual(names.services.map((s) => s.namespace).sort(), ['billing', 'shop']);
      assert.ok(
        api.requests.every((r) => r.resource === undefined || r.namespace !== undefined),
        'no cluster-wide call',
      );
    } finally {
      await t.stop();
      await api.close();
    }
  });
});

describe('Kubernetes source: delete and recreate', () => {
  it('tells watchers a Service recreated under the same name went away and came back', async () => {
    const api = await FakeApiServer.start();
    api.create('services', service({ name: 'web', namespace: 'shop' }));
    const t = await startKubeEndpointd(api);
    // An eager subscriber, taking each change as it comes: a slower one may see the two coalesced into nothing,
    // since the content is the same before and after.
    const seen: string[] = [];
    const subscription = t.endpointd.store.subscribe(
      { kind: 'service', key: { namespace: 'shop', name: 'web' } },
      () => {
        for (let change = subscription.take(); change !== undefined; change = subscription.take()) {
          seen.push(
            change.current === undefined ? 'DELETED' : change.previous === undefined ? 'ADDED' : 'MODIFIED',
          );
        }
      },
    );
    try {
      api.stall({ verb: 'watch', resource: 'services', phase: 'before-headers' });
      api.destroyWatchSockets();
      api.delete('services', 'shop', 'web');
      api.create('services', service({ name: 'web', namespace: 'shop' }));
      api.compact();
      api.unstall();
      await eventually(() => (seen.length >= 2 ? true : undefined), 5000);
      assert.deepEqual(seen, ['DELETED', 'ADDED']);
    } finally {
      subscription.close();
      await t.stop();
      await api.close();
    }
  });
});

describe('Kubernetes source: legacy Endpoints', () => {
  it('serves core/v1 Endpoints, including a truncated one', async () => {
    const api = await FakeApiServer.start();
    api.create(
      'endpoints',
      endpoints({
        service: 'db',
        namespace: 'data',
        ready: [{ ip: '10.9.0.1' }],
        notReady: [{ ip: '10.9.0.2' }],
      }),
    );
    api.create('endpoints', truncatedEndpoints({ service: 'big', namespace: 'data', total: 1500 }));
    api.create('services', service({ name: 'db', namespace: 'data' }));
    const t = await startKubeEndpointd(api, { resource: 'endpoints' });
    try {
      const db = await t.lookup('data', 'db');
      assert.deepEqual(
        db?.endpoints.map((e) => [e.addresses[0], e.ready]),
        [
          ['10.9.0.1', true],
          ['10.9.0.2', false],
        ],
      );
      assert.ok(db?.service !== null);
      const big = await t.lookup('data', 'big');
      assert.equal(big?.endpoints.length, 1000);
      assert.equal(big?.truncated, true);
      assert.ok(api.requests.some((r) => r.resource === 'endpoints' && r.verb === 'watch'));
      assert.ok(
        !api.requests.some((r) => r.resource === 'endpointslices'),
        'never reads slices in this mode',
      );
      api.update('endpoints', endpoints({ service: 'db', namespace: 'data', ready: [{ ip: '10.9.0.3' }] }));
      await t.until('data', 'db', sameIps(['10.9.0.3']));
      api.delete('endpoints', 'data', 'db');
      api.delete('services', 'data', 'db');
      await t.until('data', 'db', (b) => b === undefined);
    } finally {
      await t.stop();
      await api.close();
    }
  });
});

describe('Kubernetes source: in-cluster configuration', () => {
  it('reads the service account over HTTPS with the generated CA', async () => {
    const api = await FakeApiServer.start({ tls: true, tokens: { 'sa-token': {} } });
    api.create(
      'endpointslices',
      endpointSlice({ service: 'web', namespace: 'shop', endpoints: [{ addresses: '10.0.0.1' }] }),
    );
    const dir = await mkdtemp(join(tmpdir(), 'endpointd-incluster-'));
    const env = await api.writeInClusterFiles(dir, 'sa-token');
    const store = new EndpointStore({ encodedCacheBytes: 1 << 20 });
    // client-node reads the service host and port from the process environment itself.
    const saved = { host: process.env.KUBERNETES_SERVICE_HOST, port: process.env.KUBERNETES_SERVICE_PORT };
    Object.assign(process.env, env);
    const { config, origin } = loadKubeConfig({ env: { ...env }, inClusterPrefix: dir });
    restoreEnv('KUBERNETES_SERVICE_HOST', saved.host);
    restoreEnv('KUBERNETES_SERVICE_PORT', saved.port);
    const source = new KubernetesSource({
      config,
      store,
      logger: createLogger('silent'),
      namespaces: [],
      resource: 'endpointslices',
    });
    try {
      assert.equal(origin, 'in-cluster service account');
      await source.start();
      assert.deepEqual(
        store.get({ namespace: 'shop', name: 'web' })?.endpoints.map((e) => e.addresses[0]),
        ['10.0.0.1'],
      );
      assert.ok(api.requests.every((r) => r.token === 'sa-token'));
    } finally {
      await source.stop();
      await api.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses to start without any credentials, saying what it tried', () => {
    assert.throws(
      () => loadKubeConfig({ env: {}, kubeconfig: undefined }),
      /no Kubernetes credentials found/,
    );
    assert.throws(() => loadKubeConfig({ kubeconfig: '/nonexistent/kubeconfig' }), /no such file/);
  });
});

function restoreEnv(name: string, value: string | undefined): void {
  if (value === undefined) delete process.env[name];
  else process.env[name] = value;
}
