// Attack on round 6's heap compaction between the first sync and ready (compose/endpointd.ts, readiness.ts hold()):
// the two doors' readiness (/readyz and grpc.health.v1 Check) seen from outside over a whole life whose first list
// is held by the API server, and a shutdown that begins while that list is still on its way and ends after it
// arrived. Real endpointd against the fake API server, real HTTP and gRPC clients on loopback.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { defaultKubernetesSource } from '../src/config/index.ts';
import { startEndpointd, type Endpointd } from '../src/main.ts';
import { createLogger } from '../src/observability/logger.ts';
import { FakeApiServer } from './support/fake-apiserver/index.ts';
import { TEST_CLUSTER_SETTINGS } from './support/multicluster-endpointd.ts';
import { TestClient } from './support/grpc-discovery.ts';
import { TEST_CONFIG } from './support/endpointd.ts';
import { get } from './support/http.ts';
import { LogLines } from './support/log-lines.ts';

async function start(
  api: FakeApiServer,
  logs: LogLines,
  shutdownDelayMs: number,
): Promise<{ endpointd: Endpointd; dir: string; grpc: TestClient; url: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'endpointd-attack6-ready-'));
  const kubeconfig = join(dir, 'kubeconfig');
  await writeFile(kubeconfig, api.kubeconfigYaml());
  const endpointd = await startEndpointd(
    { ...TEST_CONFIG, shutdownDelayMs, sources: [{ ...defaultKubernetesSource(), kubeconfig }] },
    createLogger('info', logs),
  );
  return {
    endpointd,
    dir,
    grpc: new TestClient(`127.0.0.1:${endpointd.grpcPort}`),
    url: `http://127.0.0.1:${endpointd.httpAddress.port}`,
  };
}

/** Both doors' answer now: /readyz's status and ready field, gRPC health's status of the whole server. */
async function doors(url: string, grpc: TestClient): Promise<{ rest: boolean; grpc: boolean }> {
  const readyz = await get(`${url}/readyz`);
  const body = readyz.json<{ ready: boolean }>();
  assert.equal(readyz.status === 200, body.ready, `/readyz status ${readyz.status} and body agree`);
  const health = await grpc.healthCheck('');
  return { rest: body.ready, grpc: health.status === 'SERVING' };
}

describe('readiness across the heap compaction, seen from both doors', () => {
  it('neither door is ready before the first list and the compaction, both are after, none once draining', async () => {
    const api = await FakeApiServer.start();
    api.stall({ verb: 'list', phase: 'after-headers' });
    const logs = new LogLines();
    const t = await start(api, logs, 300);
    try {
      await api.waitForRequest((r) => r.verb === 'list');
      // Held: the list's headers are out, its body is not.
      for (let i = 0; i < 5; i++) assert.deepEqual(await doors(t.url, t.grpc), { rest: false, grpc: false });
      api.unstall();
      await t.endpointd.synced;
      const messages = logs.lines.map((l) => l.msg);
      assert.ok(messages.indexOf('heap compacted after the first sync') < messages.indexOf('ready'));
      assert.deepEqual(await doors(t.url, t.grpc), { rest: true, grpc: true });
      const stopping = t.endpointd.stop();
      // The drain delay: both say not ready at once, while the servers still answer.
      assert.deepEqual(await doors(t.url, t.grpc), { rest: false, grpc: false });
      await stopping;
    } finally {
      t.grpc.close();
      await t.endpointd.stop();
      await api.close();
      await rm(t.dir, { recursive: true, force: true });
    }
  });

  it('a shutdown that begins during the first list and outlasts it never says ready nor compacts', async () => {
    const api = await FakeApiServer.start();
    api.stall({ verb: 'list', phase: 'after-headers' });
    const logs = new LogLines();
    // A drain delay long enough for the held list to arrive in full while the server drains.
    const t = await start(api, logs, 800);
    try {
      await api.waitForRequest((r) => r.verb === 'list');
      const stopping = t.endpointd.stop();
      assert.deepEqual(await doors(t.url, t.grpc), { rest: false, grpc: false });
      api.unstall();
      await t.endpointd.synced;
      assert.ok(t.endpointd.readiness.synced, 'the list arrived while draining');
      assert.deepEqual(await doors(t.url, t.grpc), { rest: false, grpc: false });
      await stopping;
      const messages = logs.lines.map((l) => l.msg);
      assert.ok(messages.includes('draining'));
      assert.ok(!messages.includes('ready'), messages.join(' | '));
      assert.ok(!messages.includes('heap compacted after the first sync'), messages.join(' | '));
    } finally {
      t.grpc.close();
      await t.endpointd.stop();
      await api.close();
      await rm(t.dir, { recursive: true, force: true });
    }
  });

  it('two clusters, one never listed: ready once its wait is over, compacted once, and no second time when it lists', async () => {
    const east = await FakeApiServer.start();
    const west = await FakeApiServer.start();
    west.stall({ verb: 'list', phase: 'before-headers' });
    const dir = await mkdtemp(join(tmpdir(), 'endpointd-attack6-multi-'));
    const logs = new LogLines();
    const sources = [];
    for (const [name, api] of [
      ['east', east],
      ['west', west],
    ] as const) {
      const kubeconfig = join(dir, `${name}.kubeconfig`);
      await writeFile(kubeconfig, api.kubeconfigYaml());
      sources.push({
        ...defaultKubernetesSource(),
        kubeconfig,
        cluster: { ...TEST_CLUSTER_SETTINGS, readyTimeoutMs: 1500, name, region: undefined },
      });
    }
    const endpointd = await startEndpointd({ ...TEST_CONFIG, sources }, createLogger('info', logs));
    const url = `http://127.0.0.1:${endpointd.httpAddress.port}`;
    const grpc = new TestClient(`127.0.0.1:${endpointd.grpcPort}`);
    try {
      await east.waitFor(() => east.requests.some((r) => r.verb === 'watch'), 5000, "east's watch");
      // East listed and watching, west held: neither door says ready while west's wait runs.
      assert.deepEqual(await doors(url, grpc), { rest: false, grpc: false });
      await endpointd.synced;
      assert.deepEqual(await doors(url, grpc), { rest: true, grpc: true });
      west.unstall();
      await west.waitFor(() => west.requests.some((r) => r.verb === 'watch'), 10_000, "west's watch");
      assert.deepEqual(await doors(url, grpc), { rest: true, grpc: true });
      const messages = logs.lines.map((l) => l.msg);
      assert.equal(messages.filter((m) => m === 'heap compacted after the first sync').length, 1);
      assert.equal(messages.filter((m) => m === 'ready').length, 1);
    } finally {
      grpc.close();
      await endpointd.stop();
      await Promise.all([east.close(), west.close()]);
      await rm(dir, { recursive: true, force: true });
    }
  });
});
