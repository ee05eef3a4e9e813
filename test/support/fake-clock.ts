// A Clock whose time moves only when a test says so: timers run in due order as time is advanced, and a test can
// wait (event-driven, no polling) until the code under test has set the timers it expects — e.g. until a reflector
// has failed and is sleeping its backoff.
import type { Clock, TimerHandle } from '../../src/sources/kubernetes/clock.ts';

export interface PendingTimer {
  readonly id: number;
  /** The delay it was set with. */
  readonly delayMs: number;
  /** Clock time it runs at. */
  readonly dueAt: number;
}

interface Timer extends PendingTimer {
  readonly callback: () => void;
}

export class FakeClock implements Clock {
  #now: number;
  #nextId = 1;
  readonly #timers = new Map<number, Timer>();
  #changed: Array<() => void> = [];

  constructor(start = Date.parse('2026-01-01T00:00:00Z')) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  setTimeout(callback: () => void, ms: number): TimerHandle {
    const id = this.#nextId++;
    this.#timers.set(id, { id, delayMs: ms, dueAt: this.#now + Math.max(0, ms), callback });
    this.#notify();
    return id;
  }

  clearTimeout(handle: TimerHandle): void {
    if (typeof handle === 'number' && this.#timers.delete(handle)) this.#notify();
  }

  /** The timers not yet run, soonest first. */
  pending(): PendingTimer[] {
    return [...this.#timers.values()]
      .sort((a, b) => a.dueAt - b.dueAt || a.id - b.id)
      .map(({ id, delayMs, dueAt }) => ({ id, delayMs, dueAt }));
  }

  /** Moves time forward by `ms`, running every timer that falls due on the way at its due time, in order. */
  advance(ms: number): void {
    const target = this.#now + ms;
    for (let next = this.pending()[0]; next !== undefined && next.dueAt <= target; next = this.pending()[0]) {
      this.#run(next.id);
    }
    this.#now = target;
  }

  /** Moves time to the soonest timer and runs it; returns it. */
  advanceToNext(): PendingTimer {
    const next = this.pending()[0];
    if (next === undefined) throw new Error('fake clock: no timer pending');
    this.#run(next.id);
    return next;
  }

  /**
   * Resolves with the pending timers once `condition` holds for them, checked now and on every timer set or
   * cleared; rejects after `timeoutMs` of real time (the code under test does real I/O meanwhile).
   */
  async until(
    condition: (pending: PendingTimer[]) => boolean,
    what: string,
    timeoutMs = 10_000,
  ): Promise<PendingTimer[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const pending = this.pending();
      if (condition(pending)) return pending;
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(`fake clock: timed out waiting for ${what}; pending: ${describe(pending)}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#changed.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  #run(id: number): void {
    const timer = this.#timers.get(id);
    if (timer === undefined) return;
    this.#timers.delete(id);
    this.#now = Math.max(this.#now, timer.dueAt);
    timer.callback();
    this.#notify();
  }

  #notify(): void {
    const waiters = this.#changed;
    this.#changed = [];
    for (const wake of waiters) wake();
  }
}

function describe(pending: readonly PendingTimer[]): string {
  return pending.length === 0 ? 'none' : pending.map((t) => `${t.delayMs} ms`).join(', ');
}
