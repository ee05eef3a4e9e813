// The fault plan tests arm: injected HTTP failures, stalls before/after headers, and split watch events.

import type { FailNextOptions, FaultStatus, FaultVerb, ResourceName, StallOptions, Verb } from './types.ts';

interface FailRule {
  verb: FaultVerb;
  resource: ResourceName | undefined;
  status: FaultStatus;
  remaining: number;
  retryAfterSeconds: number | undefined;
}

export interface SplitPlan {
  pieces: number;
  delayMs: number;
}

export interface SplitOptions {
  /** How many writes the event is cut into; default 3. */
  pieces?: number;
  /** Pause between the writes; default 25 ms, enough for each piece to leave as its own TCP segment. */
  delayMs?: number;
}

function applies(
  rule: { verb: FaultVerb; resource?: ResourceName | undefined },
  verb: Verb,
  resource: ResourceName,
) {
  return (
    (rule.verb === 'any' || rule.verb === verb) && (rule.resource === undefined || rule.resource === resource)
  );
}

export class Faults {
  #fails: FailRule[] = [];
  #stalls: StallOptions[] = [];
  #splits: SplitPlan[] = [];
  readonly #unstallWaiters = new Set<() => void>();

  failNext(opts: FailNextOptions): void {
    this.#fails.push({
      verb: opts.verb,
      resource: opts.resource,
      status: opts.status,
      remaining: opts.times ?? 1,
      retryAfterSeconds: opts.retryAfterSeconds,
    });
  }

  /** Consumes one armed failure matching this request, if any. */
  takeFailure(verb: Verb, resource: ResourceName): FailRule | undefined {
    const rule = this.#fails.find((r) => applies(r, verb, resource));
    if (rule === undefined) return undefined;
    rule.remaining--;
    if (rule.remaining <= 0) this.#fails = this.#fails.filter((r) => r !== rule);
    return rule;
  }

  stall(opts: StallOptions): void {
    this.#stalls.push(opts);
  }

  isStalled(verb: Verb, resource: ResourceName, phase: StallOptions['phase']): boolean {
    return this.#stalls.some((s) => s.phase === phase && applies(s, verb, resource));
  }

  unstall(): void {
    this.#stalls = [];
    const waiters = [...this.#unstallWaiters];
    this.#unstallWaiters.clear();
    for (const wake of waiters) wake();
  }

  /** Resolves at the next unstall(); the returned cancel wakes it early (used on close). */
  waitForUnstall(): { promise: Promise<void>; cancel: () => void } {
    let wake: () => void = () => {};
    const promise = new Promise<void>((resolve) => {
      wake = resolve;
    });
    this.#unstallWaiters.add(wake);
    return {
      promise,
      cancel: () => {
        this.#unstallWaiters.delete(wake);
        wake();
      },
    };
  }

  splitNextEvent(opts: SplitOptions = {}): void {
    this.#splits.push({ pieces: Math.max(2, opts.pieces ?? 3), delayMs: opts.delayMs ?? 25 });
  }

  takeSplit(): SplitPlan | undefined {
    return this.#splits.shift();
  }

  reset(): void {
    this.#fails = [];
    this.#splits = [];
    this.unstall();
  }
}
