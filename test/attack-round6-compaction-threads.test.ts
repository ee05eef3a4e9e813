// Attack on the heap compaction (src/observability/heap-compaction.ts) from the threads that use it: the main
// thread compacts after the first sync while the file source's parse workers, released by that same first load,
// compact before they end (parse-worker.ts) — two workers and the main thread at once. V8's flags are the
// process's, and the gc() each thread takes is borrowed by turning --expose-gc on and off: each thread must still
// get its collection, whatever the others do meanwhile. Real worker threads, real V8.
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { describe, it } from 'node:test';
import { compactHeap } from '../src/observability/heap-compaction.ts';

const MODULE = new URL('../src/observability/heap-compaction.ts', import.meta.url).href;

/** A worker that loads the module, says it is ready, waits for the shared go, compacts, and says how it went. */
const WORKER = `
import { parentPort, workerData } from 'node:worker_threads';
const { compactHeap } = await import(${JSON.stringify(MODULE)});
const flags = new Int32Array(workerData);
Atomics.add(flags, 1, 1);
Atomics.wait(flags, 0, 0);
try {
  compactHeap();
  parentPort.postMessage('compacted');
} catch (error) {
  parentPort.postMessage(String(error));
}
`;

const WORKERS = 3;
const ROUNDS = 6;

describe('heap compaction in several threads at once', () => {
  it('every thread compacts, none finds gc() missing, the main thread gets no global gc', async () => {
    const outcomes: string[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const shared = new SharedArrayBuffer(8);
      const flags = new Int32Array(shared);
      const workers = Array.from(
        { length: WORKERS },
        () => new Worker(WORKER, { eval: true, workerData: shared }),
      );
      const answers = workers.map(
        (worker) =>
          new Promise<string>((resolve) => {
            worker.once('message', (text: string) => resolve(text));
            worker.once('error', (error) => resolve(`worker failed: ${String(error)}`));
          }),
      );
      // All loaded and waiting: then all go at once, the main thread too (its first round only: it keeps its gc()).
      const deadline = Date.now() + 20_000;
      while (Atomics.load(flags, 1) < WORKERS) {
        assert.ok(Date.now() < deadline, 'the workers load the module');
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      Atomics.store(flags, 0, 1);
      Atomics.notify(flags, 0);
      try {
        compactHeap();
        outcomes.push('compacted');
      } catch (error) {
        outcomes.push(`main thread: ${String(error)}`);
      }
      outcomes.push(...(await Promise.all(answers)));
      await Promise.all(workers.map((worker) => worker.terminate()));
    }
    assert.deepEqual(
      outcomes.filter((o) => o !== 'compacted'),
      [],
      `${outcomes.length} compactions`,
    );
    assert.equal(typeof (globalThis as { gc?: unknown }).gc, 'undefined');
  });
});
