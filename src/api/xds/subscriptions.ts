// Which ADS streams care about which Service, and telling them — only them — when it changes. One store
// subscription (scope: all) feeds every stream of the server; the store's latest-wins coalescing means a burst of
// changes to one Service reaches the streams as one. Per change the cost is the streams subscribed to that
// Service (plus wildcard streams), never all streams.
import type { EndpointStore } from '../../store/endpoint-store.ts';
import type { Subscription } from '../../store/subscription.ts';
import type { ResourceCatalog } from './catalog.ts';
import { parseResourceName } from './naming.ts';

/** A stream, as the fan-out sees it. */
export interface ChangeListener {
  /** Some of the Services this listener watches (all, for a wildcard listener) changed. */
  servicesChanged(serviceIds: ReadonlySet<string>): void;
}

export class ServiceWatchers {
  readonly #store: EndpointStore;
  readonly #catalog: ResourceCatalog;
  readonly #byService = new Map<string, Set<ChangeListener>>();
  readonly #wildcard = new Set<ChangeListener>();
  #subscription: Subscription | undefined;
  #draining = false;

  constructor(store: EndpointStore, catalog: ResourceCatalog) {
    this.#store = store;
    this.#catalog = catalog;
  }

  /** Starts following the store (idempotent); until then no listener is told anything. */
  start(): void {
    if (this.#subscription !== undefined) return;
    this.#subscription = this.#store.subscribe({ kind: 'all' }, () => {
      if (this.#draining) return;
      this.#draining = true;
      // One turn of the event loop gathers a burst of store writes (a file or a relist) into one notification.
      setImmediate(() => this.#drain());
    });
  }

  stop(): void {
    this.#subscription?.close();
    this.#subscription = undefined;
  }

  watch(serviceId: string, listener: ChangeListener): void {
    let set = this.#byService.get(serviceId);
    if (set === undefined) {
      set = new Set();
      this.#byService.set(serviceId, set);
    }
    set.add(listener);
  }

  unwatch(serviceId: string, listener: ChangeListener): void {
    const set = this.#byService.get(serviceId);
    if (set === undefined) return;
    set.delete(listener);
    if (set.size === 0) this.#byService.delete(serviceId);
  }

  setWildcard(listener: ChangeListener, on: boolean): void {
    if (on) this.#wildcard.add(listener);
    else this.#wildcard.delete(listener);
  }

  /** Services watched by at least one stream (for stats). */
  get watchedServices(): number {
    return this.#byService.size;
  }

  #drain(): void {
    this.#draining = false;
    const subscription = this.#subscription;
    if (subscription === undefined) return;
    const changed = new Set<string>();
    for (let change = subscription.take(); change !== undefined; change = subscription.take()) {
      changed.add(change.id);
    }
    if (changed.size === 0) return;
    this.#catalog.invalidateWildcard();
    const told = new Map<ChangeListener, Set<string>>();
    for (const id of changed) {
      for (const listener of this.#byService.get(id) ?? []) {
        let ids = told.get(listener);
        if (ids === undefined) {
          ids = new Set();
          told.set(listener, ids);
        }
        ids.add(id);
      }
    }
    for (const listener of this.#wildcard) told.set(listener, changed);
    for (const [listener, ids] of told) listener.servicesChanged(ids);
  }
}

/**
 * One stream's registrations with the fan-out: given the names it subscribes to, it watches exactly the Services
 * those names belong to, adding and dropping registrations as the names change.
 */
export class ServiceInterest {
  readonly #watchers: ServiceWatchers;
  readonly #listener: ChangeListener;
  readonly #namesByType = new Map<string, ReadonlySet<string>>();
  readonly #wildcardTypes = new Set<string>();
  #watched = new Set<string>();

  constructor(watchers: ServiceWatchers, listener: ChangeListener) {
    this.#watchers = watchers;
    this.#listener = listener;
  }

  /** Records what the stream subscribes to for one type URL, then updates the registrations. */
  update(typeUrl: string, names: ReadonlySet<string>, wildcard: boolean): void {
    this.#namesByType.set(typeUrl, names);
    if (wildcard) this.#wildcardTypes.add(typeUrl);
    else this.#wildcardTypes.delete(typeUrl);
    const next = new Set<string>();
    for (const set of this.#namesByType.values()) {
      for (const name of set) {
        const parsed = parseResourceName(name);
        if (parsed !== undefined) next.add(parsed.serviceId);
      }
    }
    for (const id of next) if (!this.#watched.has(id)) this.#watchers.watch(id, this.#listener);
    for (const id of this.#watched) if (!next.has(id)) this.#watchers.unwatch(id, this.#listener);
    this.#watched = next;
    this.#watchers.setWildcard(this.#listener, this.#wildcardTypes.size > 0);
  }

  /** Drops every registration (the stream ended). */
  clear(): void {
    for (const id of this.#watched) this.#watchers.unwatch(id, this.#listener);
    this.#watched.clear();
    this.#namesByType.clear();
    this.#wildcardTypes.clear();
    this.#watchers.setWildcard(this.#listener, false);
  }
}
