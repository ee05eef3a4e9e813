// The union of several named clusters' Services, written to the store as one definition per Service. Each
// cluster hands in its own assembled state of a Service (its share); the merge tags every endpoint with its
// cluster, keeps every cluster's endpoints (deduplicated inside a cluster by the converters, never across them),
// resolves the Service object's properties oldest-wins as the MCS API does, and marks a failing cluster's share
// stale. The merge happens before the store: the store shadows one source's definition by another's, and a union
// must not shadow (consul-k8s #579: clusters overwriting each other).
import type { Logger } from 'pino';
import {
  compareEndpointPorts,
  compareStrings,
  serviceKeyString,
  topologyAsked,
  type ClusterPart,
  type Endpoint,
  type EndpointPort,
  type ServiceConflict,
  type ServiceEndpoints,
  type ServiceInfo,
  type ServiceKey,
} from '../../model.ts';
import type { StoreWriter } from '../../store/faces.ts';

/** A named cluster as the configuration gives it. */
export interface ClusterIdentity {
  /** A DNS-1123 label, unique among the clusters; it enters content versions, so keep it stable. */
  readonly name: string;
  readonly region?: string | undefined;
}

/** One cluster's state of one Service. */
export interface ClusterShare {
  /**
   * As the cluster's objects assemble it: a slice's endpoints carry the cluster already (the source writes it as it
   * converts them), an Endpoints object's not yet.
   */
  readonly service: ServiceEndpoints;
  /** The Service object's creationTimestamp (ms since the epoch); undefined without a Service object. */
  readonly createdAt: number | undefined;
}

/** Told when a conflict appears (it is logged too); for the metrics. */
export interface ConflictObserver {
  onAddressConflict?(key: ServiceKey, address: string, clusters: readonly string[]): void;
  onServiceConflict?(key: ServiceKey, conflict: ServiceConflict): void;
}

export interface ClusterMergeOptions {
  readonly store: StoreWriter;
  /** The name the merged definitions are written under in the store. */
  readonly source: string;
  readonly clusters: readonly ClusterIdentity[];
  readonly logger: Logger;
  readonly observer?: ConflictObserver;
}

/** What the merge holds now, for metrics and tests. */
export interface MergeStats {
  /** Addresses that two or more clusters give for the same Service, now. */
  readonly addressConflicts: number;
  /** Service properties the clusters disagree on, now (one per Service and field). */
  readonly serviceConflicts: number;
}

/**
 * A share as held: its endpoints tagged with the cluster, made once per share (a merge only concatenates them),
 * and in place of the untagged ones, so that each endpoint is held once.
 */
type HeldShare = ClusterShare;

interface MergedState {
  readonly shares: Map<string, HeldShare>;
  /** Conflict signatures now present, so that each is logged and counted once when it appears. */
  addressConflicts: ReadonlySet<string>;
  serviceConflicts: ReadonlySet<string>;
}

const NO_CONFLICTS: ReadonlySet<string> = new Set();
/** Addresses named in one conflict log line; the rest are counted. */
const LOGGED_ADDRESSES = 10;

export class ClusterMerge {
  readonly #options: ClusterMergeOptions;
  readonly #identities: ReadonlyMap<string, ClusterIdentity>;
  /** Clusters whose share is the last known one (their watches are failing). */
  readonly #stale = new Set<string>();
  /** service id → every cluster's share of it. */
  readonly #services = new Map<string, MergedState>();
  readonly #keys = new Map<string, ServiceKey>();
  #addressConflicts = 0;
  #serviceConflicts = 0;

  constructor(options: ClusterMergeOptions) {
    this.#options = options;
    this.#identities = new Map(options.clusters.map((c) => [c.name, c]));
  }

  /** Sets (or, with undefined, removes) `cluster`'s share of a Service and writes the merged state. */
  set(cluster: string, key: ServiceKey, share: ClusterShare | undefined): void {
    this.setShares(cluster, [[key, share]]);
  }

