// Which of a Service's routable endpoints a caller in a given zone, on a given node, should use: the rules
// kube-proxy applies to pods (pkg/proxy/topology.go; notes/topology-facts.md), as a pure function of the Service's
// endpoints, its declared policy and the caller's locality. The doors map their model onto these input types.
import { topologyAsked, type Endpoint } from '../model.ts';
import { routableEndpoints } from './endpoint-sets.ts';

/** What the rules read of an endpoint; a door's own endpoint type (with ports, zone, …) passes through unchanged. */
export type TopologyEndpoint = Pick<
  Endpoint,
  'addresses' | 'addressType' | 'ready' | 'serving' | 'terminating' | 'hintsForZones'
> & {
  /** EndpointSlice `hints.forNodes[].name` (written for trafficDistribution PreferSameNode). */
  readonly hintsForNodes?: readonly string[];
};

/** What the Service object says about topology; both absent when no Service object is known (files, slices only). */
export interface TopologyPolicy {
  /** `spec.trafficDistribution`: PreferClose, PreferSameZone, PreferSameNode (other values: as if absent). */
  readonly trafficDistribution?: string;
  /** The annotation `service.kubernetes.io/topology-mode` (or the older `…/topology-aware-hints`) as written. */
  readonly topologyMode?: string;
}

export interface TopologyInput<E extends TopologyEndpoint> extends TopologyPolicy {
  /** Every endpoint of the Service, whatever its conditions: the routable set is chosen here. */
  readonly endpoints: readonly E[];
}

/** Where the caller is; an absent or empty field means "not said". */
export interface CallerLocality {
  readonly zone?: string | undefined;
  readonly node?: string | undefined;
}

/**
 * What the Service asks for: its trafficDistribution, or `hints` when its topology-mode annotation is Auto (which
 * takes precedence, as in the EndpointSlice controller) or when its endpoints carry hints without a Service saying
 * why; `none` when nothing asks for topology.
 */
export type TopologyRule = 'PreferSameNode' | 'PreferSameZone' | 'PreferClose' | 'hints' | 'none';

/** Which hints chose the picked endpoints: the caller's node's, its zone's, or none (the whole routable set). */
export type TopologyMatch = 'node' | 'zone' | 'none';

/**
 * Why the pick is less specific than the rule asks (given only when a rule applies), for the last level tried:
 * - `no-caller-locality`: the caller said neither zone nor node;
 * - `no-ready-endpoints`: only serving-and-terminating endpoints are left, and kube-proxy ignores hints then;
 * - `node-hints-missing` / `zone-hints-missing`: no routable endpoint carries such hints (not written, or removed);
 * - `node-hints-incomplete` / `zone-hints-incomplete`: some routable endpoints carry them, not all (hints are used
 *   only when every one has them: a safe transition while hints are being added or removed);
 * - `no-caller-node` / `no-caller-zone`: the hints are there, but the caller did not say its node / zone;
 * - `node-not-hinted` / `zone-not-hinted`: no routable endpoint is hinted for the caller's node / zone.
 */
export type TopologyFallback =
  | 'no-caller-locality'
  | 'no-ready-endpoints'
  | 'node-hints-missing'
  | 'node-hints-incomplete'
  | 'no-caller-node'
  | 'node-not-hinted'
  | 'zone-hints-missing'
  | 'zone-hints-incomplete'
  | 'no-caller-zone'
  | 'zone-not-hinted';

/** The short "why" that goes with a pick: which rule, for which caller, and why a fallback happened. */
export interface TopologyExplanation {
  readonly rule: TopologyRule;
  readonly matched: TopologyMatch;
  /** The caller's zone and node, as the pick used them (absent when not said). */
  readonly zone?: string;
  readonly node?: string;
  readonly fallback?: TopologyFallback;
}

/**
 * The routable set split for one caller: `picked` (priority 0 in xDS) and `rest` (priority 1). Together they are
 * exactly the routable set (src/model.ts routableEndpoints), in its order, each endpoint in one of them; an address
 * is never in both (copies of one pod in several slices go together, with the pick). `picked` is empty only when
 * the routable set is.
 */
export interface TopologyPick<E> {
  readonly picked: readonly E[];
  readonly rest: readonly E[];
  readonly explanation: TopologyExplanation;
}

