// The xDS v3 messages endpointd reads and writes, as plain objects in the shape protobufjs encodes and decodes
// (proto field names, enums as numbers, google.protobuf wrappers as `{ value }`). Only the fields we use: they
// mirror proto/envoy/**, the wire-compatible subset of Envoy's API.

/** Resource type URLs, also the type URLs of the `Any`s that carry each resource. */
export const TYPE_URL = {
  listener: 'type.googleapis.com/envoy.config.listener.v3.Listener',
  route: 'type.googleapis.com/envoy.config.route.v3.RouteConfiguration',
  cluster: 'type.googleapis.com/envoy.config.cluster.v3.Cluster',
  endpoint: 'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment',
} as const;

export const HTTP_CONNECTION_MANAGER_TYPE_URL =
  'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
export const ROUTER_TYPE_URL = 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router';
export const HTTP_PROTOCOL_OPTIONS_TYPE_URL =
  'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions';
/** The key under which Envoy looks up HttpProtocolOptions in `typed_extension_protocol_options`. */
export const HTTP_PROTOCOL_OPTIONS_KEY = 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions';

export type ResourceKind = keyof typeof TYPE_URL;
export type TypeUrl = (typeof TYPE_URL)[ResourceKind];

export interface Any {
  readonly type_url: string;
  readonly value: Uint8Array;
}

// --- envoy.config.core.v3 ---

export interface Locality {
  readonly region?: string;
  readonly zone?: string;
  readonly sub_zone?: string;
}

export interface Node {
  readonly id: string;
  readonly cluster: string;
  readonly user_agent_name: string;
  readonly locality?: Locality;
}

export interface SocketAddress {
  /** 0 = TCP */
  readonly protocol?: number;
  readonly address: string;
  readonly port_value: number;
}

export interface Address {
  readonly socket_address: SocketAddress;
}

export interface ConfigSource {
  readonly ads: Record<string, never>;
  /** 2 = V3 */
  readonly resource_api_version: number;
}

/** envoy.config.core.v3.HealthStatus */
export const HEALTH_STATUS = { UNKNOWN: 0, HEALTHY: 1, UNHEALTHY: 2, DRAINING: 3 } as const;

export interface UInt32Value {
  readonly value: number;
}

export interface Duration {
  readonly seconds: number;
  readonly nanos?: number;
}

// --- resources ---

export interface Listener {
  readonly name: string;
  readonly api_listener: { readonly api_listener: Any };
}

export interface HttpConnectionManager {
  readonly stat_prefix: string;
  readonly route_config?: RouteConfiguration;
  readonly rds?: { readonly config_source: ConfigSource; readonly route_config_name: string };
  readonly http_filters: readonly HttpFilter[];
}

export interface HttpFilter {
  readonly name: string;
  readonly typed_config: Any;
}

export interface RouteConfiguration {
  readonly name: string;
  readonly virtual_hosts: readonly VirtualHost[];
}

export interface VirtualHost {
  readonly name: string;
  readonly domains: readonly string[];
  readonly routes: readonly Route[];
}

export interface Route {
  readonly match: { readonly prefix: string };
  readonly route: { readonly cluster: string };
}

/** envoy.config.cluster.v3.Cluster.DiscoveryType */
export const DISCOVERY_TYPE_EDS = 3;
/** envoy.config.cluster.v3.Cluster.LbPolicy */
export const LB_POLICY_ROUND_ROBIN = 0;

export interface Cluster {
  readonly name: string;
  readonly type: number;
  readonly eds_cluster_config: { readonly eds_config: ConfigSource; readonly service_name: string };
  readonly connect_timeout: Duration;
  readonly lb_policy: number;
  /** `locality_weighted_lb_config: {}`: without it Envoy ignores the localities' weights. */
  readonly common_lb_config?: { readonly locality_weighted_lb_config: Record<string, never> };
  readonly typed_extension_protocol_options?: Readonly<Record<string, Any>>;
}

export interface HttpProtocolOptions {
  readonly explicit_http_config: { readonly http2_protocol_options: Record<string, never> };
}

export interface ClusterLoadAssignment {
  readonly cluster_name: string;
  readonly endpoints: readonly LocalityLbEndpoints[];
  /** Envoy's spill-over between priorities (percent); gRPC ignores it. */
  readonly policy?: { readonly overprovisioning_factor: UInt32Value };
}

export interface LocalityLbEndpoints {
  readonly locality: Locality;
  readonly lb_endpoints: readonly LbEndpoint[];
  readonly load_balancing_weight: UInt32Value;
  readonly priority: number;
}

export interface LbEndpoint {
  readonly endpoint: {
    readonly address: Address;
    readonly hostname?: string;
    /** The pod's addresses of the other family (gRFC A61, dual stack): one endpoint, tried together. */
    readonly additional_addresses?: readonly { readonly address: Address }[];
  };
  readonly health_status: number;
  /** `filter_metadata['envoy.lb']` = google.protobuf.Struct `{ hash_key }`: the ring-hash position (gRFC A76). */
  readonly metadata?: Metadata;
}

/** envoy.config.core.v3.Metadata, the subset sent: string values of google.protobuf.Struct fields. */
export interface Metadata {
  readonly filter_metadata: Readonly<
    Record<string, { readonly fields: Readonly<Record<string, { readonly string_value: string }>> }>
  >;
}

// --- envoy.service.discovery.v3 ---

export interface Status {
  readonly code: number;
  readonly message: string;
}

export interface DiscoveryRequest {
  readonly version_info: string;
  readonly node?: Node;
  readonly resource_names: readonly string[];
  readonly type_url: string;
  readonly response_nonce: string;
  readonly error_detail?: Status;
}

export interface DiscoveryResponse {
  readonly version_info: string;
  readonly resources: readonly Any[];
  readonly type_url: string;
  readonly nonce: string;
}

export interface DeltaDiscoveryRequest {
  readonly node?: Node;
  readonly type_url: string;
  readonly resource_names_subscribe: readonly string[];
  readonly resource_names_unsubscribe: readonly string[];
  readonly initial_resource_versions: Readonly<Record<string, string>>;
  readonly response_nonce: string;
  readonly error_detail?: Status;
}

export interface DeltaResource {
  readonly name: string;
  readonly version: string;
  readonly resource: Any;
}

export interface DeltaDiscoveryResponse {
  readonly system_version_info: string;
  readonly resources: readonly DeltaResource[];
  readonly type_url: string;
  readonly nonce: string;
  readonly removed_resources: readonly string[];
}
