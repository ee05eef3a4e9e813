// What a caller sees of a Service: the view parameters a door reads from its request, and the pure functions from
// (Service content, view) to what that caller is answered — the endpoints (routable or all), one port's dial
// targets, the one-line summary lists use, and why a port asked for does not exist. REST, gRPC and xDS each
// encode these; none has rules of its own. When the caller says where it is, the endpoints and targets are those
// Kubernetes' topology rules pick for it (src/views/topology.ts), and the view's version is the hash of what that
// caller receives, so a change elsewhere (another zone's endpoints) is no change of its answer. A caller that names
// one cluster gets that cluster's share (src/views/clusters.ts), versioned the same way.
import { contentHash } from '../model.ts';
import type {
  ClusterPart,
  DialTarget,
  Endpoint,
  EndpointPort,
  PortSelector,
  ServiceConflict,
  ServiceInfo,
  ServiceSnapshot,
} from '../model.ts';
import { clusterShare, clusterShareContent, serviceNotInClusterDetail } from './clusters.ts';
import { dialTargets, endpointsWithPort, portBackends, routableEndpoints } from './endpoint-sets.ts';
import { pickForCaller, type CallerLocality, type TopologyExplanation } from './topology.ts';

/**
 * The parameters of a view. Every field changes what the caller receives, so every field is part of
 * {@link viewForm}.
 */
export interface ViewOptions {
  /** Every endpoint with its conditions, instead of only the routable ones. */
  readonly allEndpoints: boolean;
  readonly port: PortSelector | undefined;
  /**
   * Where the caller is. Given (a non-empty zone or node), the routable endpoints and the targets are those the
   * topology rules pick for it and the view has a `topology` part; absent, the view is as without topology.
   */
  readonly caller?: CallerLocality | undefined;
  /** One named cluster (`--cluster`): only its endpoints. Absent: every cluster's (the merged Service). */
  readonly cluster?: string | undefined;
}

/** A key naming the view, part of the key of every encoded form cached for it. */
export function viewForm(view: ViewOptions): string {
  const port =
    view.port === undefined
      ? ''
      : 'name' in view.port
        ? `name=${view.port.name}`
        : `number=${view.port.number}`;
  const base = `${view.allEndpoints ? 'all' : 'routable'}:${port}`;
  const caller = callerOf(view);
  // Zones, nodes and cluster names are label-like (checked by every door): they cannot contain the separators.
  const located = caller === undefined ? base : `${base}:zone=${caller.zone ?? ''}:node=${caller.node ?? ''}`;
  return view.cluster === undefined ? located : `${located}:cluster=${view.cluster}`;
}

/**
 * Whether the view's answers carry a version of their own (the hash of what the caller receives) rather than the
 * snapshot's: when the caller said where it is, or named one cluster. Doors skip the view's cost otherwise.
 */
export function viewHasOwnVersion(view: ViewOptions): boolean {
  return view.cluster !== undefined || callerOf(view) !== undefined;
}

/** The caller's locality when it said anything (an empty zone or node is "not said"), else undefined. */
export function callerOf(view: ViewOptions): CallerLocality | undefined {
  const zone = view.caller?.zone === '' ? undefined : view.caller?.zone;
  const node = view.caller?.node === '' ? undefined : view.caller?.node;
  if (zone === undefined && node === undefined) return undefined;
  return { ...(zone === undefined ? {} : { zone }), ...(node === undefined ? {} : { node }) };
}

/** One Service as a view shows it; each door's wire shape is this, spelled its own way. */
export interface ServiceView {
  readonly namespace: string;
  readonly name: string;
  readonly version: string;
  readonly ports: readonly EndpointPort[];
  readonly endpoints: readonly Endpoint[];
  /** Only when a port was asked for. */
  readonly targets?: readonly DialTarget[];
  /** Only when true: the legacy Endpoints object was cut at 1,000 addresses. */
  readonly truncated?: true;
  readonly service?: ServiceInfo;
  /**
   * Only when the caller said where it is: which topology rule applied, for which zone/node, and why a fallback
   * happened. With all endpoints asked for, it says what the rules would pick; the endpoints are not filtered.
   */
  readonly topology?: TopologyExplanation;
  /** Only with named clusters: the clusters that define the Service (with `cluster`: that one), stale or not. */
  readonly clusters?: readonly ClusterPart[];
  /** Only when the clusters' Service objects disagree: which properties, and whose value is served. */
  readonly conflicts?: readonly ServiceConflict[];
}

