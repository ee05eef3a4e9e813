// Attack on readiness through the file source's first pass (round 6): a tree in which directories come and go
// while endpointd starts (a deploy tool renaming directories into place, a sync job). A directory that vanishes
// between the listing's stat and its realpath fails the whole first pass ('reading manifests failed'), and the
// source still reports synced: endpointd compacts, logs "ready" and /readyz says 200 while it serves none of the
// Services that were on disk the whole time. Property: once ready, every file that never moved is served. Real
// endpointd, real files, a real thread renaming directories; bounded in time (it stops by itself).
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { describe, it } from 'node:test';
import { startEndpointd } from '../src/main.ts';
import { createLogger } from '../src/observability/logger.ts';
import { sliceManifest, TEST_CONFIG } from './support/endpointd.ts';

const STEADY_DIRS = 60;
const FILES_PER_DIR = 10;
const MOVING_DIRS = 200;
const STARTS = 6;

/**
 * Renames each moving directory between a hidden name and a visible one, over and over, for `ms` at most; a short
 * pause each round keeps it from taking a whole core of a shared machine.
 */
const CHURNER = `
const { renameSync } = require('node:fs');
const { workerData } = require('node:worker_threads');
const end = Date.now() + workerData.ms;
const pause = new Int32Array(new SharedArrayBuffer(4));
while (Date.now() < end) {
  Atomics.wait(pause, 0, 0, 1);
  for (let d = 0; d < workerData.count; d++) try { renameSync(workerData.dir + '/.h' + d, workerData.dir + '/z' + d); } catch {}
  for (let d = 0; d < workerData.count; d++) try { renameSync(workerData.dir + '/z' + d, workerData.dir + '/.h' + d); } catch {}
}
`;

describe('readiness after a first pass that met a vanishing directory', () => {
  it('is not ready with Services missing that never moved', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'endpointd-attack6-first-'));
    for (let d = 0; d < STEADY_DIRS; d++) {
      await mkdir(join(dir, `d${d}`));
      await Promise.all(
        Array.from({ length: FILES_PER_DIR }, (_, i) =>
          writeFile(join(dir, `d${d}`, `s${i}.yaml`), sliceManifest('shop', `d${d}-s${i}`, ['10.0.0.1'])),
        ),
      );
    }
    for (let d = 0; d < MOVING_DIRS; d++) await mkdir(join(dir, `.h${d}`));
    const churner = new Worker(CHURNER, {
      eval: true,
      workerData: { dir, count: MOVING_DIRS, ms: 15_000 },
    });
    const seen: string[] = [];
    try {
      for (let start = 0; start < STARTS; start++) {
        const endpointd = await startEndpointd(
          { ...TEST_CONFIG, sources: [{ kind: 'file', path: dir }] },
          createLogger('silent'),
        );
        try {
          await endpointd.synced;
          if (endpointd.readiness.ready) seen.push(`start ${start}: ${endpointd.store.stats().services}`);
        } finally {
          await endpointd.stop();
        }
      }
    } finally {
      await churner.terminate();
      await rm(dir, { recursive: true, force: true });
    }
    const all = STEADY_DIRS * FILES_PER_DIR;
    assert.deepEqual(
      seen.filter((s) => !s.endsWith(`: ${all}`)),
      [],
      `ready with fewer than the ${all} Services on disk`,
    );
  });
});
