// One subscriber's view of the store's changes: a pending set keyed by service in which the latest state wins,
// so a subscriber slower than the changes holds at most one entry per service, never an unbounded queue.
import type { ServiceKey, ServiceSnapshot } from '../model.ts';

/** What one subscriber asked for: one service, one namespace, or everything. */
export type SubscriptionScope =
  | { readonly kind: 'service'; readonly key: ServiceKey }
  | { readonly kind: 'namespace'; readonly namespace: string }
  | { readonly kind: 'all' };

/**
 * A change of one service. `previous` is the state the subscriber was last told about (undefined: it did not
 * exist), `current` the state now (undefined: deleted). Both are immutable snapshots shared with other readers.
 */
export interface ServiceChange {
  readonly id: string;
  readonly key: ServiceKey;
  readonly previous: ServiceSnapshot | undefined;
  readonly current: ServiceSnapshot | undefined;
}

export interface SubscriptionHooks {
  /** Called when the pending set turns non-empty: the consumer should `take()` until it runs dry or is full. */
  readonly onPending: () => void;
  /** Counts changes that replaced a pending one the subscriber had not taken yet. */
  readonly onCoalesced: (count: number) => void;
  readonly onClose: (subscription: Subscription) => void;
}

export class Subscription {
  readonly scope: SubscriptionScope;
  readonly #pending = new Map<string, ServiceChange>();
  readonly #hooks: SubscriptionHooks;
  #closed = false;
  #coalesced = 0;

  constructor(scope: SubscriptionScope, hooks: SubscriptionHooks) {
    this.scope = scope;
    this.#hooks = hooks;
  }

  /** Changes that were merged into a newer one before the consumer took them. */
  get coalesced(): number {
    return this.#coalesced;
  }

  get closed(): boolean {
    return this.#closed;
  }

  get pendingCount(): number {
    return this.#pending.size;
  }

  /** Store side: records a change; merges it with a pending change of the same service. */
  deliver(change: ServiceChange): void {
    if (this.#closed) return;
    const earlier = this.#pending.get(change.id);
    if (earlier === undefined) {
      this.#pending.set(change.id, change);
      if (this.#pending.size === 1) this.#hooks.onPending();
      return;
    }
    this.#coalesced += 1;
    this.#hooks.onCoalesced(1);
    // The subscriber still believes `earlier.previous`; if the service went back to that, it has nothing to learn.
    if (earlier.previous?.version === change.current?.version) {
      this.#pending.delete(change.id);
    } else if (earlier instanceof MergedChange) {
      earlier.current = change.current;
    } else {
      this.#pending.set(change.id, new MergedChange(change.id, change.key, earlier.previous, change.current));
    }
  }

  /** Consumer side: the oldest pending change, or undefined when there is none. */
  take(): ServiceChange | undefined {
    // Most takes find nothing (a stream flushes again when each write completes): no iterator for those.
    if (this.#pending.size === 0) return undefined;
    const first = this.#pending.entries().next();
    if (first.done === true) return undefined;
    const [id, change] = first.value;
    this.#pending.delete(id);
    return change;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#pending.clear();
    this.#hooks.onClose(this);
  }
}

/**
 * A pending change this subscription merged, and so owns: the next merge overwrites `current` in place. A subscriber
 * that does not read is told of every change of what it watches; one new object per change for each of them
 * (thousands of never-reading streams × every change) was young garbage that each scavenge had to copy while it
 * waited. The first change of a service is the store's shared object, which is never written; it is replaced by
 * one of these on the first merge. Once taken, a change leaves the pending set and is never written again.
 */
class MergedChange implements ServiceChange {
  readonly id: string;
  readonly key: ServiceKey;
  readonly previous: ServiceSnapshot | undefined;
  current: ServiceSnapshot | undefined;

  constructor(
    id: string,
    key: ServiceKey,
    previous: ServiceSnapshot | undefined,
    current: ServiceSnapshot | undefined,
  ) {
    this.id = id;
    this.key = key;
    this.previous = previous;
    this.current = current;
  }
}
