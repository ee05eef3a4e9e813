// Round 10: the seams of filing (src/sources/service-assembler.ts: a slice kept as its metadata and converted
// endpoints, a Service as its metadata and ServiceInfo; named clusters stamping `cluster` at conversion), attacked
// from outside with real servers on loopback: fake kube-apiservers and the real client-node.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FakeApiServer, service } from './support/fake-apiserver/index.ts';
import { startMulticlusterEndpointd } from './support/multicluster-endpointd.ts';

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
      await t.until(NS, 'api', (b) => b?.service?.type === 'NodePort');
      // A younger Service of the same name in west, watched: east's (2025-01) is the older one and wins.
      west.create('services', aged('api', '2025-06-01T00:00:00Z'));
      const body = await t.until(NS, 'api', (b) => b?.clusters?.length === 2);
      assert.equal(body?.service?.type, 'NodePort', "east's recreated Service is the older one");
      assert.deepEqual(body?.conflicts, [{ field: 'type', servedFrom: 'east', ignored: ['west'] }]);
    } finally {
      await t.stop();
      await Promise.all([east.close(), west.close()]);
    }
  });
});
