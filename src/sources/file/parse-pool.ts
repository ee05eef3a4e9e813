// The main thread's side of the parse worker: started on first use, ended after a while without work (its heap is
// memory the server does not need between edits), restarted if it dies. Requests are answered in order.
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { ParseRequest, ParseResult } from './parse-file.ts';
import type { FromParseWorker, ToParseWorker } from './parse-worker.ts';

/** Same extension as this module: .ts when run from source, .js once built. */
const WORKER_URL = new URL(`./parse-worker${extname(fileURLToPath(import.meta.url))}`, import.meta.url);

export class ParseWorker {
  readonly #idleMs: number;
  #worker: Worker | undefined;
  #nextId = 1;
  readonly #pending = new Map<number, { resolve: (r: ParseResult) => void; reject: (e: Error) => void }>();
  #idleTimer: NodeJS.Timeout | undefined;

  constructor(options: { readonly idleMs?: number } = {}) {
    this.#idleMs = options.idleMs ?? 10_000;
  }

  /** Parses `bytes` off the main thread. `bytes` is handed over (transferred) when it owns its whole buffer. */
  parse(bytes: Uint8Array, request: ParseRequest): Promise<ParseResult> {
    const worker = this.#ensureWorker();
    clearTimeout(this.#idleTimer);
    const id = this.#nextId++;
    const owned = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength;
    const message: ToParseWorker = { id, bytes, request };
    return new Promise<ParseResult>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      worker.postMessage(message, owned ? [bytes.buffer as ArrayBuffer] : []);
    });
  }

  async close(): Promise<void> {
    clearTimeout(this.#idleTimer);
    const worker = this.#worker;
    this.#worker = undefined;
    this.#failAll(new Error('parse worker closed'));
    await worker?.terminate();
  }

  #ensureWorker(): Worker {
    if (this.#worker !== undefined) return this.#worker;
    const worker = new Worker(WORKER_URL);
    worker.unref();
    worker.on('message', (reply: FromParseWorker) => {
      const waiter = this.#pending.get(reply.id);
      this.#pending.delete(reply.id);
      if ('error' in reply) waiter?.reject(new Error(reply.error));
      else waiter?.resolve(reply.result);
      if (this.#pending.size === 0) this.#scheduleIdleEnd();
    });
    const died = (error: Error): void => {
      if (this.#worker !== worker) return;
      this.#worker = undefined;
      this.#failAll(error);
    };
    worker.on('error', died);
    worker.on('exit', (code) => died(new Error(`parse worker exited with code ${code}`)));
    this.#worker = worker;
    return worker;
  }

  #scheduleIdleEnd(): void {
    clearTimeout(this.#idleTimer);
    this.#idleTimer = setTimeout(() => {
      if (this.#pending.size > 0) return;
      const worker = this.#worker;
      this.#worker = undefined;
      void worker?.terminate();
    }, this.#idleMs);
    this.#idleTimer.unref();
  }

  #failAll(error: Error): void {
    for (const waiter of this.#pending.values()) waiter.reject(error);
    this.#pending.clear();
  }
}