/**
 * The endpoints of `service` that a caller at `caller` should use, by kube-proxy's rules:
 * 1. the routable set: ready endpoints, else serving-and-terminating ones (then hints are not used);
 * 2. node hints, when every routable endpoint has them and one is hinted for the caller's node;
 * 3. else zone hints, when every routable endpoint has them and one is hinted for the caller's zone;
 * 4. else all of the routable set. A caller without locality gets all of it, as without topology.
 */
export function pickForCaller<E extends TopologyEndpoint>(
  service: TopologyInput<E>,
  caller: CallerLocality,
): TopologyPick<E> {
  const routable = routableEndpoints(service.endpoints);
  const zone = said(caller.zone);
  const node = said(caller.node);
  const rule = ruleOf(service, routable);
  const explain = (matched: TopologyMatch, fallback?: TopologyFallback): TopologyExplanation => ({
    rule,
    matched,
    ...(zone === undefined ? {} : { zone }),
    ...(node === undefined ? {} : { node }),
    ...(fallback === undefined || rule === 'none' ? {} : { fallback }),
  });
  const all = (fallback?: TopologyFallback): TopologyPick<E> => ({
    picked: routable,
    rest: [],
    explanation: explain('none', fallback),
  });

  if (routable.length === 0) return all();
  if (zone === undefined && node === undefined) return all('no-caller-locality');
  // routableEndpoints gives the ready ones whenever there is one: no ready one here means terminating only.
  if (!routable.some((e) => e.ready)) return all('no-ready-endpoints');

  let nodeFallback: TopologyFallback | undefined;
  const nodeHints = coverage(routable, (e) => e.hintsForNodes);
  if (nodeHints === 'complete' || rule === 'PreferSameNode') {
    if (nodeHints !== 'complete') nodeFallback = `node-hints-${nodeHints}`;
    else if (node === undefined) nodeFallback = 'no-caller-node';
    else {
      const forNode = (e: E): boolean => e.hintsForNodes?.includes(node) === true;
      if (routable.some(forNode)) return split(routable, forNode, explain('node'));
      nodeFallback = 'node-not-hinted';
    }
  }

  const zoneHints = coverage(routable, (e) => e.hintsForZones);
  // Both hint kinds missing: the node step says more (the rule asked for nodes, nothing was written).
  if (zoneHints === 'missing') return all(nodeFallback ?? 'zone-hints-missing');
  if (zoneHints === 'incomplete') return all('zone-hints-incomplete');
  if (zone === undefined) return all('no-caller-zone');
  const forZone = (e: E): boolean => e.hintsForZones?.includes(zone) === true;
  if (!routable.some(forZone)) return all('zone-not-hinted');
  return split(routable, forZone, explain('zone', nodeFallback));
}

function ruleOf(policy: TopologyPolicy, routable: readonly TopologyEndpoint[]): TopologyRule {
  const asked = topologyAsked(policy);
  if (asked !== 'none') return asked;
  const hinted = routable.some(
    (e) => (e.hintsForZones?.length ?? 0) > 0 || (e.hintsForNodes?.length ?? 0) > 0,
  );
  return hinted ? 'hints' : 'none';
}

function said(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}

/** Whether every endpoint carries such hints (an empty list counts as none, as in kube-proxy). */
function coverage<E>(
  endpoints: readonly E[],
  hints: (e: E) => readonly string[] | undefined,
): 'complete' | 'incomplete' | 'missing' {
  const hinted = endpoints.filter((e) => (hints(e)?.length ?? 0) > 0).length;
  return hinted === endpoints.length ? 'complete' : hinted === 0 ? 'missing' : 'incomplete';
}

/**
 * Splits `routable` by `chosen`, keeping its order. An endpoint sharing its address with a chosen one is picked
 * too: one pod listed in two slices (while its ports change) must not land in both priorities.
 */
function split<E extends TopologyEndpoint>(
  routable: readonly E[],
  chosen: (e: E) => boolean,
  explanation: TopologyExplanation,
): TopologyPick<E> {
  const chosenAddresses = new Set(routable.filter(chosen).flatMap((e) => e.addresses.slice(0, 1)));
  const picked: E[] = [];
  const rest: E[] = [];
  for (const endpoint of routable) {
    const address = endpoint.addresses[0];
    const sameAddress = address !== undefined && chosenAddresses.has(address);
    (chosen(endpoint) || sameAddress ? picked : rest).push(endpoint);
  }
  return { picked, rest, explanation };
}
