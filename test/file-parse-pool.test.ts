// The parse workers (src/sources/file/parse-pool.ts) under more batches than they hold at once: every batch is
// answered, each with its own files in order, whichever worker takes it, and a pool that is closed while batches
// still wait rejects them instead of leaving them pending.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ParsePool } from '../src/sources/file/parse-pool.ts';
import type { ReadTask, WorkerRead } from '../src/sources/file/parse-worker.ts';

const FILES = 60;
const PER_BATCH = 3;

function manifest(i: number): string {
  return [
    'apiVersion: v1',
    'kind: Endpoints',
    'metadata:',
    `  name: svc-${i}`,
    '  namespace: pool',
    'subsets:',
    '- addresses:',
    `  - ip: 10.9.${Math.floor(i / 250)}.${(i % 250) + 1}`,
    '  ports:',
    '  - port: 80',
    '',
  ].join('\n');
}

/** The Service names a read serves, in file order. */
function names(read: WorkerRead | undefined): string[] {
  assert.ok(read !== undefined && read.kind === 'parsed' && read.result.kind === 'parsed', 'a parsed read');
  return read.result.pieces.flatMap((p) => p.content?.objects.map((o) => o.object.metadata.name) ?? []);
}

describe('the parse workers', () => {
  let dir: string;
  let tasks: ReadTask[];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'endpointd-parse-pool-'));
    tasks = [];
    for (let i = 0; i < FILES; i++) {
      const path = join(dir, `svc-${i}.yaml`);
      await writeFile(path, manifest(i));
      tasks.push({ path, maxBytes: 1 << 20, request: { format: 'yaml' } });
    }
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('answers every batch with its own files, in order, when many more batches wait than the workers hold', async () => {
    const pool = new ParsePool({ size: 2 });
    try {
      const batches: ReadTask[][] = [];
      for (let i = 0; i < FILES; i += PER_BATCH) batches.push(tasks.slice(i, i + PER_BATCH));
      const answers = await Promise.all(batches.map((batch) => pool.run(batch)));
      answers.forEach((reads, b) => {
        assert.equal(reads.length, PER_BATCH);
        assert.deepEqual(
          reads.map((read) => names(read)),
          Array.from({ length: PER_BATCH }, (_, k) => [`svc-${b * PER_BATCH + k}`]),
        );
      });
      // Released once done: a later batch starts a worker again.
      await pool.release();
      assert.deepEqual(names((await pool.run(tasks.slice(0, 1)))[0]), ['svc-0']);
    } finally {
      await pool.close();
    }
  });

  it('rejects the batches still waiting when it is closed, and refuses new ones', async () => {
    const pool = new ParsePool({ size: 1 });
    const runs = Array.from({ length: 8 }, () => pool.run(tasks));
    const settled = Promise.allSettled(runs);
    await pool.close();
    const outcomes = await settled;
    assert.ok(
      outcomes.every((o) => o.status === 'rejected'),
      'every batch rejected',
    );
    await assert.rejects(pool.run(tasks), /closed/);
  });
});
