// The versioned endpoint store: the current state of every Service, written by sources and read by the front
// doors. It versions each state by content, drops updates that change nothing, and fans each change out to the
// subscribers of that service, of its namespace, and of everything — and to no one else, so that the cost of a
// change follows that service and its subscribers, not the size of the store. Sources and doors see it only through
// its two faces (faces.ts): a writer and a reader.
import {
  compareStrings,
  serviceKeyString,
  withVersion,
  type ServiceEndpoints,
  type ServiceKey,
  type ServiceSnapshot,
} from '../model.ts';
import { getOrCreate } from '../maps.ts';
import { EncodedCache } from './encoded-cache.ts';
import type { StoreReader, StoreWriter, UpsertResult } from './faces.ts';
import { Subscription, type ServiceChange, type SubscriptionScope } from './subscription.ts';

/**
 * Told when two sources define the same Service: the first source (in the order of `rankSources`, else the one
 * that wrote it first) serves it, the other is ignored.
 */
export interface ConflictReport {
  readonly key: ServiceKey;
  readonly servedFrom: string;
  readonly ignoredFrom: string;
}

export interface EndpointStoreOptions {
  /** Upper bound of cached encoded forms, in bytes. */
  readonly encodedCacheBytes: number;
  readonly onConflict?: (report: ConflictReport) => void;
}

export interface StoreStats {
  readonly services: number;
  readonly endpoints: number;
  readonly subscribers: number;
  readonly coalescedUpdates: number;
  readonly changes: number;
}

export class EndpointStore implements StoreWriter, StoreReader {
  readonly encoded: EncodedCache;
  readonly #options: EndpointStoreOptions;
  /**
   * Per service, the definition of each source that has one, in the order they arrived; the one of the best-ranked
   * source is served (the first to arrive among sources without a rank).
   */
  readonly #definitions = new Map<string, Map<string, ServiceSnapshot>>();
  /** The rank of each source that writes, by its name: the order of the command line's sources. */
  readonly #ranks = new Map<string, number>();
  readonly #services = new Map<string, ServiceSnapshot>();
  readonly #ids = new WeakMap<ServiceKey, string>();
  readonly #serviceSubscribers = new Map<string, Set<Subscription>>();
  readonly #namespaceSubscribers = new Map<string, Set<Subscription>>();
  readonly #allSubscribers = new Set<Subscription>();
  #endpointCount = 0;
  #coalesced = 0;
  #changes = 0;

  constructor(options: EndpointStoreOptions) {
    this.#options = options;
    this.encoded = new EncodedCache(options.encodedCacheBytes);
  }

  /**
   * The order in which sources win a Service that several define: the first of `names` first. Given before the
   * sources start, so that which one serves does not depend on which finishes reading first (the answer, and its
   * version, would then differ between replicas and restarts). Sources not named rank after, in arrival order.
   */
  rankSources(names: readonly string[]): void {
    for (const name of names) if (!this.#ranks.has(name)) this.#ranks.set(name, this.#ranks.size);
  }

  /** The source whose definition is served: the best-ranked, the first to arrive among equals. */
  #servedSource(definitions: ReadonlyMap<string, ServiceSnapshot>): string | undefined {
    let best: string | undefined;
    for (const source of definitions.keys()) {
      if (best === undefined || this.#outranks(source, best)) best = source;
    }
    return best;
  }

  /** `source` wins a Service over `other` (unranked sources rank after every ranked one, and tie). */
  #outranks(source: string, other: string): boolean {
    return (
      (this.#ranks.get(source) ?? Number.POSITIVE_INFINITY) <
      (this.#ranks.get(other) ?? Number.POSITIVE_INFINITY)
    );
  }

  get(key: ServiceKey): ServiceSnapshot | undefined {
    return this.#services.get(this.#idOf(key));
  }

  /**
   * The id of a key object, remembered per object: the doors ask again and again with the same key (a repeated
   * lookup's, a stream's), and building `namespace/name` and hashing it anew was a measurable part of a lookup.
   */
  #idOf(key: ServiceKey): string {
    let id = this.#ids.get(key);
    if (id === undefined) {
      id = serviceKeyString(key);
      this.#ids.set(key, id);
    }
    return id;
  }

  /** Every service (of one namespace when given), sorted by namespace then name. */
  list(namespace?: string): ServiceSnapshot[] {
    const all = [...this.#services.values()];
    const selected = namespace === undefined ? all : all.filter((s) => s.namespace === namespace);
    return selected.sort(
      (a, b) => compareStrings(a.namespace, b.namespace) || compareStrings(a.name, b.name),
    );
  }

  /**
   * Sets `source`'s definition of a service. Returns 'unchanged' when the content (hence the version) is the one
   * already held: nobody is notified. A service another source defines too is served from the better-ranked of
   * the two (`rankSources`): the other's definition is kept, unserved ('shadowed'), and the conflict is reported.
   */
  upsert(source: string, service: ServiceEndpoints): UpsertResult {
    const id = serviceKeyString(service);
    const snapshot = withVersion(service);
    const definitions = getOrCreate(this.#definitions, id, () => new Map<string, ServiceSnapshot>());
    const previousDefinition = definitions.get(source);
    if (previousDefinition?.version === snapshot.version) return 'unchanged';
    const servedBefore = this.#servedSource(definitions);
    definitions.set(source, snapshot);
    // Adding or changing one definition moves the service only to that source, and only when it outranks.
    const servedFrom =
      servedBefore === undefined || servedBefore === source || this.#outranks(source, servedBefore)
        ? source
        : servedBefore;
    if (servedFrom !== source) {
      if (previousDefinition === undefined && servedFrom !== undefined) {
        this.#reportConflict(service, servedFrom, source);
      }
      return 'shadowed';
    }
    // A better-ranked source that wrote later takes the service over.
    if (previousDefinition === undefined && servedBefore !== undefined) {
      this.#reportConflict(service, source, servedBefore);
    }
    const previous = this.#services.get(id);
    this.#publish(id, service, previous, snapshot);
    return previous === undefined ? 'created' : 'updated';
  }

  #reportConflict(key: ServiceKey, servedFrom: string, ignoredFrom: string): void {
    this.#options.onConflict?.({
      key: { namespace: key.namespace, name: key.name },
      servedFrom,
      ignoredFrom,
    });
  }

