// The main thread's side of the parse workers: threads that read and parse manifests so that the event loop stays
// free. Started on first use, ended when released or after a while without work (a worker's heap is memory the
// server does not need between edits), replaced if one dies. Each worker holds at most two batches at a time (one
// it parses, the next one ready); the rest wait here and go to whichever worker answers first, so that a worker
// slowed down (a busy core, a large file) does not leave the other idle at the end of a pass. Batches of small
// files may also be taken by the main thread itself while they wait (read and parsed a slice at a time, yielding to
// the event loop): its objects then need no hand-over, and its otherwise idle time shortens the pass.
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import {
  readAndParse,
  readAndParseInSlices,
  type FromParseWorker,
  type ParseBatch,
  type ReadTask,
  type ToParseWorker,
  type WorkerRead,
} from './parse-worker.ts';
import { rebuildPieces, rebuiltRead, type Rebuilt } from './rebuilt.ts';
import { yielder } from './yielder.ts';

/** Same extension as this module: .ts when run from source, .js once built. */
const WORKER_URL = new URL(`./parse-worker${extname(fileURLToPath(import.meta.url))}`, import.meta.url);

interface Waiter {
  readonly resolve: (reads: readonly WorkerRead[]) => void;
  readonly reject: (error: Error) => void;
}

/** A batch not yet handed to a worker. */
interface Queued extends Waiter {
  readonly message: ParseBatch;
  /** Whether the main thread may read and parse it itself (see MainThreadMay). */
  readonly mainThreadMay: MainThreadMay | undefined;
}

/**
 * What the main thread may take from the queue: a batch of small files (read and parsed a file at a time), or one
 * large YAML file of a first load (parsed a document at a time: only reading, hashing and cutting its text hold the
 * loop, some tens of milliseconds, which a first load may spend but an edit may not).
 */
export type MainThreadMay = 'small-files' | 'large-yaml';

/** How long a worker asked to end may take to give its heap back before it is terminated. */
const END_GRACE_MS = 2_000;

/** Batches a worker holds at once: the one it parses and the next, so that it never waits for the main thread. */
const IN_FLIGHT_PER_WORKER = 2;

interface Thread {
  readonly worker: Worker;
  readonly pending: Map<number, Waiter>;
  /** Pieces sent ahead of their request's answer, made (rebuilt.ts) as they came: request id → task index → pieces. */
  readonly partials: Map<number, Map<number, Rebuilt>>;
}

export class ParsePool {
  readonly #size: number;
  readonly #idleMs: number;
  readonly #threads: Thread[] = [];
  readonly #queue: Queued[] = [];
  /** Workers ending (asked to, or terminated), until they have exited. */
  readonly #ending = new Map<Worker, Promise<void>>();
  #nextId = 1;
  #idleTimer: NodeJS.Timeout | undefined;
  #closed = false;
  /** The main thread is reading and parsing a batch it took from the queue. */
  #helping = false;
  /** Batches answered so far, by who read them. */
  readonly #answered = { mainThread: 0, workers: 0 };

  constructor(options: { readonly size?: number; readonly idleMs?: number } = {}) {
    this.#size = Math.max(1, options.size ?? 1);
    this.#idleMs = options.idleMs ?? 5_000;
  }