  /**
   * Sets several of `cluster`'s shares and, when `stale` is given, its staleness, writing each Service once: a
   * cluster that comes back current with the state its relist found must not be written current with its old
   * shares first (a watcher would be told its pre-outage endpoints are current), nor stale with the new ones.
   */
  setShares(
    cluster: string,
    changes: Iterable<readonly [ServiceKey, ClusterShare | undefined]>,
    stale?: boolean,
  ): void {
    if (!this.#identities.has(cluster)) throw new Error(`unknown cluster ${cluster}`);
    const flipped = stale !== undefined && this.#stale.has(cluster) !== stale;
    if (flipped) {
      if (stale) this.#stale.add(cluster);
      else this.#stale.delete(cluster);
    }
    // Kept only when the staleness flips, to rewrite the cluster's other Services once: not on every change.
    const written = flipped ? new Set<string>() : undefined;
    for (const [key, share] of changes) {
      const id = serviceKeyString(key);
      const state = this.#setShare(cluster, id, key, share);
      if (state === undefined) continue;
      written?.add(id);
      this.#write(id, state);
    }
    if (written === undefined) return;
    for (const [id, state] of this.#services) {
      if (!written.has(id) && state.shares.has(cluster)) this.#write(id, state);
    }
  }

  /** The Service's state with `cluster`'s share set or removed; undefined when nothing changed. */
  #setShare(
    cluster: string,
    id: string,
    key: ServiceKey,
    share: ClusterShare | undefined,
  ): MergedState | undefined {
    let state = this.#services.get(id);
    if (share === undefined) return state?.shares.delete(cluster) === true ? state : undefined;
    if (state === undefined) {
      state = { shares: new Map(), addressConflicts: NO_CONFLICTS, serviceConflicts: NO_CONFLICTS };
      this.#services.set(id, state);
      this.#keys.set(id, { namespace: key.namespace, name: key.name });
    }
    // Slices' endpoints come with their cluster written (the source files them so): kept as they are. Endpoints
    // objects' are converted on each change, and copied with it.
    const endpoints: Endpoint[] = share.service.endpoints.map((e) =>
      e.cluster === cluster ? e : { ...e, cluster },
    );
    state.shares.set(cluster, { ...share, service: { ...share.service, endpoints } });
    return state;
  }

  /** Marks a cluster's shares as the last known ones (or current again); every Service it defines is rewritten. */
  setStale(cluster: string, stale: boolean): void {
    this.setShares(cluster, [], stale);
  }

  isStale(cluster: string): boolean {
    return this.#stale.has(cluster);
  }

  stats(): MergeStats {
    return { addressConflicts: this.#addressConflicts, serviceConflicts: this.#serviceConflicts };
  }

  #write(id: string, state: MergedState | undefined): void {
    const key = this.#keys.get(id);
    if (key === undefined || state === undefined) return;
    if (state.shares.size === 0) {
      this.#track(key, state, new Map(), []);
      this.#services.delete(id);
      this.#keys.delete(id);
      this.#options.store.delete(this.#options.source, key);
      return;
    }
    const shares = [...state.shares].sort(([a], [b]) => compareStrings(a, b));
    const { service, conflicts } = resolveServiceObject(shares);
    const endpoints = shares.flatMap(([, share]) => share.service.endpoints);
    this.#track(key, state, sharedAddresses(shares), conflicts);
    const merged: ServiceEndpoints = {
      namespace: key.namespace,
      name: key.name,
      ports: unionOfPorts(shares.map(([, share]) => share.service.ports)),
      endpoints,
      ...(shares.some(([, share]) => share.service.truncated === true) ? { truncated: true } : {}),
      ...(service === undefined ? {} : { service }),
      clusters: shares.map(([name, share]) => this.#part(name, share.service.truncated === true)),
      ...(conflicts.length > 0 ? { conflicts } : {}),
    };
    this.#options.store.upsert(this.#options.source, merged);
  }

  #part(name: string, truncated: boolean): ClusterPart {
    const region = this.#identities.get(name)?.region;
    return {
      name,
      ...(region === undefined ? {} : { region }),
      stale: this.#stale.has(name),
      ...(truncated ? { truncated: true as const } : {}),
    };
  }

  /** Logs and counts the conflicts that appeared, logs those that went away, and keeps the current totals. */
  #track(
    key: ServiceKey,
    state: MergedState,
    addresses: ReadonlyMap<string, readonly string[]>,
    conflicts: readonly ServiceConflict[],
  ): void {
    const service = serviceKeyString(key);
    const { logger, observer } = this.#options;
    const addressNow = new Set(addresses.keys());
    // One line per Service and change, however many addresses: two clusters on the same default pod CIDR would
    // otherwise log every pod.
    const appeared = [...addresses].filter(([address]) => !state.addressConflicts.has(address));
    for (const [address, clusters] of appeared) observer?.onAddressConflict?.(key, address, clusters);
    if (appeared.length > 0) {
      logger.warn(
        {
          service,
          addresses: appeared
            .slice(0, LOGGED_ADDRESSES)
            .map(([address, clusters]) => ({ address, clusters })),
          count: appeared.length,
        },
        'the same address comes from several clusters (overlapping pod networks?): serving every copy, each with its cluster',
      );
    }
    const resolved = [...state.addressConflicts].filter((address) => !addressNow.has(address));
    if (resolved.length > 0) {
      logger.info(
        { service, addresses: resolved.slice(0, LOGGED_ADDRESSES), count: resolved.length },
        'address conflict between clusters resolved',
      );
    }
    const signed = conflicts.map((c): [string, ServiceConflict] => [
      `${c.field} ${c.servedFrom} ${c.ignored.join(',')}`,
      c,
    ]);
    const serviceNow = new Set(signed.map(([signature]) => signature));
    for (const [signature, conflict] of signed) {
      if (state.serviceConflicts.has(signature)) continue;
      logger.warn(
        { service, field: conflict.field, servedFrom: conflict.servedFrom, ignored: conflict.ignored },
        "the clusters' Service objects disagree: serving the oldest one's",
      );
      observer?.onServiceConflict?.(key, conflict);
    }
    for (const signature of state.serviceConflicts) {
      if (!serviceNow.has(signature))
        logger.info({ service, conflict: signature }, 'Service conflict resolved');
    }
    this.#addressConflicts += addressNow.size - state.addressConflicts.size;
    this.#serviceConflicts += serviceNow.size - state.serviceConflicts.size;
    // Conflicts are rare: the thousands of Services without any share one empty set.
    state.addressConflicts = addressNow.size === 0 ? NO_CONFLICTS : addressNow;
    state.serviceConflicts = serviceNow.size === 0 ? NO_CONFLICTS : serviceNow;
  }
}

