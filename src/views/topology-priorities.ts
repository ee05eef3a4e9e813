// How a caller's pick becomes an xDS assignment's shape: priorities (0 = picked, 1 = the rest), one locality per
// zone inside each, each IP:port once, empty priorities dropped and the others renumbered from 0
// (notes/topology-facts.md, "What follows"). Plain data: the xDS door turns it into ClusterLoadAssignment messages.
import { compareStrings } from '../model.ts';

/** One dial target of one Service port, with the zone of the endpoint it came from. */
export interface PlacedTarget {
  readonly address: string;
  readonly port: number;
  readonly zone?: string | undefined;
}

/** The endpoints of one zone in one priority; `zone` undefined is the empty locality (endpoints without a zone). */
export interface LocalityGroup<T extends PlacedTarget> {
  readonly zone: string | undefined;
  /** Sorted by address, then port. */
  readonly targets: readonly T[];
  /** The locality's load-balancing weight: its number of targets (at least 1: gRPC drops a group without one). */
  readonly weight: number;
}

export interface PriorityLevel<T extends PlacedTarget> {
  /** Contiguous from 0, in the order of the tiers given. */
  readonly priority: number;
  /** Sorted by zone, the empty locality first; never empty. */
  readonly localities: readonly LocalityGroup<T>[];
}

/**
 * Groups tiers of endpoints (a pick's `[picked, rest]`) into priority levels. `place` gives an endpoint's dial
 * target for the Service port being assigned, or undefined when it has none there (no such port, not an IP
 * literal). An IP:port keeps the first place it is found at — its best priority — and appears nowhere else
 * (clients reject an assignment that lists one twice). Tiers that end up with no target are dropped.
 */
export function priorityLevels<E, T extends PlacedTarget>(
  tiers: readonly (readonly E[])[],
  place: (endpoint: E) => T | undefined,
): PriorityLevel<T>[] {
  const seen = new Set<string>();
  const levels: PriorityLevel<T>[] = [];
  for (const tier of tiers) {
    const byZone = new Map<string, T[]>();
    for (const endpoint of tier) {
      const target = place(endpoint);
      if (target === undefined) continue;
      const id = `${target.address}|${target.port}`;
      if (seen.has(id)) continue;
      seen.add(id);
      const zone = target.zone ?? '';
      const group = byZone.get(zone);
      if (group === undefined) byZone.set(zone, [target]);
      else group.push(target);
    }
    if (byZone.size === 0) continue;
    const localities = [...byZone.entries()]
      .sort(([a], [b]) => compareStrings(a, b))
      .map(([zone, targets]) => ({
        zone: zone === '' ? undefined : zone,
        targets: targets.sort(compareTargets),
        weight: targets.length,
      }));
    levels.push({ priority: levels.length, localities });
  }
  return levels;
}

function compareTargets(a: PlacedTarget, b: PlacedTarget): number {
  return compareStrings(a.address, b.address) || a.port - b.port;
}