/**
 * The view of a snapshot. Its version is the snapshot's when the caller gives no locality (answers as without
 * topology); otherwise the hash of everything else in the view, so that two states giving this caller the same
 * answer have the same version, on every replica.
 */
export function serviceView(merged: ServiceSnapshot, view: ViewOptions): ServiceView {
  const snapshot = view.cluster === undefined ? merged : clusterShare(merged, view.cluster);
  const { endpoints, targets, topology } = viewEndpoints(snapshot, view);
  const shown: ServiceView = {
    namespace: snapshot.namespace,
    name: snapshot.name,
    version: snapshot.version,
    ports: snapshot.ports,
    endpoints,
    ...(targets === undefined ? {} : { targets }),
    ...(snapshot.truncated === true ? { truncated: true as const } : {}),
    ...(snapshot.service === undefined ? {} : { service: snapshot.service }),
    ...(topology === undefined ? {} : { topology }),
    ...(snapshot.clusters === undefined ? {} : { clusters: snapshot.clusters }),
    ...(snapshot.conflicts === undefined ? {} : { conflicts: snapshot.conflicts }),
  };
  // A cluster's share has its own version already (clusterShare); a caller's locality versions what it receives.
  return topology === undefined ? shown : { ...shown, version: callerVersion(shown) };
}

/**
 * The version a caller's answer carries: the snapshot's without caller locality, else the hash of its view. Doors
 * compare and send this one (ETags, long-polls, watch events, heartbeats); they should take it through their
 * encoded-form cache, as it costs a view.
 */
export function viewVersion(snapshot: ServiceSnapshot, view: ViewOptions): string {
  return viewHasOwnVersion(view) ? serviceView(snapshot, view).version : snapshot.version;
}

/**
 * A content hash of a caller's view (its version field excluded): the key order is the one serviceView builds,
 * the same on every replica, and a leading tag keeps these hashes apart from the snapshots' own.
 */
function callerVersion(view: ServiceView): string {
  return contentHash(JSON.stringify(['caller-view-1', { ...view, version: null }]));
}

/**
 * The endpoints a view shows (routable ones unless all were asked for) and, when a port was asked for, their
 * targets: with all endpoints, every one that has the port; else the port's routable ones (kube-proxy's rule
 * applied per port, as xDS assignments do). With a caller's locality, the routable endpoints are those the
 * topology rules pick for it, and the targets those picked among the port's routable ones (the rules run per
 * port, like the routable set); the explanation is the targets' pick when a port was asked for. With all
 * endpoints asked for, nothing is filtered: the explanation only reports what the rules would pick.
 */
export function viewEndpoints(
  snapshot: ServiceSnapshot,
  view: ViewOptions,
): {
  readonly endpoints: readonly Endpoint[];
  readonly targets: DialTarget[] | undefined;
  readonly topology?: TopologyExplanation;
} {
  const caller = callerOf(view);
  const port = view.port;
  if (caller === undefined) {
    const endpoints = view.allEndpoints ? snapshot.endpoints : routableEndpoints(snapshot.endpoints);
    if (port === undefined) return { endpoints, targets: undefined };
    const dialed = view.allEndpoints ? endpoints : portBackends(snapshot.endpoints, port).routable;
    return { endpoints, targets: dialTargets(dialed, port) };
  }
  const policy = {
    trafficDistribution: snapshot.service?.trafficDistribution,
    topologyMode: snapshot.service?.topologyMode,
  };
  const whole = pickForCaller({ ...policy, endpoints: snapshot.endpoints }, caller);
  const onPort =
    port === undefined
      ? undefined
      : pickForCaller({ ...policy, endpoints: endpointsWithPort(snapshot.endpoints, port) }, caller);
  const topology = (onPort ?? whole).explanation;
  if (view.allEndpoints) {
    const targets = port === undefined ? undefined : dialTargets(snapshot.endpoints, port);
    return { endpoints: snapshot.endpoints, targets, topology };
  }
  const targets = port === undefined || onPort === undefined ? undefined : dialTargets(onPort.picked, port);
  return { endpoints: whole.picked, targets, topology };
}