  /** Removes `source`'s definition; another source's definition of the same service, if any, takes over. */
  delete(source: string, key: ServiceKey): boolean {
    const id = serviceKeyString(key);
    const definitions = this.#definitions.get(id);
    if (definitions?.delete(source) !== true) return false;
    const nextSource = this.#servedSource(definitions);
    const next = nextSource === undefined ? undefined : definitions.get(nextSource);
    if (next === undefined) this.#definitions.delete(id);
    const previous = this.#services.get(id);
    if (previous?.version !== next?.version) this.#publish(id, key, previous, next);
    return true;
  }

  /** Services currently defined by `source` (served or shadowed). */
  keysOf(source: string): ServiceKey[] {
    const keys: ServiceKey[] = [];
    for (const definitions of this.#definitions.values()) {
      const definition = definitions.get(source);
      if (definition !== undefined) keys.push({ namespace: definition.namespace, name: definition.name });
    }
    return keys;
  }

  /**
   * Registers a subscriber. It is told of changes only; a consumer that needs the current state first reads it
   * with get()/list() right after subscribing (both are synchronous, so nothing can slip in between).
   */
  subscribe(scope: SubscriptionScope, onPending: () => void): Subscription {
    const subscription = new Subscription(scope, {
      onPending,
      onCoalesced: (count) => {
        this.#coalesced += count;
      },
      onClose: (closed) => this.#unregister(closed),
    });
    this.#register(subscription);
    return subscription;
  }

  stats(): StoreStats {
    let subscribers = this.#allSubscribers.size;
    for (const set of this.#serviceSubscribers.values()) subscribers += set.size;
    for (const set of this.#namespaceSubscribers.values()) subscribers += set.size;
    return {
      services: this.#services.size,
      endpoints: this.#endpointCount,
      subscribers,
      coalescedUpdates: this.#coalesced,
      changes: this.#changes,
    };
  }

  #publish(
    id: string,
    key: ServiceKey,
    previous: ServiceSnapshot | undefined,
    current: ServiceSnapshot | undefined,
  ): void {
    if (current === undefined) this.#services.delete(id);
    else this.#services.set(id, current);
    this.#endpointCount += (current?.endpoints.length ?? 0) - (previous?.endpoints.length ?? 0);
    this.#changes += 1;
    const change: ServiceChange = {
      id,
      key: { namespace: key.namespace, name: key.name },
      previous,
      current,
    };
    // Deliver to a copy of each set: a subscriber may close itself (or another) from its onPending hook.
    for (const set of [
      this.#serviceSubscribers.get(id),
      this.#namespaceSubscribers.get(key.namespace),
      this.#allSubscribers,
    ]) {
      if (set === undefined || set.size === 0) continue;
      for (const subscription of [...set]) subscription.deliver(change);
    }
  }

  #register(subscription: Subscription): void {
    const scope = subscription.scope;
    if (scope.kind === 'all') this.#allSubscribers.add(subscription);
    else if (scope.kind === 'namespace') addTo(this.#namespaceSubscribers, scope.namespace, subscription);
    else addTo(this.#serviceSubscribers, serviceKeyString(scope.key), subscription);
  }

  #unregister(subscription: Subscription): void {
    const scope = subscription.scope;
    if (scope.kind === 'all') this.#allSubscribers.delete(subscription);
    else if (scope.kind === 'namespace')
      removeFrom(this.#namespaceSubscribers, scope.namespace, subscription);
    else removeFrom(this.#serviceSubscribers, serviceKeyString(scope.key), subscription);
  }
}

function addTo(index: Map<string, Set<Subscription>>, id: string, subscription: Subscription): void {
  getOrCreate(index, id, () => new Set<Subscription>()).add(subscription);
}

function removeFrom(index: Map<string, Set<Subscription>>, id: string, subscription: Subscription): void {
  const set = index.get(id);
  if (set === undefined) return;
  set.delete(subscription);
  if (set.size === 0) index.delete(id);
}
