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
//
// One named cluster's share of a Service (issue 13): `{service}.{namespace}.{cluster}[:{port}]`, e.g.
// `xds:///web.shop.east:8080` — the same resources holding only that cluster's endpoints. Service and namespace
// names are DNS labels, which cannot contain a dot, so no Kubernetes name has a third label: the two forms never
// collide. A cluster name is a DNS-1123 label (as --cluster takes it); the name exists only while the Service has a
// part in that cluster.
import { namespaceNameProblem, parsePortText, serviceNameProblem } from '../../names.ts';
import { serviceKeyString, type PortSelector, type ServiceEndpoints, type ServiceKey } from '../../model.ts';

/** A port as a resource name selects it: by number, by name, or "the only one". */
export type XdsPortSelector = PortSelector | { readonly only: true };

export interface XdsResourceName {
  readonly key: ServiceKey;
  /** `namespace/name`, the store's id of the Service. */
  readonly serviceId: string;
  readonly port: XdsPortSelector;
  /** The named cluster whose endpoints alone the resource holds; absent: every cluster's. */
  readonly cluster?: string;
}

/**
 * Parses `{service}.{namespace}[.{cluster}][:{port}]`; undefined for anything else (such a resource never
 * exists).
 */
export function parseResourceName(name: string): XdsResourceName | undefined {
  const colon = name.includes(':') ? name.lastIndexOf(':') : name.length;
  const dot = name.indexOf('.');
  if (dot < 0 || dot > colon) return undefined;
  const second = name.indexOf('.', dot + 1);
  const namespaceEnd = second < 0 || second > colon ? colon : second;
  const service = name.slice(0, dot);
  const namespace = name.slice(dot + 1, namespaceEnd);
  const cluster = namespaceEnd === colon ? undefined : name.slice(namespaceEnd + 1, colon);
  if (serviceNameProblem(service) !== undefined || namespaceNameProblem(namespace) !== undefined) {
    return undefined;
  }
  // A cluster name is a DNS label too (it holds no dot): a fourth label is no name of ours.
  if (cluster !== undefined && namespaceNameProblem(cluster) !== undefined) return undefined;
  const key = { namespace, name: service };
  const base = { key, serviceId: serviceKeyString(key), ...(cluster === undefined ? {} : { cluster }) };
  if (colon === name.length) return { ...base, port: { only: true } };
  // One name per resource: `:08080` is no name of ours (REST and gRPC take ports by the same rule).
  const port = parsePortText(name.slice(colon + 1));
  return 'problem' in port ? undefined : { ...base, port };
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
  const second = name.indexOf('.', dot + 1);
  const namespaceEnd = second < 0 || second > colon ? colon : second;
  return `${name.slice(dot + 1, namespaceEnd)}/${name.slice(0, dot)}`;
}

/** `{service}.{namespace}[.{cluster}]:{port}`: the name of a Service port (of one named cluster's share). */
export function formatResourceName(key: ServiceKey, port: string | number, cluster?: string): string {
  return `${key.name}.${key.namespace}${cluster === undefined ? '' : `.${cluster}`}:${port}`;
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
