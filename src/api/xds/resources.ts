// Pure builders of the xDS resources of one Service port: Listener, RouteConfiguration, Cluster and
// ClusterLoadAssignment, as wire objects (wire.ts). No I/O and no state: the same Service and name always give
// the same message, so their encoded bytes can be hashed into versions and shared.
import { isIP } from 'node:net';
import { compareStrings, type Endpoint, type PortSelector, type ServiceEndpoints } from '../../model.ts';
import { endpointsWithPort, findPort, portMatches } from '../../views/endpoint-sets.ts';
import {
  callerTiers,
  priorityLevels,
  type AssignmentCaller,
  type CallerTiers,
} from '../../views/topology-priorities.ts';
import { encodeMessage, typeNameOf } from './encoding.ts';
import {
  DISCOVERY_TYPE_EDS,
  HEALTH_STATUS,
  HTTP_CONNECTION_MANAGER_TYPE_URL,
  HTTP_PROTOCOL_OPTIONS_KEY,
  HTTP_PROTOCOL_OPTIONS_TYPE_URL,
  LB_POLICY_ROUND_ROBIN,
  ROUTER_TYPE_URL,
  type Address,
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
 * An EDS Cluster whose assignment has the same name, round robin, locality-weighted. A port whose appProtocol says HTTP/2 or gRPC
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
    // Envoy weighs localities (our zones, and clusters' regions) only when asked to; gRPC always does.
    common_lb_config: { locality_weighted_lb_config: {} },
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

/** What an assignment depends on beyond the Service: who asks, and how Envoy spills over. */
export interface AssignmentOptions {
  /** Where the caller is (its stream's Node.locality); undefined: it did not say. */
  readonly caller?: AssignmentCaller | undefined;
  /** `policy.overprovisioning_factor`, percent (src/config/options/xds.ts). */
  readonly overprovisioningFactor: number;
}

/**
 * The endpoints of one Service port in tiers for a caller (src/views/topology-priorities.ts's callerTiers): those
 * that have the port over TCP (by name each with its own number, by number those listening on it) with an IP
 * literal to dial — the wire carries socket addresses, so FQDN endpoints cannot be sent. Its `key` names what decided them: the catalog encodes one assignment per key.
 */
export function assignmentTiers(
  service: ServiceEndpoints,
  selector: PortSelector,
  caller: AssignmentCaller | undefined,
): CallerTiers<Endpoint> {
  const endpoints = endpointsWithPort(service.endpoints, selector, 'TCP').filter(
    (e) => e.addressType !== 'FQDN' && isIP(e.addresses[0] ?? '') !== 0,
  );
  const policy = {
    trafficDistribution: service.service?.trafficDistribution,
    topologyMode: service.service?.topologyMode,
  };
  return callerTiers(endpoints, policy, caller, service.clusters);
}

/**
 * The assignment of one Service port for one caller, from its tiers (assignmentTiers):
 * - one priority per tier that is not empty, from 0: what the topology rules pick for the caller (its own
 *   cluster's first), then the rest of the routable set — gRPC stays in priority 0 while anything there connects,
 *   Envoy spills over by `policy.overprovisioning_factor`;
 * - one locality per (region, zone) inside each: region = the endpoint's cluster's region, or its name; weighted
 *   by its routable endpoints (at least 1: gRPC drops a locality without a weight); a (region, zone) that a higher
 *   priority holds too gets sub_zone `priority-N`, so that no locality is listed twice (gRPC Java would merge them);
 * - routable ⇒ HEALTHY; serving and terminating but not routable ⇒ DRAINING; other endpoints ⇒ UNHEALTHY (gRPC
 *   skips both; Envoy counts them in a priority's health, so its spill-over sees a zone that is going down);
 * - each IP:port once; a pod's IPv4 and IPv6 endpoints (one targetRef, the same port and state) as one endpoint,
 *   the IPv4 address first and the other in `additional_addresses` (gRFC A61);
 * - `hostname` as the EndpointSlice gives it; `metadata['envoy.lb'].hash_key` = the pod's name (targetRef), so
 *   that ring-hash positions survive a pod's IP change (gRFC A76, Envoy's hash_key).
 * `service` undefined gives the empty assignment ("no endpoints": clients fail fast instead of calling old ones).
 */
export function buildClusterLoadAssignment(
  name: string,
  service: ServiceEndpoints | undefined,
  selector: PortSelector,
  options: AssignmentOptions,
  tiers: CallerTiers<Endpoint> | undefined = service === undefined
    ? undefined
    : assignmentTiers(service, selector, options.caller),
): ClusterLoadAssignment {
  if (service === undefined || tiers === undefined) return { cluster_name: name, endpoints: [] };
  const regions = new Map((service.clusters ?? []).map((c) => [c.name, c.region ?? c.name]));
  const levels = priorityLevels(tiers.tiers, (endpoint) => {
    const address = endpoint.addresses[0];
    const port = findPort(endpoint, selector, 'TCP');
    if (address === undefined || port === undefined) return undefined;
    const routable = tiers.routable.has(endpoint);
    return {
      address,
      port: port.port,
      zone: endpoint.zone,
      region:
        endpoint.cluster === undefined ? undefined : (regions.get(endpoint.cluster) ?? endpoint.cluster),
      routable,
      draining: !routable && endpoint.serving && endpoint.terminating,
      endpoint,
      status: routable
        ? HEALTH_STATUS.HEALTHY
        : endpoint.serving && endpoint.terminating
          ? HEALTH_STATUS.DRAINING
          : HEALTH_STATUS.UNHEALTHY,
    };
  });
  const localities: LocalityLbEndpoints[] = levels.flatMap((level) =>
    level.localities.map((group) => {
      const lbEndpoints = lbEndpointsOf(group.targets);
      const healthy = lbEndpoints.filter((e) => e.health_status === HEALTH_STATUS.HEALTHY).length;
      return {
        locality: {
          ...(group.region === undefined ? {} : { region: group.region }),
          ...(group.zone === undefined ? {} : { zone: group.zone }),
          ...(group.subZone === undefined ? {} : { sub_zone: group.subZone }),
        },
        lb_endpoints: lbEndpoints,
        load_balancing_weight: { value: Math.max(1, healthy) },
        priority: level.priority,
      };
    }),
  );
  return {
    cluster_name: name,
    endpoints: localities,
    policy: { overprovisioning_factor: { value: options.overprovisioningFactor } },
  };
}

interface AssignedTarget {
  readonly address: string;
  readonly port: number;
  readonly endpoint: Endpoint;
  readonly status: number;
}

/**
 * One locality's targets as LbEndpoints, sorted by their first address: the targets of one pod (targetRef of kind
 * Pod), on one port and in one state, are one endpoint — the dual-stack pod that EndpointSlices list once per
 * address family.
 */
function lbEndpointsOf(targets: readonly AssignedTarget[]): LbEndpoint[] {
  const byPod = new Map<string, AssignedTarget[]>();
  const single: AssignedTarget[][] = [];
  for (const target of targets) {
    const ref = target.endpoint.targetRef;
    if (ref?.kind !== 'Pod') {
      single.push([target]);
      continue;
    }
    const key = JSON.stringify([ref.namespace ?? '', ref.name, ref.uid ?? '', target.port, target.status]);
    const group = byPod.get(key);
    if (group === undefined) byPod.set(key, [target]);
    else group.push(target);
  }
  const endpoints = [...single, ...byPod.values()].map((group) => {
    // IPv4 first: the family most callers outside a cluster reach; happy eyeballs tries the other one too.
    const ordered = [...group].sort(
      (a, b) => isIP(a.address) - isIP(b.address) || compareStrings(a.address, b.address),
    );
    const [first, ...others] = ordered as [AssignedTarget, ...AssignedTarget[]];
    const socket = (t: AssignedTarget): Address => ({
      socket_address: { address: t.address, port_value: t.port },
    });
    const { hostname, targetRef } = first.endpoint;
    const lb: LbEndpoint = {
      endpoint: {
        address: socket(first),
        ...(hostname === undefined ? {} : { hostname }),
        ...(others.length === 0 ? {} : { additional_addresses: others.map((t) => ({ address: socket(t) })) }),
      },
      health_status: first.status,
      ...(targetRef === undefined
        ? {}
        : {
            metadata: {
              filter_metadata: { 'envoy.lb': { fields: { hash_key: { string_value: targetRef.name } } } },
            },
          }),
    };
    return lb;
  });
  return endpoints.sort(compareLbEndpoints);
}

function compareLbEndpoints(a: LbEndpoint, b: LbEndpoint): number {
  const x = a.endpoint.address.socket_address;
  const y = b.endpoint.address.socket_address;
  return compareStrings(x.address, y.address) || x.port_value - y.port_value;
}
