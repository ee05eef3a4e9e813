// The one memory-reducing collection after the first sync (src/observability/heap-compaction.ts): it gives back the
// young generation that loading grew, it works without --expose-gc and leaves no global gc behind, and endpointd
// runs it once, between its first sync and reporting ready — not at all when stopped before that sync.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { startEndpointd } from '../src/main.ts';
import { createLogger } from '../src/observability/logger.ts';
import { LogLines } from './support/log-lines.ts';
import { TEST_CONFIG } from './support/endpointd.ts';
import { FakeApiServer } from './support/fake-apiserver/index.ts';
import { defaultKubernetesSource } from '../src/config/index.ts';

const run = promisify(execFile);
const MODULE = new URL('../src/observability/heap-compaction.ts', import.meta.url).href;

/** In a fresh process with endpointd's production young-generation cap: churn as a first list does, then compact. */
const CHILD = `
import { getHeapSpaceStatistics } from 'node:v8';
const { compactHeap } = await import(${JSON.stringify(MODULE)});
const newSpace = () => getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size;
let kept = [];
for (let i = 0; i < 2_000_000; i++) {
  kept.push({ i, text: 'item-' + i });
  if (kept.length > 200_000) kept = [];
}
kept = null;
const before = newSpace();
const result = compactHeap();
console.log(JSON.stringify({ before, after: newSpace(), result, globalGc: typeof globalThis.gc }));
`;

describe('heap compaction after the first sync', () => {
  it('gives back the young generation grown by loading, without --expose-gc, leaving no global gc', async () => {
    const { stdout } = await run(
      process.execPath,
      ['--max-semi-space-size=16', '--input-type=module', '-e', CHILD],
      { timeout: 60_000 },
    );
    const out = JSON.parse(stdout) as {
      before: number;
      after: number;
      result: { rssBefore: number; rssAfter: number; ms: number };
      globalGc: string;
    };
    assert.ok(out.before >= 16 * 2 ** 20, `the churn grew the young generation (${out.before} bytes)`);
    assert.ok(out.after <= 4 * 2 ** 20, `compacted to ${out.after} bytes`);
    assert.ok(
      out.result.rssAfter < out.result.rssBefore - 8 * 2 ** 20,
      `RSS ${out.result.rssBefore} → ${out.result.rssAfter}`,
    );
    assert.equal(out.globalGc, 'undefined', 'no gc() handed to the rest of the process');
  });

  it('endpointd compacts once, after its first sync and before it reports ready; a server stopped unsynced never', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'endpointd-compaction-'));
    const api = await FakeApiServer.start();
    const kubeconfig = join(dir, 'kubeconfig');
    await writeFile(kubeconfig, api.kubeconfigYaml());
    const compacted = (logs: LogLines) => logs.withMessage('heap compacted after the first sync');
    try {
      const logs = new LogLines();
      const endpointd = await startEndpointd(
        { ...TEST_CONFIG, sources: [{ kind: 'file', path: dir }] },
        createLogger('info', logs),
      );
      await endpointd.synced;
      const messages = logs.lines.map((l) => l.msg);
      assert.equal(compacted(logs).length, 1);
      assert.ok(
        messages.indexOf('heap compacted after the first sync') < messages.indexOf('ready'),
        messages.join(' | '),
      );
      const [line] = compacted(logs);
      assert.equal(typeof line?.rssBeforeMb, 'number');
      assert.equal(typeof line?.pauseMs, 'number');
      assert.equal(endpointd.readiness.ready, true);
      await endpointd.stop();

      // A Kubernetes source whose first list never answers: not synced, not ready, stopped — never compacted.
      api.stall({ verb: 'list', phase: 'before-headers' });
      const unsynced = new LogLines();
      const stalled = await startEndpointd(
        { ...TEST_CONFIG, sources: [{ ...defaultKubernetesSource(), kubeconfig }] },
        createLogger('info', unsynced),
      );
      await api.waitForRequest((r) => r.verb === 'list', 5_000);
      assert.equal(stalled.readiness.ready, false);
      await stalled.stop();
      api.unstall();
      await stalled.synced.catch(() => undefined);
      assert.equal(compacted(unsynced).length, 0, 'a server stopped before its first sync does not compact');
      assert.equal(unsynced.withMessage('ready').length, 0);
    } finally {
      await api.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
