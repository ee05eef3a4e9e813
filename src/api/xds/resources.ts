// Pure builders of the xDS resources of one Service port: Listener, RouteConfiguration, Cluster and
// ClusterLoadAssignment, as wire objects (wire.ts). No I/O and no state: the same Service and name always give
// the same message, so their encoded bytes can be hashed into versions and shared.
import { isIP } from 'node:net';
import { compareStrings, type Endpoint, type PortSelector, type ServiceEndpoints } from '../../model.ts';
import { findPort, portBackends, portMatches } from '../../views/endpoint-sets.ts';
import { encodeMessage, typeNameOf } from './encoding.ts';
import {
  DISCOVERY_TYPE_EDS,
  HEALTH_STATUS,
  HTTP_CONNECTION_MANAGER_TYPE_URL,
  HTTP_PROTOCOL_OPTIONS_KEY,
  HTTP_PROTOCOL_OPTIONS_TYPE_URL,
  LB_POLICY_ROUND_ROBIN,
  ROUTER_TYPE_URL,
  type Any,
  type Cluster,
  type ClusterLoadAssignment,
  type ConfigSource,
  type HttpConnectionManager,
  type HttpProtocolOptions,
  type LbEndpoint,
  type Listener,
  type LocalityLbEndpoints,
  type RouteConfiguration,
} from './wire.ts';

/** Resources come from the same ADS stream that asked for the one naming them. */
const ADS_CONFIG_SOURCE: ConfigSource = { ads: {}, resource_api_version: 2 };

/** appProtocol values that say "speak HTTP/2 (gRPC) to this port" (Kubernetes' and IANA's spellings). */
const HTTP2_APP_PROTOCOLS = new Set(['grpc', 'h2c', 'http2', 'kubernetes.io/h2c', 'kubernetes.io/grpc']);

export function packAny(typeUrl: string, message: object): Any {
  return { type_url: typeUrl, value: encodeMessage(typeNameOf(typeUrl), message) };
}

/**
 * A proxyless gRPC client's Listener: an `api_listener` HttpConnectionManager with its route inline, which saves
 * the client an RDS round trip. (The RouteConfiguration of the same name is served too, for clients that ask.)
 */
export function buildListener(name: string): Listener {
  const manager: HttpConnectionManager = {
    stat_prefix: name,
    route_config: buildRouteConfiguration(name),
    http_filters: [
      {
        name: 'envoy.filters.http.router',
        typed_config: { type_url: ROUTER_TYPE_URL, value: Buffer.alloc(0) },
      },
    ],
  };
  return { name, api_listener: { api_listener: packAny(HTTP_CONNECTION_MANAGER_TYPE_URL, manager) } };
}

/**
 * One virtual host for every authority: the client matches its whole target, port included, so `*` is the only
 * domain that always matches. Every path goes to the Cluster of the same name.
 */
export function buildRouteConfiguration(name: string): RouteConfiguration {
  return {
    name,
    virtual_hosts: [{ name, domains: ['*'], routes: [{ match: { prefix: '' }, route: { cluster: name } }] }],
  };
}

/**
 * An EDS Cluster whose assignment has the same name, round robin. A port whose appProtocol says HTTP/2 or gRPC
 * gets Envoy's explicit HTTP/2 upstream option (gRPC clients ignore it; Envoy needs it for gRPC upstreams).
 */
export function buildCluster(name: string, http2: boolean): Cluster {
  const options: HttpProtocolOptions = { explicit_http_config: { http2_protocol_options: {} } };
  return {
    name,
    type: DISCOVERY_TYPE_EDS,
    eds_cluster_config: { eds_config: ADS_CONFIG_SOURCE, service_name: name },
    connect_timeout: { seconds: 5 },
    lb_policy: LB_POLICY_ROUND_ROBIN,
    ...(http2
      ? {
          typed_extension_protocol_options: {
            [HTTP_PROTOCOL_OPTIONS_KEY]: packAny(HTTP_PROTOCOL_OPTIONS_TYPE_URL, options),
          },
        }
      : {}),
  };
}

/** Whether the selected port of `service` declares HTTP/2 (gRPC) as its application protocol. */
export function speaksHttp2(service: ServiceEndpoints, selector: PortSelector): boolean {
  const port = service.ports.find((p) => portMatches(p, selector, 'TCP'));
  return port?.appProtocol !== undefined && HTTP2_APP_PROTOCOLS.has(port.appProtocol.toLowerCase());
}

/**
 * The assignment of one Service port: its backends as the view gives them (src/views/endpoint-sets.ts: the
 * endpoints that have the port over TCP — by name each with its own number, by number those listening on it),
 * IP literals only, each IP:port once:
 * - routable (ready; if none of them is ready, serving-and-terminating) ⇒ HEALTHY;
 * - serving and terminating but not routable (others are ready) ⇒ DRAINING: Envoy drains them, gRPC skips them;
 * - anything else is left out.
 * One locality per zone (no zone ⇒ the empty locality), all at priority 0, weighted by their HEALTHY endpoints
 * (at least 1: a group without a weight is dropped by gRPC). `service` undefined gives the empty assignment.
 */
export function buildClusterLoadAssignment(
  name: string,
  service: ServiceEndpoints | undefined,
  selector: PortSelector,
): ClusterLoadAssignment {
  if (service === undefined) return { cluster_name: name, endpoints: [] };
  const backends = portBackends(service.endpoints, selector, 'TCP');
  // Best state first, so that an IP:port listed twice (moving between slices) keeps its best condition.
  const candidates: { endpoint: Endpoint; address: string; port: number; status: number }[] = [];
  const add = (endpoints: readonly Endpoint[], status: number): void => {
    for (const endpoint of endpoints) {
      const address = endpoint.addresses[0];
      const port = findPort(endpoint, selector, 'TCP');
      // The wire carries socket addresses: an address that is no IP literal cannot be sent.
      if (address === undefined || port === undefined || isIP(address) === 0) continue;
      candidates.push({ endpoint, address, port: port.port, status });
    }
  };
  add(backends.routable, HEALTH_STATUS.HEALTHY);
  add(backends.draining, HEALTH_STATUS.DRAINING);
  const seen = new Set<string>();
  const byZone = new Map<string, { endpoints: LbEndpoint[]; healthy: number }>();
  for (const { endpoint, address, port, status } of candidates) {
    const id = `${address}|${port}`;
    if (seen.has(id)) continue;
    seen.add(id);
    const zone = endpoint.zone ?? '';
    let group = byZone.get(zone);
    if (group === undefined) {
      group = { endpoints: [], healthy: 0 };
      byZone.set(zone, group);
    }
    group.endpoints.push({
      endpoint: { address: { socket_address: { address, port_value: port } } },
      health_status: status,
    });
    if (status === HEALTH_STATUS.HEALTHY) group.healthy += 1;
  }
  const localities: LocalityLbEndpoints[] = [...byZone.entries()]
    .sort(([a], [b]) => compareStrings(a, b))
    .map(([zone, group]) => ({
      locality: zone === '' ? {} : { zone },
      lb_endpoints: group.endpoints.sort(compareLbEndpoints),
      load_balancing_weight: { value: Math.max(1, group.healthy) },
      priority: 0,
    }));
  return { cluster_name: name, endpoints: localities };
}

function compareLbEndpoints(a: LbEndpoint, b: LbEndpoint): number {
  const x = a.endpoint.address.socket_address;
  const y = b.endpoint.address.socket_address;
  return compareStrings(x.address, y.address) || x.port_value - y.port_value;
}
