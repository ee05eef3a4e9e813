// The main thread's side of the parse workers: threads that read and parse manifests so that the event loop stays
// free. Started on first use, ended when released or after a while without work (a worker's heap is memory the
// server does not need between edits), replaced if one dies. Batches go to the least busy worker; each worker answers in order.
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
    const thread = this.#leastBusy();
    const id = this.#nextId++;
    const message: ToParseWorker = { id, tasks };
    return new Promise((resolve, reject) => {
      thread.pending.set(id, { resolve, reject });
      thread.worker.postMessage(message);
    });
  }

  /** Ends the workers once their work is done: their heaps hold what they parsed, memory the server does not need. */
  async release(): Promise<void> {
    if (this.#threads.some((t) => t.pending.size > 0)) return;
    await this.#endAll();
  }

  /** Ends every worker now; pending work is rejected. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#endAll();
  }

  #leastBusy(): Thread {
    const idle = this.#threads.find((t) => t.pending.size === 0);
    if (idle !== undefined) return idle;
    if (this.#threads.length < this.#size) return this.#spawn();
    return this.#threads.reduce((a, b) => (b.pending.size < a.pending.size ? b : a));
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
      if (this.#threads.every((t) => t.pending.size === 0)) this.#scheduleIdleEnd();
    });
    const died = (error: Error): void => {
      const index = this.#threads.indexOf(thread);
      if (index >= 0) this.#threads.splice(index, 1);
      for (const waiter of thread.pending.values()) waiter.reject(error);
      thread.pending.clear();
    };
    worker.on('error', died);
    worker.on('exit', (code) => died(new Error(`parse worker exited with code ${code}`)));
    this.#threads.push(thread);
    return thread;
  }

  #scheduleIdleEnd(): void {
    clearTimeout(this.#idleTimer);
    this.#idleTimer = setTimeout(() => {
      if (this.#threads.every((t) => t.pending.size === 0)) void this.#endAll();
    }, this.#idleMs);
    this.#idleTimer.unref();
  }

  async #endAll(): Promise<void> {
    clearTimeout(this.#idleTimer);
    const threads = this.#threads.splice(0);
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
