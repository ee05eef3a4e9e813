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
