// Which Services of several clusters are merged (issue 13 item 2, export modes): every same-named Service by
// default; with --cluster-export=annotation only those carrying the annotation; with --cluster-export=serviceexport
// only those a ServiceExport (multicluster.x-k8s.io/v1alpha1, watched read-only) of the same name exports, per
// cluster — so a cluster's endpoints join and leave a Service as its export comes and goes.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FakeApiServer, service, serviceExport } from './support/fake-apiserver/index.ts';
import { get } from './support/http.ts';
import { startMulticlusterEndpointd, taggedAddresses, shopSlice } from './support/multicluster-endpointd.ts';
import type { ReadinessDetail } from '../src/observability/readiness.ts';

const NS = 'shop';

const slice = shopSlice;

function annotated(name: string, annotations: Record<string, string>): ReturnType<typeof service> {
  const object = service({ name, namespace: NS });
  return { ...object, metadata: { ...object.metadata, annotations } };
}

describe('export modes', () => {
  it('serviceexport: only what a ServiceExport exports, per cluster, following its creation and deletion', async () => {
    const [east, west] = await Promise.all([FakeApiServer.start(), FakeApiServer.start()]);
    for (const api of [east, west]) {
      api.create('services', service({ name: 'web', namespace: NS }));
      api.create('services', service({ name: 'private', namespace: NS }));
    }
    east.create('endpointslices', slice('web', ['10.1.0.1']));
    west.create('endpointslices', slice('web', ['10.2.0.1']));
    east.create('endpointslices', slice('private', ['10.1.9.1']));
    east.create('serviceexports', serviceExport({ name: 'web', namespace: NS }));
    const t = await startMulticlusterEndpointd(
      [
        { name: 'east', api: east },
        { name: 'west', api: west },
      ],
      { settings: { export: { mode: 'serviceexport' } } },
    );
    try {
      assert.deepEqual(taggedAddresses(await t.lookup(NS, 'web')), ['east 10.1.0.1']);
      assert.equal(await t.lookup(NS, 'private'), undefined, 'not exported anywhere: not served');
      west.create('serviceexports', serviceExport({ name: 'web', namespace: NS }));
      await t.until(NS, 'web', (b) => taggedAddresses(b).join() === 'east 10.1.0.1,west 10.2.0.1');
      east.delete('serviceexports', NS, 'web');
      const westOnly = await t.until(NS, 'web', (b) => taggedAddresses(b).join() === 'west 10.2.0.1');
      assert.deepEqual(
        westOnly?.clusters?.map((c) => c.name),
        ['west'],
      );
      west.delete('serviceexports', NS, 'web');
      await t.until(NS, 'web', (b) => b === undefined);
      // It was watched, never written: endpointd asks for list and watch only.
      const verbs = new Set(
        [...east.requests, ...west.requests]
          .filter((r) => r.resource === 'serviceexports')
          .map((r) => r.verb),
      );
      assert.deepEqual([...verbs].sort(), ['list', 'watch']);
    } finally {
      await t.stop();
      await Promise.all([east.close(), west.close()]);
    }
  });

  it('serviceexport without the RBAC to read ServiceExports: that cluster is reported with the 403, the others served', async () => {
    const east = await FakeApiServer.start();
    const west = await FakeApiServer.start({
      tokens: {
        reader: {
          user: 'system:serviceaccount:endpointd-remote:endpointd-remote-reader',
          resources: ['endpointslices', 'services'],
        },
      },
    });
    east.create('endpointslices', slice('web', ['10.1.0.1']));
    east.create('serviceexports', serviceExport({ name: 'web', namespace: NS }));
    west.create('endpointslices', slice('web', ['10.2.0.1']));
    const t = await startMulticlusterEndpointd(
      [
        { name: 'east', api: east },
        { name: 'west', api: west, token: 'reader' },
      ],
      { settings: { export: { mode: 'serviceexport' }, readyTimeoutMs: 1000 } },
    );
    try {
      assert.deepEqual(taggedAddresses(await t.lookup(NS, 'web')), ['east 10.1.0.1']);
      const detail = (await get(`${t.url}/readyz`)).json<ReadinessDetail>();
      assert.equal(detail.ready, true);
      const westEntry = detail.sources.find((s) => s.cluster?.name === 'west');
      assert.deepEqual(westEntry?.cluster, { name: 'west', listed: false, stale: true });
      assert.match(westEntry?.error ?? '', /403|forbidden/i);
      assert.match(westEntry?.error ?? '', /serviceexports/);
    } finally {
      await t.stop();
      await Promise.all([east.close(), west.close()]);
    }
  });

  it('annotation: only Services that carry the export annotation, per cluster', async () => {
    const [east, west] = await Promise.all([FakeApiServer.start(), FakeApiServer.start()]);
    east.create('services', annotated('web', { 'mc.example/global': 'true' }));
    west.create('services', annotated('web', {}));
    east.create('endpointslices', slice('web', ['10.1.0.1']));
    west.create('endpointslices', slice('web', ['10.2.0.1']));
    const t = await startMulticlusterEndpointd(
      [
        { name: 'east', api: east },
        { name: 'west', api: west },
      ],
      { settings: { export: { mode: 'annotation', key: 'mc.example/global', value: 'true' } } },
    );
    try {
      assert.deepEqual(taggedAddresses(await t.lookup(NS, 'web')), ['east 10.1.0.1']);
      west.update('services', annotated('web', { 'mc.example/global': 'true' }));
      await t.until(NS, 'web', (b) => taggedAddresses(b).length === 2);
      east.update('services', annotated('web', { 'mc.example/global': 'no' }));
      await t.until(NS, 'web', (b) => taggedAddresses(b).join() === 'west 10.2.0.1');
    } finally {
      await t.stop();
      await Promise.all([east.close(), west.close()]);
    }
  });
});
