// Round 10: the seams of filing (src/sources/service-assembler.ts: a slice kept as its metadata and converted
// endpoints, a Service as its metadata and ServiceInfo; named clusters stamping `cluster` at conversion), attacked
// from outside with real servers on loopback: fake kube-apiservers and the real client-node.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { endpointSlice, FakeApiServer, service } from './support/fake-apiserver/index.ts';
import { startKubeEndpointd } from './support/kube-endpointd.ts';
import { startMulticlusterEndpointd } from './support/multicluster-endpointd.ts';
import { sliceManifest, startTestEndpointd } from './support/endpointd.ts';
import { eventually, get } from './support/http.ts';
import type { ServiceBody } from '../src/api/rest/wire.ts';

const NS = 'shop';

function aged(name: string, createdAt: string, type?: 'NodePort'): ReturnType<typeof service> {
  const object = service({ name, namespace: NS, ...(type === undefined ? {} : { type }) });
  return { ...object, metadata: { name, namespace: NS, creationTimestamp: createdAt } };
}

describe('named clusters: a Service recreated between two watches', () => {
  // Mutation: in KubernetesSource#replace, note the age after #set (as the fix does) reverted to before it.
  it("keeps the recreated Service's age for oldest-wins, not none", async () => {
    const [east, west] = await Promise.all([FakeApiServer.start(), FakeApiServer.start()]);
    east.create('services', aged('api', '2019-01-01T00:00:00Z'));
    const t = await startMulticlusterEndpointd([
      { name: 'east', api: east },
      { name: 'west', api: west },
    ]);
    try {
      await t.until(NS, 'api', (b) => b?.service?.type === 'ClusterIP');
      // Deleted and created again (a new uid) while east's watches are down: the relist sees it.
      east.stall({ verb: 'watch', resource: 'services', phase: 'before-headers' });
      east.destroyWatchSockets();
      east.delete('services', NS, 'api');
      east.create('services', aged('api', '2025-01-01T00:00:00Z', 'NodePort'));
      east.compact();
      east.unstall();
      await t.until(NS, 'api', (b) => b?.service?.type === 'NodePort', { timeoutMs: 20_000 });
      // A younger Service of the same name in west, watched: east's (2025-01) is the older one and wins.
      west.create('services', aged('api', '2025-06-01T00:00:00Z'));
      const body = await t.until(NS, 'api', (b) => b?.clusters?.length === 2, { timeoutMs: 20_000 });
      assert.equal(body?.service?.type, 'NodePort', "east's recreated Service is the older one");
      assert.deepEqual(body?.conflicts, [{ field: 'type', servedFrom: 'east', ignored: ['west'] }]);
    } finally {
      await t.stop();
      await Promise.all([east.close(), west.close()]);
    }
  });
});

/** The first address of each endpoint the file source serves for shop/`name`, sorted; undefined on 404. */
async function addresses(url: string, name: string): Promise<string[] | undefined> {
  const answer = await get(`${url}/v1/namespaces/${NS}/services/${name}?endpoints=all`);
  if (answer.status === 404) return undefined;
  return answer
    .json<ServiceBody>()
    .endpoints.map((e) => e.addresses[0] ?? '')
    .sort();
}

