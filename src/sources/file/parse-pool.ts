// The main thread's side of the parse workers: threads that read and parse manifests so that the event loop stays
// free. Started on first use, ended when released or after a while without work (a worker's heap is memory the
// server does not need between edits), replaced if one dies. Each worker holds at most two batches at a time (one
// it parses, the next one ready); the rest wait here and go to whichever worker answers first, so that a worker
// slowed down (a busy core, a large file) does not leave the other idle at the end of a pass.
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { ParsedPiece } from './parse-file.ts';
import type { FromParseWorker, ReadTask, ToParseWorker, WorkerRead } from './parse-worker.ts';

/** Same extension as this module: .ts when run from source, .js once built. */
const WORKER_URL = new URL(`./parse-worker${extname(fileURLToPath(import.meta.url))}`, import.meta.url);

interface Waiter {
  readonly resolve: (reads: readonly WorkerRead[]) => void;
  readonly reject: (error: Error) => void;
}

/** A batch not yet handed to a worker. */
interface Queued extends Waiter {
  readonly message: ToParseWorker;
}

/** Batches a worker holds at once: the one it parses and the next, so that it never waits for the main thread. */
const IN_FLIGHT_PER_WORKER = 2;

interface Thread {
  readonly worker: Worker;
  readonly pending: Map<number, Waiter>;
  /** Pieces sent ahead of their request's answer: request id → task index → pieces in order. */
  readonly partials: Map<number, Map<number, ParsedPiece[]>>;
}

export class ParsePool {
  readonly #size: number;
  readonly #idleMs: number;
  readonly #threads: Thread[] = [];
  readonly #queue: Queued[] = [];
  #nextId = 1;
  #idleTimer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(options: { readonly size?: number; readonly idleMs?: number } = {}) {
    this.#size = Math.max(1, options.size ?? 1);
    this.#idleMs = options.idleMs ?? 5_000;
  }

  /** Reads and parses each task's file off the main thread; the answers in the order of `tasks`. */
  run(tasks: readonly ReadTask[]): Promise<readonly WorkerRead[]> {
    if (this.#closed) return Promise.reject(new Error('parse workers closed'));
    clearTimeout(this.#idleTimer);
    const message: ToParseWorker = { id: this.#nextId++, tasks };
    return new Promise((resolve, reject) => {
      this.#queue.push({ message, resolve, reject });
      this.#dispatch();
    });
  }

  /** Ends the workers once their work is done: their heaps hold what they parsed, memory the server does not need. */
  async release(): Promise<void> {
    if (this.#busy()) return;
    await this.#endAll();
  }

  #busy(): boolean {
    return this.#queue.length > 0 || this.#threads.some((t) => t.pending.size > 0);
  }

  /** Hands queued batches to workers that have room, starting workers up to the pool's size. */
  #dispatch(): void {
    while (this.#queue.length > 0) {
      const thread = this.#withRoom();
      if (thread === undefined) return;
      const next = this.#queue.shift();
      if (next === undefined) return;
      thread.pending.set(next.message.id, next);
      thread.worker.postMessage(next.message);
    }
  }

  /** Ends every worker now; pending work is rejected. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#endAll();
  }

  /** An idle worker, else a new one while the pool is not full, else the least busy with room; none: wait. */
  #withRoom(): Thread | undefined {
    const idle = this.#threads.find((t) => t.pending.size === 0);
    if (idle !== undefined) return idle;
    if (this.#threads.length < this.#size) return this.#spawn();
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
        const byTask = thread.partials.get(reply.id) ?? new Map<number, ParsedPiece[]>();
        thread.partials.set(reply.id, byTask);
        const pieces = byTask.get(reply.index) ?? [];
        for (const piece of reply.partial) pieces.push(piece);
        byTask.set(reply.index, pieces);
        return;
      }
      const waiter = thread.pending.get(reply.id);
      const partials = thread.partials.get(reply.id);
      thread.pending.delete(reply.id);
      thread.partials.delete(reply.id);
      if ('error' in reply) waiter?.reject(new Error(reply.error));
      else
        waiter?.resolve(
          partials === undefined ? reply.reads : reply.reads.map((r, i) => joined(r, partials.get(i))),
        );
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
    this.#idleTimer = setTimeout(() => {
      if (!this.#busy()) void this.#endAll();
    }, this.#idleMs);
    this.#idleTimer.unref();
  }

  async #endAll(): Promise<void> {
    clearTimeout(this.#idleTimer);
    const threads = this.#threads.splice(0);
    for (const waiter of this.#queue.splice(0)) waiter.reject(new Error('parse workers closed'));
    for (const thread of threads) {
      for (const waiter of thread.pending.values()) waiter.reject(new Error('parse workers closed'));
      thread.pending.clear();
    }
    await Promise.all(threads.map((t) => t.worker.terminate()));
  }
}

/** A read with the pieces its worker sent ahead put back in front, in order. */
function joined(read: WorkerRead, ahead: readonly ParsedPiece[] | undefined): WorkerRead {
  if (ahead === undefined || read.kind !== 'parsed' || read.result.kind !== 'parsed') return read;
  return { ...read, result: { ...read.result, pieces: [...ahead, ...read.result.pieces] } };
}
