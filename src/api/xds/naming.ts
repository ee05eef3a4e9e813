// The one naming scheme of endpointd's xDS resources: `{service}.{namespace}:{port}`, the path of the target a
// gRPC client dials (`xds:///web.shop:8080`). Listener, RouteConfiguration, Cluster and ClusterLoadAssignment of
// one Service port all carry that same name, so that each is found from the one before without a lookup table.
//
// The port is a number (the endpoints' target port, as EndpointSlices list it) or a Service port name. The two
// never collide: Kubernetes port names must contain a letter, so an all-digit port is always a number. Without a
// port (`web.shop`), the name means the Service's only TCP port, and does not exist when it has several.
//
// grpc-js dials its target's authority as a URL, so `xds:///web.shop:grpc` (a port name) fails in grpc-js before
// it reaches us; grpc-js users dial `web.shop:8080` or the port-less `web.shop`. Names remain for Envoy and for
// other clients.
import { namespaceNameProblem, portNameProblem, serviceNameProblem } from '../../names.ts';
import { serviceKeyString, type PortSelector, type ServiceEndpoints, type ServiceKey } from '../../model.ts';

/** A port as a resource name selects it: by number, by name, or "the only one". */
export type XdsPortSelector = PortSelector | { readonly only: true };

export interface XdsResourceName {
  readonly key: ServiceKey;
  /** `namespace/name`, the store's id of the Service. */
  readonly serviceId: string;
  readonly port: XdsPortSelector;
}

/** Parses `{service}.{namespace}[:{port}]`; undefined for anything else (such a resource never exists). */
export function parseResourceName(name: string): XdsResourceName | undefined {
  const colon = name.includes(':') ? name.lastIndexOf(':') : name.length;
  const dot = name.indexOf('.');
  if (dot < 0 || dot > colon) return undefined;
  const service = name.slice(0, dot);
  const namespace = name.slice(dot + 1, colon);
  if (serviceNameProblem(service) !== undefined || namespaceNameProblem(namespace) !== undefined) {
    return undefined;
  }
  const key = { namespace, name: service };
  if (colon === name.length) return { key, serviceId: serviceKeyString(key), port: { only: true } };
  const port = name.slice(colon + 1);
  if (/^\d{1,5}$/.test(port)) {
    const number = Number(port);
    if (number < 1 || number > 65535) return undefined;
    return { key, serviceId: serviceKeyString(key), port: { number } };
  }
  if (portNameProblem(port) !== undefined) return undefined;
  return { key, serviceId: serviceKeyString(key), port: { name: port } };
}

/**
 * The port a selector means for `service`: itself for a number or a name; for "the only one", the Service's single
 * TCP port (by name when named, else by number), or undefined when it has none or several.
 */
export function resolvePort(service: ServiceEndpoints, selector: XdsPortSelector): PortSelector | undefined {
  if (!('only' in selector)) return selector;
  const labels = new Set<string>();
  let selected: PortSelector | undefined;
  for (const port of service.ports) {
    if (port.protocol !== 'TCP') continue;
    labels.add(port.name !== '' ? `n:${port.name}` : `#${port.port}`);
    selected = port.name !== '' ? { name: port.name } : { number: port.port };
  }
  return labels.size === 1 ? selected : undefined;
}

/** Service key ⇒ the store's id, computed from a resource name without a full parse (hot path of fan-out). */
export function serviceIdOfName(name: string): string | undefined {
  const dot = name.indexOf('.');
  const colon = name.includes(':') ? name.lastIndexOf(':') : name.length;
  if (dot <= 0 || colon < dot) return undefined;
  return `${name.slice(dot + 1, colon)}/${name.slice(0, dot)}`;
}

export function formatResourceName(key: ServiceKey, port: string | number): string {
  return `${key.name}.${key.namespace}:${port}`;
}

/**
 * The names under which a Service's ports are listed to wildcard subscribers (Envoy's CDS): one per TCP port,
 * by its name when it has one (a named port may map to different numbers on different pods; the name covers
 * them all), by number otherwise.
 */
export function servicePortNames(service: ServiceEndpoints): string[] {
  const labels = new Set<string>();
  for (const port of service.ports) {
    if (port.protocol !== 'TCP') continue;
    labels.add(port.name !== '' ? port.name : String(port.port));
  }
  return [...labels].map((label) => formatResourceName(service, label));
}