/**
 * The Service object to serve and where the clusters disagree: the oldest Service object wins (creationTimestamp,
 * then the cluster name), as the MCS API resolves conflicting exports. `shares` is sorted by cluster name.
 */
export function resolveServiceObject(shares: ReadonlyArray<readonly [string, ClusterShare]>): {
  readonly service: ServiceInfo | undefined;
  readonly conflicts: ServiceConflict[];
} {
  const withObject = shares
    .filter(([, share]) => share.service.service !== undefined)
    .sort(
      ([a, x], [b, y]) =>
        (x.createdAt ?? Number.POSITIVE_INFINITY) - (y.createdAt ?? Number.POSITIVE_INFINITY) ||
        compareStrings(a, b),
    );
  const [oldest] = withObject;
  const winner = oldest?.[1].service.service;
  if (oldest === undefined || winner === undefined) return { service: undefined, conflicts: [] };
  if (withObject.length === 1) return { service: winner, conflicts: [] };
  const fields: ReadonlyArray<[ServiceConflict['field'], (info: ServiceInfo) => string]> = [
    ['headless', (info) => String(info.headless)],
    ['ports', (info) => JSON.stringify(info.ports.map((p) => [p.name, p.port, p.protocol]))],
    // What decides a caller's answer (src/views/topology.ts), as the rules read it: `auto` under the older
    // annotation is Auto, an unknown trafficDistribution is none. Clusters that disagree get the oldest one's.
    ['topologyMode', (info) => String(topologyAsked({ topologyMode: info.topologyMode }) === 'hints')],
    ['trafficDistribution', (info) => topologyAsked({ trafficDistribution: info.trafficDistribution })],
    ['type', (info) => info.type],
  ];
  const conflicts: ServiceConflict[] = [];
  for (const [field, valueOf] of fields) {
    const served = valueOf(winner);
    const ignored = withObject
      .filter(([, share]) => share.service.service !== undefined && valueOf(share.service.service) !== served)
      .map(([name]) => name)
      .sort(compareStrings);
    if (ignored.length > 0) conflicts.push({ field, servedFrom: oldest[0], ignored });
  }
  return { service: winner, conflicts };
}

/** Addresses (an endpoint's first) that more than one cluster gives, with those clusters. */
function sharedAddresses(shares: ReadonlyArray<readonly [string, HeldShare]>): Map<string, string[]> {
  const shared = new Map<string, string[]>();
  if (shares.length < 2) return shared;
  const owners = new Map<string, string>();
  for (const [cluster, share] of shares) {
    for (const endpoint of share.service.endpoints) {
      const address = endpoint.addresses[0];
      if (address === undefined) continue;
      const first = owners.get(address);
      if (first === undefined) owners.set(address, cluster);
      else if (first !== cluster) {
        const clusters = shared.get(address) ?? [first];
        if (!clusters.includes(cluster)) clusters.push(cluster);
        shared.set(address, clusters);
      }
    }
  }
  return shared;
}

function unionOfPorts(lists: ReadonlyArray<readonly EndpointPort[]>): EndpointPort[] {
  if (lists.length === 1) return [...(lists[0] ?? [])];
  const byIdentity = new Map<string, EndpointPort>();
  for (const list of lists) {
    for (const p of list) byIdentity.set(`${p.name}|${p.port}|${p.protocol}|${p.appProtocol ?? ''}`, p);
  }
  return [...byIdentity.values()].sort(compareEndpointPorts);
}
