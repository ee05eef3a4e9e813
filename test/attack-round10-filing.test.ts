// Round 10: the seams of filing (src/sources/service-assembler.ts: a slice kept as its metadata and converted
// endpoints, a Service as its metadata and ServiceInfo; named clusters stamping `cluster` at conversion), attacked
// from outside with real servers on loopback: fake kube-apiservers and the real client-node.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FakeApiServer, service } from './support/fake-apiserver/index.ts';
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
