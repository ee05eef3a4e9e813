// What a caller sees of a Service: the view parameters a door reads from its request, and the pure functions from
// (Service content, view) to what that caller is answered — the endpoints (routable or all), one port's dial
// targets, the one-line summary lists use, and why a port asked for does not exist. REST, gRPC and xDS each
// encode these; none has rules of its own.
import type {
  DialTarget,
  Endpoint,
  EndpointPort,
  PortSelector,
  ServiceInfo,
  ServiceSnapshot,
} from '../model.ts';
import { dialTargets, portBackends, routableEndpoints } from './endpoint-sets.ts';

/**
 * The parameters of a view. Every field changes what the caller receives, so every field is part of
 * {@link viewForm}. (Where the caller is — zone, node — joins here when topology-aware answers come.)
 */
export interface ViewOptions {
  /** Every endpoint with its conditions, instead of only the routable ones. */
  readonly allEndpoints: boolean;
  readonly port: PortSelector | undefined;
}

/** A key naming the view, part of the key of every encoded form cached for it. */
export function viewForm(view: ViewOptions): string {
  const port =
    view.port === undefined
      ? ''
      : 'name' in view.port
        ? `name=${view.port.name}`
        : `number=${view.port.number}`;
  return `${view.allEndpoints ? 'all' : 'routable'}:${port}`;
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
}

export function serviceView(snapshot: ServiceSnapshot, view: ViewOptions): ServiceView {
  const { endpoints, targets } = viewEndpoints(snapshot, view);
  return {
    namespace: snapshot.namespace,
    name: snapshot.name,
    version: snapshot.version,
    ports: snapshot.ports,
    endpoints,
    ...(targets === undefined ? {} : { targets }),
    ...(snapshot.truncated === true ? { truncated: true as const } : {}),
    ...(snapshot.service === undefined ? {} : { service: snapshot.service }),
  };
}

/**
 * The endpoints a view shows (routable ones unless all were asked for) and, when a port was asked for, their
 * targets: with all endpoints, every one that has the port; else the port's routable ones (kube-proxy's rule
 * applied per port, as xDS assignments do).
 */
export function viewEndpoints(
  snapshot: ServiceSnapshot,
  view: ViewOptions,
): { readonly endpoints: readonly Endpoint[]; readonly targets: DialTarget[] | undefined } {
  const endpoints = view.allEndpoints ? snapshot.endpoints : routableEndpoints(snapshot.endpoints);
  const port = view.port;
  if (port === undefined) return { endpoints, targets: undefined };
  const dialed = view.allEndpoints ? endpoints : portBackends(snapshot.endpoints, port).routable;
  return { endpoints, targets: dialTargets(dialed, port) };
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
 * Why a lookup's `port` cannot give targets: the service has ports, and none is the one asked for (by Service port
 * name, or by target port number). undefined when no port was asked for, when it matches, or when the service
 * knows no port at all (no endpoints and no Service object: there is nothing to contradict, and the port may come
 * back with the endpoints). REST answers 404, gRPC Resolve NOT_FOUND, with this sentence as the detail.
 */
export function unknownPortDetail(snapshot: ServiceSnapshot, view: ViewOptions): string | undefined {
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