/** The line a list of services shows for one of them. */
export interface ServiceSummary {
  readonly namespace: string;
  readonly name: string;
  readonly version: string;
  /** Every endpoint, whatever its conditions. */
  readonly endpoints: number;
  /** Endpoints whose `ready` condition is true. */
  readonly ready: number;
}

/**
 * The lines of a list: every Service, or with `cluster` those it defines, counted and versioned as a lookup with
 * that cluster answers them.
 */
export function clusterSummaries(
  snapshots: readonly ServiceSnapshot[],
  cluster: string | undefined,
  /** The version of a view: a door passes its cached one (a list of thousands would hash each share again). */
  versionOf: (snapshot: ServiceSnapshot, view: ViewOptions) => string = viewVersion,
): ServiceSummary[] {
  if (cluster === undefined) return snapshots.map((s) => summaryBody(s));
  const view: ViewOptions = { allEndpoints: true, port: undefined, cluster };
  return snapshots
    .filter((s) => s.clusters?.some((part) => part.name === cluster) === true)
    .map((s) => {
      const endpoints = s.endpoints.filter((e) => e.cluster === cluster);
      return {
        namespace: s.namespace,
        name: s.name,
        version: versionOf(s, view),
        endpoints: endpoints.length,
        ready: endpoints.filter((e) => e.ready).length,
      };
    });
}

export function summaryBody(snapshot: ServiceSnapshot): ServiceSummary {
  return {
    namespace: snapshot.namespace,
    name: snapshot.name,
    version: snapshot.version,
    endpoints: snapshot.endpoints.length,
    ready: snapshot.endpoints.filter((e) => e.ready).length,
  };
}

/**
 * Why a lookup cannot be answered in its view (404 / NOT_FOUND): the cluster asked for does not define the
 * Service (src/views/clusters.ts), or, as follows, the port asked for does not exist.
 *
 * Why a lookup's `port` cannot give targets: the service has ports, and none is the one asked for (by Service port
 * name, or by target port number). undefined when no port was asked for, when it matches, or when the service
 * knows no port at all (no endpoints and no Service object: there is nothing to contradict, and the port may come
 * back with the endpoints). REST answers 404, gRPC Resolve NOT_FOUND, with this sentence as the detail.
 */
export function unknownPortDetail(merged: ServiceSnapshot, view: ViewOptions): string | undefined {
  // A cluster that does not define the Service has no view of it at all: that is said first.
  const notInCluster = serviceNotInClusterDetail(merged, view.cluster);
  if (notInCluster !== undefined) return notInCluster;
  const snapshot = view.cluster === undefined ? merged : clusterShareContent(merged, view.cluster);
  const selector = view.port;
  if (selector === undefined) return undefined;
  const known = new Map<string, string>(); // what matches → how the answer lists it
  for (const port of snapshot.ports) {
    known.set(`name=${port.name}`, port.name === '' ? String(port.port) : `${port.name} (${port.port})`);
    known.set(`number=${port.port}`, port.name === '' ? String(port.port) : `${port.name} (${port.port})`);
  }
  for (const port of snapshot.service?.ports ?? []) {
    const target = typeof port.targetPort === 'number' ? port.targetPort : undefined;
    const label =
      port.name === '' ? String(target ?? port.port) : `${port.name} (${target ?? port.targetPort})`;
    if (port.name !== '') known.set(`name=${port.name}`, label);
    if (target !== undefined) known.set(`number=${target}`, label);
  }
  if (known.size === 0) return undefined;
  const asked = 'name' in selector ? `name=${selector.name}` : `number=${selector.number}`;
  if (known.has(asked)) return undefined;
  const what = 'name' in selector ? `no port named ${selector.name}` : `no target port ${selector.number}`;
  const listed = [...new Set(known.values())].sort().join(', ');
  return `service ${snapshot.namespace}/${snapshot.name} has ${what}; its ports: ${listed}`;
}
