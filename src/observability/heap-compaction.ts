// One memory-reducing garbage collection after the first sync: what loading the initial state grew and no longer
// needs goes back to the system. Reading 10,000 Services grows V8's young generation to its cap (two 16 MB
// semi-spaces, --max-semi-space-size) and leaves the old generation fragmented; neither shrinks on its own — V8's
// memory reducer shrinks the young generation's bookkeeping but the pages stay resident (measured: RSS unchanged
// 25 s after an idle start). The "last resort" collection V8 runs under memory pressure compacts the old
// generation and uncommits the young one: ~50 MB of RSS at 10,000 Services, ~40 MB at idle (docs/benchmarks.md).
// It stops the event loop for a while (~0.1 s idle, ~0.5 s at 10,000 Services on a quiet core; its asynchronous
// form pauses as long at its end), so it runs before the process reports ready: no request is waiting then, and
// load balancers send none. It runs once: the young generation grows back only as far as the traffic needs.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { Logger } from 'pino';

/** V8's gc() of --expose-gc, with the options its extension takes. */
type GcFunction = (options: {
  readonly type: 'major';
  readonly execution: 'sync';
  readonly flavor: 'last-resort';
}) => void;

let gcFunction: GcFunction | undefined;

/**
 * Tries to take gc(): V8's flags are the process's, and another thread (a parse worker ending while the main thread
 * compacts, two workers ending together) may turn the flag off between this thread's turning it on and its making
 * the context — that context then has no gc. Each try is one context (~1 ms); a few are enough for the others'.
 */
const COLLECTOR_TRIES = 20;

/**
 * V8's gc(), without running the whole process with --expose-gc (which would hand every dependency a global
 * `gc`): the flag is turned on, a fresh context is made (V8 installs the gc extension in contexts created while
 * it is on), the function is taken from it, and the flag is turned off again.
 */
function collector(): GcFunction {
  if (gcFunction !== undefined) return gcFunction;
  const exposed = (globalThis as { gc?: unknown }).gc;
  if (typeof exposed === 'function') {
    gcFunction = exposed as GcFunction;
    return gcFunction;
  }
  for (let attempt = 0; attempt < COLLECTOR_TRIES && gcFunction === undefined; attempt++) {
    setFlagsFromString('--expose-gc');
    try {
      const taken: unknown = runInNewContext('typeof gc === "function" ? gc : undefined');
      if (typeof taken === 'function') gcFunction = taken as GcFunction;
    } finally {
      setFlagsFromString('--no-expose-gc');
    }
  }
  if (gcFunction === undefined) throw new Error('V8 gave no gc() to a context made with --expose-gc');
  return gcFunction;
}

/**
 * Runs the collection now; returns what it did (for the log and the tests). Also what a file-source parse worker
 * runs before it ends (src/sources/file/parse-worker.ts), so that its heap pages are freed at once.
 */
export function compactHeap(): {
  readonly rssBefore: number;
  readonly rssAfter: number;
  readonly ms: number;
} {
  const rssBefore = process.memoryUsage.rss();
  const started = performance.now();
  collector()({ type: 'major', execution: 'sync', flavor: 'last-resort' });
  return { rssBefore, rssAfter: process.memoryUsage.rss(), ms: performance.now() - started };
}

/** Runs the compaction and logs what it did: the step between the first sync and "ready". */
export function compactHeapAfterSync(logger: Logger): void {
  let done: ReturnType<typeof compactHeap>;
  try {
    done = compactHeap();
  } catch (error) {
    // A runtime without V8's gc extension: the memory stays as it is, the server is not held up for it.
    logger.warn({ error: (error as Error).message }, 'heap compaction after the first sync is not available');
    return;
  }
  const { rssBefore, rssAfter, ms } = done;
  logger.info(
    { rssBeforeMb: toMb(rssBefore), rssAfterMb: toMb(rssAfter), pauseMs: Math.round(ms) },
    'heap compacted after the first sync',
  );
}

function toMb(bytes: number): number {
  return Math.round((bytes / 2 ** 20) * 10) / 10;
}
