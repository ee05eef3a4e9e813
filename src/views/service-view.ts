// How a front door presents a service: which endpoints (routable or all), which port's dial targets, and the
// one-line summary lists use. Shared by REST and gRPC so that both answer the same question the same way.
import {
  dialTargets,
  routableEndpoints,
  type DialTarget,
  type Endpoint,
  type PortSelector,
  type ServiceSnapshot,
} from '../model.ts';
import type { ServiceSummaryBody } from './rest/wire.ts';

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

export function summaryBody(snapshot: ServiceSnapshot): ServiceSummaryBody {
  return {
    namespace: snapshot.namespace,
    name: snapshot.name,
    version: snapshot.version,
    endpoints: snapshot.endpoints.length,
    ready: snapshot.endpoints.filter((e) => e.ready).length,
  };
}

/** The endpoints a view shows (routable ones unless all were asked for) and, when a port was asked for, their targets. */
export function viewEndpoints(
  snapshot: ServiceSnapshot,
  view: ViewOptions,
): { readonly endpoints: readonly Endpoint[]; readonly targets: DialTarget[] | undefined } {
  const endpoints = view.allEndpoints ? snapshot.endpoints : routableEndpoints(snapshot.endpoints);
  return { endpoints, targets: view.port === undefined ? undefined : dialTargets(endpoints, view.port) };
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
