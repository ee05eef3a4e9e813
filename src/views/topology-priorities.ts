// How a caller's pick becomes an xDS assignment's shape: tiers of endpoints in order of preference (its own
// cluster's before the others', inside each what the topology rules pick before the rest), then priorities from
// them (0 = the first tier that is not empty), one locality per (region, zone) inside each (and unique in the whole
// assignment), each IP:port once,
// empty priorities dropped and the others renumbered from 0 (notes/topology-facts.md, "What follows"). Plain data:
// the xDS door turns it into ClusterLoadAssignment messages.
import { compareStrings, type ClusterPart } from '../model.ts';
import { routableEndpoints } from './endpoint-sets.ts';
import {
  pickForCaller,
  type CallerLocality,
  type TopologyEndpoint,
  type TopologyPick,
  type TopologyPolicy,
} from './topology.ts';

/** One dial target of one Service port, with the locality of the endpoint it came from. */
export interface PlacedTarget {
  readonly address: string;
  readonly port: number;
  readonly zone?: string | undefined;
  /** The locality's region: the endpoint's cluster's region, or the cluster's name; undefined without a cluster. */
  readonly region?: string | undefined;
  /**
   * False for an endpoint that is listed but not to be used (not ready, draining): it counts in no locality's
   * weight, and a routable copy of the same IP:port wins over it. Absent: routable.
   */
  readonly routable?: boolean;
  /** Serving and terminating (DRAINING): a copy that is not routable but draining beats one that is neither. */
  readonly draining?: boolean;
}

/** The endpoints of one locality in one priority; `zone`/`region` undefined: the locality does not say it. */
export interface LocalityGroup<T extends PlacedTarget> {
  readonly region: string | undefined;
  readonly zone: string | undefined;
  /**
   * `priority-N` when this (region, zone) is also in a higher priority (a zone split by the pick: PreferSameNode's
   * node, a zone lent by topology-mode Auto), else undefined. gRPC Java keys an assignment's localities by
   * (region, zone, sub_zone) alone, whatever their priority: two groups of one locality would merge into one, and
   * endpoints of priority 0 would be lost. Each locality of an assignment is thus unique in the whole of it.
   */
  readonly subZone: string | undefined;
  /** Sorted by address, then port. */
  readonly targets: readonly T[];
  /**
   * The locality's load-balancing weight: its number of routable targets, at least 1 (gRPC drops a locality
   * without a weight; one that holds only unroutable targets is harmless with weight 1, as nothing there is used).
   */
  readonly weight: number;
}

export interface PriorityLevel<T extends PlacedTarget> {
  /** Contiguous from 0, in the order of the tiers given. */
  readonly priority: number;
  /** Sorted by region, then zone, the locality that does not say first; never empty. */
  readonly localities: readonly LocalityGroup<T>[];
}

/**
 * Groups tiers of endpoints (a pick's `[picked, rest]`) into priority levels. `place` gives an endpoint's dial
 * target for the Service port being assigned, or undefined when it has none there (no such port, not an IP
 * literal). An IP:port appears once (clients reject an assignment that lists one twice), at its best place: a
 * routable copy before a draining one before any other, then the first tier that holds it. Tiers that end up with no target are
 * dropped.
 */
