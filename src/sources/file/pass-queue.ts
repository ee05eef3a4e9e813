// When the file source reads: requests (a path to look at again, or everything) gather while events settle —
// editors and kubelet write in several steps — and then run as one pass; passes run one at a time, in order, so that
// an older read can never overwrite a newer one. A steady stream of events never postpones reading for long.
import type { Logger } from 'pino';

export type Pass = (full: boolean, paths: string[]) => Promise<void>;

export class PassQueue {
  readonly #pass: Pass;
  readonly #settleMs: number;
  readonly #logger: Logger;
  #pending: { full: boolean; paths: Set<string> } = { full: false, paths: new Set() };
  #settleTimer: NodeJS.Timeout | undefined;
  #firstPendingAt = 0;
  #queue: Promise<void> = Promise.resolve();
  #stopped = false;

  readonly #onFailure: ((error: unknown) => void) | undefined;

  constructor(pass: Pass, settleMs: number, logger: Logger, onFailure?: (error: unknown) => void) {
    this.#onFailure = onFailure;
    this.#pass = pass;
    this.#settleMs = settleMs;
    this.#logger = logger;
  }

  /** Asks for `path` (undefined: everything) to be looked at again once events settle. */
  request(path: string | undefined): void {
    if (this.#stopped) return;
    if (path === undefined) this.#pending.full = true;
    else this.#pending.paths.add(path);
    const now = Date.now();
    if (this.#settleTimer === undefined) this.#firstPendingAt = now;
    clearTimeout(this.#settleTimer);
    const wait = Math.max(0, Math.min(this.#settleMs, this.#firstPendingAt + 10 * this.#settleMs - now));
    this.#settleTimer = setTimeout(() => {
      this.#settleTimer = undefined;
      const { full, paths } = this.#pending;
      this.#pending = { full: false, paths: new Set() };
      void this.run(full, [...paths]);
    }, wait);
  }

  /**
   * Runs a pass now (after those already queued); resolves when it is done: true when it completed, false when it
   * failed (logged, and told to `onFailure`; what was served stays as it was).
   */
  run(full: boolean, paths: string[]): Promise<boolean> {
    const done = this.#queue.then(() =>
      this.#pass(full, paths).then(
        () => true,
        (error: unknown) => {
          this.#logger.error({ err: error }, 'reading manifests failed');
          this.#onFailure?.(error);
          return false;
        },
      ),
    );
    this.#queue = done.then(() => undefined);
    return done;
  }

  /** No more passes start; resolves when the one running is done. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#settleTimer);
    await this.#queue;
  }
}
