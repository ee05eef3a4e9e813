// The messages of proto/endpointd/v1/discovery.proto and grpc/health/v1/health.proto as TypeScript sees them:
// requests as proto-loader decodes them (see LOADER_OPTIONS: camelCase, enums by name, defaults filled in, unset
// messages null, `selector`-style names of the oneof member set), responses as plain objects we encode.
import type { ServiceSummary, ServiceView } from '../../views/service-view.ts';

export type EndpointSetName = 'ENDPOINT_SET_UNSPECIFIED' | 'ENDPOINT_SET_ROUTABLE' | 'ENDPOINT_SET_ALL';

/** A decoded enum: its name, or its number when this server's proto does not know the value. */
export type DecodedEnum<Name extends string> = Name | number;

export interface PortSelectorMessage {
  readonly name?: string;
  readonly number?: number;
  /** Which member of the oneof is set; undefined when none is. */
  readonly selector?: 'name' | 'number';
}

export interface ServiceRefMessage {
  readonly namespace: string;
  readonly name: string;
}

export interface ServiceVersionMessage {
  readonly namespace: string;
  readonly name: string;
  readonly version: string;
}

export interface CallerLocalityMessage {
  readonly zone: string;
  readonly node: string;
}

export interface ResolveRequestMessage {
  readonly namespace: string;
  readonly name: string;
  readonly endpoints: DecodedEnum<EndpointSetName>;
  readonly port: PortSelectorMessage | null;
  /** null when unset (and from clients built on the proto before the field existed). */
  readonly caller: CallerLocalityMessage | null;
  /** "" when unset: every cluster. */
  readonly cluster: string;
}

export interface WatchRequestMessage {
  readonly services: readonly ServiceRefMessage[];
  readonly namespace: string;
  readonly endpoints: DecodedEnum<EndpointSetName>;
  readonly port: PortSelectorMessage | null;
  readonly known: readonly ServiceVersionMessage[];
  readonly caller: CallerLocalityMessage | null;
  /** "" when unset: every cluster. */
  readonly cluster: string;
}

export interface ListServicesRequestMessage {
  readonly namespace: string;
  /** "" when unset: every cluster. */
  readonly cluster: string;
}

/**
 * A Service as the view shows it (src/views/). Its ports, endpoints and targets go as the model's own types: the
 * proto declares Port, Endpoint, ObjectReference and Target with the model's field names, and an absent optional
 * field is proto3's default.
 */
export interface ServiceMessage extends Omit<ServiceView, 'service'> {
  readonly serviceInfo?: ServiceInfoMessage;
}

export interface ServiceInfoMessage {
  readonly type: string;
  readonly headless: boolean;
  readonly externalName?: string;
  readonly ports: readonly ServicePortMessage[];
  readonly trafficDistribution?: string;
  readonly topologyMode?: string;
}

/** `targetPortNumber` or `targetPortName`: the `target_port` oneof. */
export type ServicePortMessage = {
  readonly name: string;
  readonly port: number;
  readonly protocol: string;
  readonly appProtocol?: string;
} & ({ readonly targetPortNumber: number } | { readonly targetPortName: string });

export interface ResolveResponseMessage {
  readonly service: ServiceMessage;
}

/** Exactly one member of the `event` oneof. */
export type WatchResponseMessage =
  | { readonly added: ServiceMessage }
  | { readonly modified: ServiceMessage }
  | { readonly deleted: ServiceRefMessage }
  | { readonly absent: ServiceRefMessage }
  | { readonly synced: Record<string, never> }
  | { readonly heartbeat: { readonly versions: readonly ServiceVersionMessage[] } };

export type ServiceSummaryMessage = ServiceSummary;

export interface ListServicesResponseMessage {
  readonly services: readonly ServiceSummaryMessage[];
}

export type ServingStatusName = 'UNKNOWN' | 'SERVING' | 'NOT_SERVING' | 'SERVICE_UNKNOWN';

export interface HealthCheckRequestMessage {
  readonly service: string;
}

export interface HealthCheckResponseMessage {
  readonly status: ServingStatusName;
}

export interface HealthListResponseMessage {
  readonly statuses: Readonly<Record<string, HealthCheckResponseMessage>>;
}