export function priorityLevels<E, T extends PlacedTarget>(
  tiers: readonly (readonly E[])[],
  place: (endpoint: E) => T | undefined,
): PriorityLevel<T>[] {
  const placed = tiers.map((tier) => tier.flatMap((e) => place(e) ?? []));
  const claimed = new Map<string, T>();
  const standing = (t: T): number => (t.routable !== false ? 0 : t.draining === true ? 1 : 2);
  for (const pass of [0, 1, 2]) {
    for (const tier of placed) {
      for (const target of tier) {
        if (standing(target) !== pass) continue;
        const id = `${target.address}|${target.port}`;
        if (!claimed.has(id)) claimed.set(id, target);
      }
    }
  }
  const levels: PriorityLevel<T>[] = [];
  const localitiesAbove = new Set<string>();
  for (const tier of placed) {
    const byLocality = new Map<string, { region: string; zone: string; targets: T[] }>();
    for (const target of tier) {
      if (claimed.get(`${target.address}|${target.port}`) !== target) continue;
      const region = target.region ?? '';
      const zone = target.zone ?? '';
      // Label values contain no '|': the key names one (region, zone).
      const key = `${region}|${zone}`;
      const group = byLocality.get(key);
      if (group === undefined) byLocality.set(key, { region, zone, targets: [target] });
      else group.targets.push(target);
    }
    if (byLocality.size === 0) continue;
    const priority = levels.length;
    const localities = [...byLocality.entries()]
      .sort(([, a], [, b]) => compareStrings(a.region, b.region) || compareStrings(a.zone, b.zone))
      .map(([key, { region, zone, targets }]) => ({
        region: region === '' ? undefined : region,
        zone: zone === '' ? undefined : zone,
        subZone: localitiesAbove.has(key) ? `priority-${priority}` : undefined,
        targets: targets.sort(compareTargets),
        weight: Math.max(1, targets.filter((t) => t.routable !== false).length),
      }));
    for (const key of byLocality.keys()) localitiesAbove.add(key);
    levels.push({ priority, localities });
  }
  return levels;
}

function compareTargets(a: PlacedTarget, b: PlacedTarget): number {
  return compareStrings(a.address, b.address) || a.port - b.port;
}

/** Where an xDS caller is: its zone and node (the topology rules), and its region (named clusters). */
export interface AssignmentCaller extends CallerLocality {
  readonly region?: string | undefined;
}

/** What the tiers read of an endpoint beyond the topology rules' fields. */
export type TieredEndpoint = TopologyEndpoint & { readonly cluster?: string | undefined };

export interface CallerTiers<E> {
  /**
   * Endpoints in order of preference; tier i becomes priority i once empty tiers are dropped. Every endpoint given
   * is in exactly one tier. A tier holds routable endpoints, and the unroutable ones that belong with them.
   */
  readonly tiers: readonly (readonly E[])[];
  /** The routable endpoints among them (the others are listed for Envoy's health accounting only). */
  readonly routable: ReadonlySet<E>;
  /**
   * What decided the tiers: two callers with equal keys get equal tiers from the same endpoints. Callers on nodes
   * no endpoint is hinted for share their zone's key, so that their assignments are encoded once.
   */
  readonly key: string;
}

/**
 * The tiers of one Service port's endpoints (those that have the port) for `caller`:
 * 1. the routable set (src/views/endpoint-sets.ts), over all clusters together: a ready endpoint anywhere beats a
 *    terminating one in the caller's own cluster;
 * 2. when the caller's region is the region (or, without one, the name) of some of the Service's named clusters,
 *    the routable endpoints of those clusters first, then the others: Cilium's `affinity: local` without a mesh;
 * 3. inside each of those parts, what the topology rules pick for the caller's zone/node (src/views/topology.ts),
 *    then the rest of the part — the REST and gRPC doors' pick, tier for tier;
 * 4. unroutable endpoints (not ready, draining) go with a copy of their address if there is one, else with their
 *    part's pick when it matched them (hinted for the caller's node or zone, or the pick took all), else with the
 *    rest; never into a tier with nothing routable (a priority with nothing to route to would only delay clients):
 *    then into the nearest tier after it that has something, else the one before. With nothing routable at all,
 *    all are one tier.
 * A caller without locality gets one tier, the routable set, as before topology.
 */
