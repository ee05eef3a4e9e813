// `kubectl get svc,endpointslices -o yaml > file` is accepted as a manifest: a List of several kinds whose Services
// give the `service` part of each answer exactly as the Kubernetes source gives it. Checked by serving the same
// objects both ways — the real Kubernetes source against the fake API server, and the file source on the List
// written from them — and comparing the REST answers whole (versions included: they hash the content).
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { stringify } from 'yaml';
import type { ServiceBody } from '../src/api/rest/wire.ts';
import { createLogger } from '../src/observability/logger.ts';
import { FileSource } from '../src/sources/file/file-source.ts';
import { EndpointStore } from '../src/store/endpoint-store.ts';
import {
  endpointSlice,
  externalNameService,
  FakeApiServer,
  headlessService,
  podIPv4,
  service,
  type KubeObject,
} from './support/fake-apiserver/index.ts';
import { startTestEndpointd } from './support/endpointd.ts';
import { get } from './support/http.ts';
import { startKubeEndpointd } from './support/kube-endpointd.ts';
import { LogLines } from './support/log-lines.ts';

const NS = 'shop';
const SERVICES = ['web', 'db', 'ext', 'np', 'lonely'];

function cluster(): { services: KubeObject[]; slices: KubeObject[] } {
  return {
    services: [
      service({
        name: 'web',
        namespace: NS,
        ports: [
          { name: 'http', port: 80, targetPort: 'http-web', appProtocol: 'http' },
          { name: 'grpc', port: 9000, targetPort: 9000, appProtocol: 'kubernetes.io/h2c' },
        ],
      }),
      headlessService({ name: 'db', namespace: NS, ports: [{ name: 'pg', port: 5432 }] }),
      externalNameService({ name: 'ext', namespace: NS, externalName: 'db.example.com' }),
      service({ name: 'np', namespace: NS, type: 'NodePort', ports: [{ port: 8443, nodePort: 30443 }] }),
      service({ name: 'lonely', namespace: NS }),
    ],
    slices: [
      endpointSlice({
        service: 'web',
        namespace: NS,
        name: 'web-abcde',
        ports: [
          { name: 'http', port: 8080, appProtocol: 'http' },
          { name: 'grpc', port: 9000, appProtocol: 'kubernetes.io/h2c' },
        ],
        endpoints: [
          { addresses: podIPv4(1), zone: 'a', pod: 'web-1' },
          { addresses: podIPv4(2), ready: false, zone: 'b', pod: 'web-2' },
        ],
      }),
      endpointSlice({
        service: 'db',
        namespace: NS,
        name: 'db-fghij',
        headless: true,
        ports: [{ name: 'pg', port: 5432 }],
        endpoints: [{ addresses: podIPv4(3), hostname: 'db-0', pod: 'db-0' }],
      }),
      endpointSlice({
        service: 'np',
        namespace: NS,
        name: 'np-klmno',
        ports: [{ port: 8443 }],
        endpoints: [{ addresses: podIPv4(4), pod: 'np-1' }],
      }),
    ],
  };
}

/** What `kubectl get svc,endpointslices,deploy,cm -o yaml` prints: one List, items carrying kind and apiVersion. */
function kubectlList(objects: readonly KubeObject[]): string {
  return stringify({
    apiVersion: 'v1',
    kind: 'List',
    metadata: { resourceVersion: '' },
    items: [
      ...objects,
      { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', namespace: NS }, spec: {} },
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cfg', namespace: NS }, data: { a: 'b' } },
    ],
  });
}

describe('file source, kubectl output', () => {
  it('serves a kubectl List exactly as the Kubernetes source serves the same objects', async () => {
    const api = await FakeApiServer.start();
    const { services, slices } = cluster();
    const stored = [
      ...services.map((s) => api.create('services', s)),
      ...slices.map((s) => api.create('endpointslices', s)),
    ];
    const kube = await startKubeEndpointd(api);
    const files = await startTestEndpointd({ 'kubectl-output.yaml': kubectlList(stored) });
    try {
      for (const name of SERVICES) {
        const path = `/v1/namespaces/${NS}/services/${name}?endpoints=all`;
        const fromKube = await get(`${kube.url}${path}`);
        const fromFile = await get(`${files.url}${path}`);
        assert.equal(fromKube.status, 200, `${name} from Kubernetes: ${fromKube.text}`);
        assert.equal(fromFile.status, 200, `${name} from the file: ${fromFile.text}`);
        assert.deepEqual(fromFile.json<ServiceBody>(), fromKube.json<ServiceBody>(), name);
      }
      const web = (await get(`${files.url}/v1/namespaces/${NS}/services/web`)).json<ServiceBody>();
      assert.deepEqual(
        web.service?.ports.map((p) => [p.name, p.port, p.targetPort, p.appProtocol]),
        [
          ['grpc', 9000, 9000, 'kubernetes.io/h2c'],
          ['http', 80, 'http-web', 'http'],
        ],
      );
      const ext = (await get(`${files.url}/v1/namespaces/${NS}/services/ext`)).json<ServiceBody>();
      assert.equal(ext.service?.type, 'ExternalName');
      assert.equal(ext.service?.externalName, 'db.example.com');
      const db = (await get(`${files.url}/v1/namespaces/${NS}/services/db`)).json<ServiceBody>();
      assert.equal(db.service?.headless, true);
    } finally {
      await files.stop();
      await kube.stop();
      await api.close();
    }
  });

  it('skips other kinds with one info line naming each kind and position, never refusing the file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'endpointd-kubectl-'));
    const { services, slices } = cluster();
    await writeFile(join(dir, 'all.yaml'), kubectlList([...services, ...slices]));
    const logs = new LogLines();
    const store = new EndpointStore({ encodedCacheBytes: 1 << 20 });
    const source = new FileSource({ path: dir, store, logger: createLogger('info', logs) });
    try {
      await source.start();
      assert.deepEqual(
        store
          .list()
          .map((s) => s.name)
          .sort(),
        [...SERVICES].sort(),
      );
      assert.equal(source.status().problemCount, 0);
      const skipped = logs.withMessage('skipping objects of kinds endpointd does not serve');
      assert.equal(skipped.length, 1);
      assert.equal(skipped[0]?.file, join(dir, 'all.yaml'));
      assert.deepEqual(skipped[0]?.skipped, [
        { kind: 'Deployment', document: 1, at: `items.${services.length + slices.length}` },
        { kind: 'ConfigMap', document: 1, at: `items.${services.length + slices.length + 1}` },
      ]);
      assert.equal(skipped[0]?.level, 30, 'info');
    } finally {
      await source.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
