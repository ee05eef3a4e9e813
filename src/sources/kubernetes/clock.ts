// Time as the reflector sees it: the current time and one-shot timers, injected so that tests drive time (backoff,
// idle watches, list timeouts, log throttling) instead of sleeping. Three primitives, the same as Node's own, so the
// real clock is a pass-through and a fake needs no knowledge of who uses it; sleeps and deadlines are built on them.

/** A pending timer of a Clock: opaque, only good for passing back to the same clock's clearTimeout. */
export type TimerHandle = unknown;

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Calls `callback` once, `ms` from now (`ms` ≥ 0). */
  setTimeout(callback: () => void, ms: number): TimerHandle;
  /** Cancels a pending timer; a timer that already ran, or was cancelled, is ignored. */
  clearTimeout(handle: TimerHandle): void;
}

/** The process's clock: Date.now and Node's timers. */
export const SYSTEM_CLOCK: Clock = {
  now: () => Date.now(),
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

/** Resolves after `ms` of `clock` time, or as soon as `signal` aborts; never rejects. */
export function sleep(clock: Clock, ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = (): void => {
      clock.clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = clock.setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

/** A deadline: `signal` aborts with `reason()` once `ms` of `clock` time passed; `cancel()` disarms it. */
export interface Deadline {
  readonly signal: AbortSignal;
  /** Pushes the deadline to `ms` from now (e.g. on every sign of life of a connection). */
  restart(): void;
  cancel(): void;
}

export function deadline(clock: Clock, ms: number, reason: () => Error): Deadline {
  const controller = new AbortController();
  let pending: { readonly handle: TimerHandle } | undefined;
  const disarm = (): void => {
    if (pending !== undefined) clock.clearTimeout(pending.handle);
    pending = undefined;
  };
  const arm = (): void => {
    disarm();
    const timer = {
      handle: clock.setTimeout(() => {
        if (pending === timer) pending = undefined;
        controller.abort(reason());
      }, ms),
    };
    pending = timer;
  };
  arm();
  return {
    signal: controller.signal,
    restart: () => {
      if (!controller.signal.aborted) arm();
    },
    cancel: disarm,
  };
}