export function callerTiers<E extends TieredEndpoint>(
  endpoints: readonly E[],
  policy: TopologyPolicy,
  caller: AssignmentCaller | undefined,
  clusters: readonly ClusterPart[] | undefined,
): CallerTiers<E> {
  const routable = routableEndpoints(endpoints);
  const region = caller?.region;
  const own = new Set(
    region === undefined || region === ''
      ? []
      : (clusters ?? []).filter((c) => (c.region ?? c.name) === region).map((c) => c.name),
  );
  const isOwn = (e: E): boolean => e.cluster !== undefined && own.has(e.cluster);
  const parts = own.size === 0 ? [routable] : [routable.filter(isOwn), routable.filter((e) => !isOwn(e))];
  const where = { zone: caller?.zone, node: caller?.node };
  const picks = parts.map((part) =>
    part.length === 0 ? undefined : pickForCaller({ ...policy, endpoints: part }, where),
  );
  const tiers: E[][] = picks.flatMap((pick) => [[...(pick?.picked ?? [])], [...(pick?.rest ?? [])]]);

  const routableSet = new Set<E>(routable);
  const tierOfAddress = new Map<string, number>();
  tiers.forEach((tier, index) => {
    for (const e of tier) {
      const address = e.addresses[0];
      if (address !== undefined && !tierOfAddress.has(address)) tierOfAddress.set(address, index);
    }
  });
  const unroutable = endpoints.filter((e) => !routableSet.has(e));
  if (routable.length === 0)
    return { tiers: [[...unroutable]], routable: routableSet, key: keyOf(own, picks) };
  for (const e of unroutable) {
    const partIndex = own.size === 0 || isOwn(e) ? 0 : 1;
    const address = e.addresses[0];
    const byAddress = address === undefined ? undefined : tierOfAddress.get(address);
    const pick = picks[partIndex];
    const wanted = byAddress ?? partIndex * 2 + (pick === undefined || pickedBy(pick, e, where) ? 0 : 1);
    tiers[nearestRoutable(tiers, routableSet, wanted)]?.push(e);
  }
  return { tiers, routable: routableSet, key: keyOf(own, picks) };
}

/** Whether a pick would have taken `e` had it been routable: it took all, or `e` has the hint that decided. */
function pickedBy<E extends TopologyEndpoint>(
  pick: TopologyPick<E>,
  e: TopologyEndpoint,
  caller: CallerLocality,
): boolean {
  switch (pick.explanation.matched) {
    case 'none':
      return true;
    case 'node':
      return caller.node !== undefined && e.hintsForNodes?.includes(caller.node) === true;
    case 'zone':
      return caller.zone !== undefined && e.hintsForZones?.includes(caller.zone) === true;
  }
}

/** `wanted` if it holds a routable endpoint, else the nearest tier after it that does, else before it. */
function nearestRoutable<E>(
  tiers: readonly (readonly E[])[],
  routable: ReadonlySet<E>,
  wanted: number,
): number {
  const has = (i: number): boolean => tiers[i]?.some((e) => routable.has(e)) === true;
  for (let i = wanted; i < tiers.length; i++) if (has(i)) return i;
  for (let i = wanted - 1; i >= 0; i--) if (has(i)) return i;
  return 0;
}

/**
 * The key of the tiers of a caller that says nothing — and of every caller whose tiers are those: no own cluster,
 * and a pick that took everything (or nothing was routable). They share one encoding.
 */
export const ANYONE_TIERS_KEY = 'anyone';

/** The tiers' key: the caller's own clusters, and per part which hints decided (and for which node or zone). */
function keyOf<E>(own: ReadonlySet<string>, picks: readonly (TopologyPick<E> | undefined)[]): string {
  const decided = picks.map((pick) => {
    if (pick === undefined) return '-';
    const { matched, node, zone } = pick.explanation;
    return matched === 'node' ? `node=${node ?? ''}` : matched === 'zone' ? `zone=${zone ?? ''}` : 'all';
  });
  if (own.size === 0 && (decided[0] === 'all' || decided[0] === '-')) return ANYONE_TIERS_KEY;
  return `own=${[...own].sort().join(',')};${decided.join(';')}`;
}