describe('file source: one file defining an object in two documents', () => {
  const first = sliceManifest(NS, 'web', ['10.0.0.1']);
  const second = sliceManifest(NS, 'web', ['10.0.0.2']);
  // The marker: a Service the same edit brings, seen only once the edit is applied.
  const marker = sliceManifest(NS, 'marker', ['10.9.9.9']);

  // Mutation (kills both): ServedFiles.apply without the re-put of the last definitions after an edit.
  it('serves the remaining definition once the other document is removed', async () => {
    const t = await startTestEndpointd({ 'web.yaml': `${first}---\n${second}` });
    try {
      assert.deepEqual(await addresses(t.url, 'web'), ['10.0.0.2'], 'the last definition, as loaded');
      await t.write('web.yaml', `${first}---\n${marker}`);
      await eventually(
        async () => ((await addresses(t.url, 'marker')) === undefined ? undefined : true),
        20_000,
      );
      assert.deepEqual(await addresses(t.url, 'web'), ['10.0.0.1'], 'the file still defines it');
    } finally {
      await t.stop();
    }
  });

  it('serves the last definition after an edit as a fresh load of the file does', async () => {
    // The second document ends the file before and after: the same piece, kept; the first is new.
    const t = await startTestEndpointd({
      'web.yaml': `${sliceManifest(NS, 'was', ['10.8.8.8'])}---\n${second}`,
    });
    try {
      assert.deepEqual(await addresses(t.url, 'web'), ['10.0.0.2']);
      await t.write('web.yaml', `${first}---\n${marker}---\n${second}`);
      await eventually(
        async () => ((await addresses(t.url, 'marker')) === undefined ? undefined : true),
        20_000,
      );
      assert.deepEqual(await addresses(t.url, 'web'), ['10.0.0.2'], 'the later document wins, as on load');
    } finally {
      await t.stop();
    }
  });
});

describe('Kubernetes source: a Service with endpoints recreated between two watches', () => {
  // Mutation: KubernetesSource#set publishing the removal of the old Service object through the assembler (which
  // still holds its slices) rather than as the Service's deletion.
  it('is reported as deleted, then added, as docs/kubernetes-source.md says', async () => {
    const api = await FakeApiServer.start();
    const slice = (name: string, ip: string, owner = 'web'): ReturnType<typeof endpointSlice> =>
      endpointSlice({
        service: owner,
        namespace: NS,
        name,
        endpoints: [{ addresses: [ip] }],
        ports: [{ name: 'http', port: 8080 }],
      });
    api.create('services', service({ name: 'web', namespace: NS }));
    api.create('endpointslices', slice('web-a', '10.0.0.1'));
    const t = await startKubeEndpointd(api);
    const seen: string[] = [];
    // An eager subscriber, taking each change as it comes (a slower one may see changes coalesced).
    const subscription = t.endpointd.store.subscribe(
      { kind: 'service', key: { namespace: NS, name: 'web' } },
      () => {
        for (let change = subscription.take(); change !== undefined; change = subscription.take()) {
          seen.push(
            change.current === undefined ? 'DELETED' : change.previous === undefined ? 'ADDED' : 'MODIFIED',
          );
        }
      },
    );
    try {
      await t.until(NS, 'web', (b) => b?.endpoints.length === 1);
      // Deleted with its slice and created again with a new one while the watches are down: the relists see it.
      api.stall({ verb: 'watch', resource: 'services', phase: 'before-headers' });
      api.stall({ verb: 'watch', resource: 'endpointslices', phase: 'before-headers' });
      api.destroyWatchSockets();
      api.delete('endpointslices', NS, 'web-a');
      api.delete('services', NS, 'web');
      api.create('services', service({ name: 'web', namespace: NS }));
      api.create('endpointslices', slice('web-b', '10.0.0.2'));
      api.compact();
      api.unstall();
      // The marker: a Service and its slice created after, served once both collections are relisted.
      api.create('services', service({ name: 'marker', namespace: NS }));
      api.create('endpointslices', slice('marker-a', '10.9.9.9', 'marker'));
      await t.until(NS, 'marker', (b) => b?.service != null && b.endpoints.length === 1, 20_000);
      const body = await t.lookup(NS, 'web');
      assert.deepEqual(
        body?.endpoints.map((e) => e.addresses[0]),
        ['10.0.0.2'],
      );
      const deleted = seen.indexOf('DELETED');
      assert.ok(deleted >= 0, `changes seen: ${seen.join(', ')}`);
      assert.equal(seen[deleted + 1], 'ADDED', `changes seen: ${seen.join(', ')}`);
    } finally {
      subscription.close();
      await t.stop();
      await api.close();
    }
  });
});