  /**
   * Reads and parses each task's file off the main thread; the answers in the order of `tasks`. With
   * `mainThreadMay`, the main thread may do it itself if the batch is still waiting when it is free.
   */
  run(
    tasks: readonly ReadTask[],
    options: { readonly mainThreadMay?: MainThreadMay | undefined } = {},
  ): Promise<readonly WorkerRead[]> {
    if (this.#closed) return Promise.reject(new Error('parse workers closed'));
    clearTimeout(this.#idleTimer);
    const message: ParseBatch = { id: this.#nextId++, tasks };
    return new Promise((resolve, reject) => {
      this.#queue.push({ message, resolve, reject, mainThreadMay: options.mainThreadMay });
      this.#dispatch();
      this.#help();
    });
  }

  /** How many batches the main thread and the workers have answered. */
  get answered(): { readonly mainThread: number; readonly workers: number } {
    return { ...this.#answered };
  }

  /**
   * Ends the workers once their work is done: their heaps hold what they parsed, memory the server does not need.
   * Each gives its heap back before it exits (parse-worker.ts endWorker); resolves when they have exited.
   */
  async release(): Promise<void> {
    if (this.#busy()) return;
    await this.#endAll(false);
  }

  #busy(): boolean {
    return this.#queue.length > 0 || this.#helping || this.#threads.some((t) => t.pending.size > 0);
  }

  /** Hands queued batches to workers that have room, starting workers up to the pool's size. */
  #dispatch(): void {
    for (let next = this.#queue[0]; next !== undefined; next = this.#queue[0]) {
      // The main thread counts as one of the hands for batches it may take: they start one worker fewer.
      const thread = this.#withRoom(
        next.mainThreadMay === undefined ? this.#size : Math.max(1, this.#size - 1),
      );
      if (thread === undefined) return;
      this.#queue.shift();
      thread.pending.set(next.message.id, next);
      thread.worker.postMessage(next.message satisfies ToParseWorker);
    }
  }

  /**
   * While batches the main thread may take wait for a worker, takes them one at a time (the last queued: the workers
   * take from the front) and reads and parses them here, yielding to the event loop between files.
   */
  #help(): void {
    if (this.#helping) return;
    this.#helping = true;
    void (async () => {
      const yieldNow = yielder();
      // Let the caller queue the rest of its batches first: the workers are the ones to start on them.
      await new Promise((resolve) => setImmediate(resolve));
      for (;;) {
        const at = this.#queue.findLastIndex((q) => q.mainThreadMay !== undefined);
        if (at < 0 || this.#closed) break;
        const [taken] = this.#queue.splice(at, 1);
        if (taken === undefined) break;
        try {
          const reads: WorkerRead[] = [];
          for (const task of taken.message.tasks) {
            reads.push(
              taken.mainThreadMay === 'large-yaml'
                ? await readAndParseInSlices(task, yieldNow)
                : readAndParse(task),
            );
            await yieldNow();
          }
          this.#answered.mainThread += 1;
          taken.resolve(reads);
        } catch (error) {
          taken.reject(error instanceof Error ? error : new Error(String(error)));
        }
      }
      this.#helping = false;
      if (!this.#busy()) this.#scheduleIdleEnd();
    })();
  }

  /** Ends every worker now; pending work is rejected. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#endAll(true);
  }

  /** An idle worker, else a new one while there are fewer than `workers`, else the least busy with room; none: wait. */
  #withRoom(workers: number): Thread | undefined {
    const idle = this.#threads.find((t) => t.pending.size === 0);
    if (idle !== undefined) return idle;
    if (this.#threads.length < workers) return this.#spawn();
    const least = this.#threads.reduce((a, b) => (b.pending.size < a.pending.size ? b : a));
    return least.pending.size < IN_FLIGHT_PER_WORKER ? least : undefined;
  }

  #spawn(): Thread {
    // A small young generation keeps the worker's peak heap near what it holds: a parse of 8 MB otherwise leaves
    // the process some 50 MB larger for good, the memory of a terminated worker not being given back.
    const worker = new Worker(WORKER_URL, {
      resourceLimits: { maxYoungGenerationSizeMb: 4, maxOldGenerationSizeMb: 512 },
    });
    worker.unref();
    const thread: Thread = { worker, pending: new Map(), partials: new Map() };
    worker.on('message', (text: string) => {
      const reply = JSON.parse(text) as FromParseWorker;
      if ('partial' in reply) {
        const byTask = thread.partials.get(reply.id) ?? new Map<number, Rebuilt>();
        thread.partials.set(reply.id, byTask);
        byTask.set(reply.index, rebuildPieces(reply.partial, reply.values, byTask.get(reply.index)));
        return;
      }
      const waiter = thread.pending.get(reply.id);
      const partials = thread.partials.get(reply.id);
      thread.pending.delete(reply.id);
      thread.partials.delete(reply.id);
      if ('error' in reply) waiter?.reject(new Error(reply.error));
      else {
        this.#answered.workers += 1;
        waiter?.resolve(
          reply.reads.map((read, i) => rebuiltRead(read, reply.values[i] ?? [], partials?.get(i))),
        );
      }
      this.#dispatch();
      if (!this.#busy()) this.#scheduleIdleEnd();
    });
    const died = (error: Error): void => {
      const index = this.#threads.indexOf(thread);
      if (index >= 0) this.#threads.splice(index, 1);
      for (const waiter of thread.pending.values()) waiter.reject(error);
      thread.pending.clear();
      // What waits here goes to the other workers, or to a new one.
      if (!this.#closed) this.#dispatch();
    };
    worker.on('error', died);
    worker.on('exit', (code) => died(new Error(`parse worker exited with code ${code}`)));
    this.#threads.push(thread);
    return thread;
  }

  #scheduleIdleEnd(): void {
    clearTimeout(this.#idleTimer);
    if (this.#threads.length === 0) return;
    this.#idleTimer = setTimeout(() => {
      if (!this.#busy()) void this.#endAll(false);
    }, this.#idleMs);
    this.#idleTimer.unref();
  }

  /** Ends every worker (`now`: terminated at once; else asked to give its heap back and exit). */
  async #endAll(now: boolean): Promise<void> {
    clearTimeout(this.#idleTimer);
    const threads = this.#threads.splice(0);
    for (const waiter of this.#queue.splice(0)) waiter.reject(new Error('parse workers closed'));
    for (const thread of threads) {
      for (const waiter of thread.pending.values()) waiter.reject(new Error('parse workers closed'));
      thread.pending.clear();
    }
    for (const { worker } of threads) {
      const ended = this.#askToEnd(worker).finally(() => this.#ending.delete(worker));
      this.#ending.set(worker, ended);
    }
    // Those asked to end before are terminated too.
    if (now) for (const worker of this.#ending.keys()) void worker.terminate();
    await Promise.all(this.#ending.values());
  }

  /** Asks a worker to end by itself; terminated if it has not within END_GRACE_MS. */
  #askToEnd(worker: Worker): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => void worker.terminate(), END_GRACE_MS);
      timer.unref();
      worker.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      // Held until it has exited (at most the grace), so that whoever awaits this is not left waiting at exit.
      worker.ref();
      worker.postMessage({ end: true } satisfies ToParseWorker);
    });
  }
}
