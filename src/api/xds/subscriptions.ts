// Which ADS streams care about which Service, and telling them — only them — when it changes. One store
// subscription (scope: all) feeds every stream of the server; the store's latest-wins coalescing means a burst of
// changes to one Service reaches the streams as one. Per change the cost is the streams subscribed to that
// Service (plus wildcard streams), never all streams.
import type { StoreReader } from '../../store/faces.ts';
import type { Subscription } from '../../store/subscription.ts';
import type { ResourceCatalog } from './catalog.ts';
import { parseResourceName } from './naming.ts';

/** A stream, as the fan-out sees it. */
export interface ChangeListener {
  /** Some of the Services this listener watches (all, for a wildcard listener) changed. */
  servicesChanged(serviceIds: ReadonlySet<string>): void;
}

export class ServiceWatchers {
  readonly #store: StoreReader;
  readonly #catalog: ResourceCatalog;
  readonly #byService = new Map<string, Set<ChangeListener>>();
  readonly #wildcard = new Set<ChangeListener>();
  #subscription: Subscription | undefined;
  #draining = false;

  constructor(store: StoreReader, catalog: ResourceCatalog) {
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
    entryOf(this.#byService, serviceId, () => new Set()).add(listener);
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
        entryOf(told, listener, () => new Set<string>()).add(id);
      }
    }
    for (const listener of this.#wildcard) told.set(listener, changed);
    for (const [listener, ids] of told) listener.servicesChanged(ids);
  }
}

/**
 * One stream's registrations with the fan-out, kept by name as the stream's subscriptions change: a name added
 * or removed costs one map update, never a walk of everything the stream holds. It also answers, for a changed
 * Service, which of the stream's names (per type URL) belong to it.
 */
export class ServiceInterest {
  readonly #watchers: ServiceWatchers;
  readonly #listener: ChangeListener;
  /** Service id → type URL → the subscribed names of that Service. */
  readonly #byService = new Map<string, Map<string, Set<string>>>();
  readonly #wildcardTypes = new Set<string>();

  constructor(watchers: ServiceWatchers, listener: ChangeListener) {
    this.#watchers = watchers;
    this.#listener = listener;
  }

  /** The stream subscribed to `name` of `typeUrl` (a name outside the naming scheme never changes: ignored). */
  add(typeUrl: string, name: string): void {
    const id = parseResourceName(name)?.serviceId;
    if (id === undefined) return;
    const types = entryOf(this.#byService, id, () => {
      this.#watchers.watch(id, this.#listener);
      return new Map<string, Set<string>>();
    });
    entryOf(types, typeUrl, () => new Set<string>()).add(name);
  }

  remove(typeUrl: string, name: string): void {
    const id = parseResourceName(name)?.serviceId;
    if (id === undefined) return;
    const types = this.#byService.get(id);
    const names = types?.get(typeUrl);
    if (types === undefined || names === undefined) return;
    names.delete(name);
    if (names.size > 0) return;
    types.delete(typeUrl);
    if (types.size > 0) return;
    this.#byService.delete(id);
    this.#watchers.unwatch(id, this.#listener);
  }

  setWildcard(typeUrl: string, on: boolean): void {
    if (on) this.#wildcardTypes.add(typeUrl);
    else this.#wildcardTypes.delete(typeUrl);
    this.#watchers.setWildcard(this.#listener, this.#wildcardTypes.size > 0);
  }

  /** Per type URL, the names of Service `serviceId` the stream subscribes to. */
  namesOf(serviceId: string): ReadonlyMap<string, ReadonlySet<string>> {
    return this.#byService.get(serviceId) ?? EMPTY;
  }

  /** Drops every registration (the stream ended). */
  clear(): void {
    for (const id of this.#byService.keys()) this.#watchers.unwatch(id, this.#listener);
    this.#byService.clear();
    this.#wildcardTypes.clear();
    this.#watchers.setWildcard(this.#listener, false);
  }
}

const EMPTY: ReadonlyMap<string, ReadonlySet<string>> = new Map();

/** The value of `key` in `map`, made by `create` (and kept) the first time. */
function entryOf<K, V>(map: Map<K, V>, key: K, create: () => V): V {
  let value = map.get(key);
  if (value === undefined) map.set(key, (value = create()));
  return value;
}
