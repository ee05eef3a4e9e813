// The parse workers (src/sources/file/parse-pool.ts) under more batches than they hold at once: every batch is
// answered, each with its own files in order, whichever worker takes it — or the main thread, for batches of small
// files it may take — and a pool that is closed while batches still wait rejects them instead of leaving them
// pending. Released, the workers give their heaps back as they end (a child process measures it).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { ParsePool } from '../src/sources/file/parse-pool.ts';
import { readAndParse, type ReadTask, type WorkerRead } from '../src/sources/file/parse-worker.ts';

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

function slice(i: number): string {
  return [
    'apiVersion: discovery.k8s.io/v1',
    'kind: EndpointSlice',
    'metadata:',
    `  name: web-${i}-abcde`,
    '  namespace: pool',
    '  labels:',
    `    kubernetes.io/service-name: web-${i}`,
    'addressType: IPv4',
    'ports:',
    '  - name: http',
    '    port: 8080',
    'endpoints:',
    `  - addresses: ["10.8.${Math.floor(i / 250)}.${(i % 250) + 1}"]`,
    '    conditions:',
    '      ready: true',
    `    targetRef: { kind: Pod, name: web-${i}-7d9f8c6b5-abcde }`,
    '',
  ].join('\n');
}

/** The Service names a read serves, in file order. */
function names(read: WorkerRead | undefined): string[] {
  assert.ok(read !== undefined && read.kind === 'parsed' && read.result.kind === 'parsed', 'a parsed read');
  return read.result.pieces.flatMap((p) => p.content?.objects.map((o) => o.object.metadata.name) ?? []);
}

/** `read` with its stamp's trust left out (it says how long ago the file was written when it was opened). */
function untrusted(read: WorkerRead | undefined): WorkerRead | undefined {
  return read?.kind === 'parsed' ? { ...read, trustStamp: false } : read;
}

describe('the parse workers', () => {
  let dir: string;
  let tasks: ReadTask[];
  let sliceTasks: ReadTask[];
  let pairPath: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'endpointd-parse-pool-'));
    tasks = [];
    sliceTasks = [];
    for (let i = 0; i < FILES; i++) {
      const path = join(dir, `svc-${i}.yaml`);
      await writeFile(path, manifest(i));
      tasks.push({ path, maxBytes: 1 << 20, request: { format: 'yaml' } });
      const slicePath = join(dir, `web-${i}.yaml`);
      await writeFile(slicePath, slice(i));
      sliceTasks.push({ path: slicePath, maxBytes: 1 << 20, request: { format: 'yaml' } });
    }
    pairPath = join(dir, 'pair.yaml');
    await writeFile(
      pairPath,
      slice(0).replace(
        'endpoints:\n',
        'endpoints:\n  - addresses: ["10.7.0.1"]\n    conditions:\n      ready: true\n    zone: zone-a\n',
      ),
    );
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

  it('lets the main thread take waiting batches of small files, with the same answers a worker gives', async () => {
    const pool = new ParsePool({ size: 2 });
    try {
      const batches: ReadTask[][] = [];
      for (let i = 0; i < FILES; i += PER_BATCH) batches.push(sliceTasks.slice(i, i + PER_BATCH));
      const answers = await Promise.all(
        batches.map((batch) => pool.run(batch, { mainThreadMay: 'small-files' })),
      );
      answers.forEach((reads, b) => {
        assert.deepEqual(
          reads.map((read) => names(read)),
          Array.from({ length: PER_BATCH }, (_, k) => [`web-${b * PER_BATCH + k}-abcde`]),
        );
      });
      const { mainThread, workers } = pool.answered;
      assert.equal(mainThread + workers, batches.length);
      assert.ok(mainThread > 0, 'the main thread read some batches');
      assert.ok(workers > 0, 'the worker read some batches');
    } finally {
      await pool.close();
    }
  });

  it('lets the main thread take large YAML files a document at a time, with the same answers a worker gives', async () => {
    const big = join(dir, 'big.yaml');
    // Over the 256 KiB a worker sends at a time, so that its answer comes in parts too.
    await writeFile(big, Array.from({ length: 1200 }, (_, i) => slice(i)).join('---\n'));
    const task: ReadTask = { path: big, maxBytes: 1 << 24, request: { format: 'yaml' } };
    const expected = readAndParse(task);
    const pool = new ParsePool({ size: 2 });
    try {
      const answers = await Promise.all(
        Array.from({ length: 6 }, () => pool.run([task], { mainThreadMay: 'large-yaml' })),
      );
      // Whether the stamp is trusted depends on when the file was opened (quiet for 2 s or not), which on a busy
      // machine may differ between the read above and the pool's: everything else must be the same.
      for (const [read] of answers) assert.deepEqual(untrusted(read), untrusted(expected));
      assert.equal(names(answers[0]?.[0]).length, 1200);
      const { mainThread, workers } = pool.answered;
      assert.ok(mainThread > 0 && workers > 0, `main thread ${mainThread}, workers ${workers}`);
    } finally {
      await pool.close();
    }
  });

  it("rebuilds a worker's objects as the validator builds them here: equal values, repeated parts shared", async () => {
    const pool = new ParsePool({ size: 1 });
    try {
      const [sent] = await pool.run([{ path: pairPath, maxBytes: 1 << 20, request: { format: 'yaml' } }]);
      const here = readAndParse({ path: pairPath, maxBytes: 1 << 20, request: { format: 'yaml' } });
      assert.deepEqual(sent, here);
      assert.ok(sent?.kind === 'parsed' && sent.result.kind === 'parsed');
      const [object] = sent.result.pieces.flatMap((p) => p.content?.objects ?? []);
      assert.ok(object?.kind === 'EndpointSlice');
      const [first, second] = object.object.endpoints ?? [];
      // One conditions object for both endpoints, as the validator shares it (JSON.parse gives each its own).
      assert.ok(first !== undefined && second !== undefined);
      assert.equal(first.conditions, second.conditions);
      assert.equal(pool.answered.workers, 1);
    } finally {
      await pool.close();
    }
  });

  it("gives the workers' heap pages back when released: they do not stay resident", async () => {
    // A child of its own (with --expose-gc), so that this process's heap does not blur the measure.
    const child = fileURLToPath(new URL('./support/file-pool-memory-child.ts', import.meta.url));
    const { stdout } = await promisify(execFile)(process.execPath, ['--expose-gc', child, '2000'], {
      timeout: 60_000,
    });
    const { loaded, released } = JSON.parse(stdout) as { loaded: number; released: number };
    // The worker's heap after 2,000 files of 30 endpoints is some 30-40 MB; what it ends with (~6 MB of modules) may
    // stay in V8's pool.
    assert.ok(
      loaded - released >= 10 * 2 ** 20,
      `released ${((loaded - released) / 2 ** 20).toFixed(1)} MB of heap pages (loaded ${(loaded / 2 ** 20).toFixed(1)} MB)`,
    );
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
