// The domain model every layer shares: a Service's merged endpoints, their conditions, and the content version.
// Pure types and pure helpers only; no I/O. Which endpoints a caller gets is src/views/.
import { hash } from 'node:crypto';

/** `namespace/name` of a Kubernetes Service. */
export interface ServiceKey {
  readonly namespace: string;
  readonly name: string;
}

export type AddressType = 'IPv4' | 'IPv6' | 'FQDN';
export type Protocol = 'TCP' | 'UDP' | 'SCTP';

/** A port an endpoint listens on: `name` is the Service port's name ("" when unnamed), `port` the target port. */
export interface EndpointPort {
  readonly name: string;
  readonly port: number;
  readonly protocol: Protocol;
  readonly appProtocol?: string;
}

export interface ObjectReference {
  readonly kind: string;
  readonly namespace?: string;
  readonly name: string;
  readonly uid?: string;
}

/** One backend as Kubernetes describes it, conditions already defaulted (ready/serving nil ⇒ true, terminating nil ⇒ false). */
export interface Endpoint {
  readonly addresses: readonly string[];
  readonly addressType: AddressType;
  /** The ports of the slice (or Endpoints subset) this endpoint came from. */
  readonly ports: readonly EndpointPort[];
  readonly ready: boolean;
  readonly serving: boolean;
  readonly terminating: boolean;
  readonly hostname?: string;
  readonly nodeName?: string;
  readonly zone?: string;
  readonly targetRef?: ObjectReference;
  /** Topology hints: the zones this endpoint should serve. */
  readonly hintsForZones?: readonly string[];
  /** Topology hints: the nodes this endpoint should serve (written for trafficDistribution PreferSameNode). */
  readonly hintsForNodes?: readonly string[];
  /**
   * The named cluster this endpoint came from (`--cluster NAME=…`); absent when no cluster is named (files, or a
   * single `--source kubernetes`), so that answers without clusters stay as they were.
   */
  readonly cluster?: string;
}

export type ServiceType = 'ClusterIP' | 'NodePort' | 'LoadBalancer' | 'ExternalName';

/** A port of the Service object: what clients inside the cluster dial (`port`) and where it lands (`targetPort`). */
export interface ServicePort {
  readonly name: string;
  readonly port: number;
  /** A number, or the name of a container port (then each pod may resolve it differently). */
  readonly targetPort: number | string;
  readonly protocol: Protocol;
  readonly appProtocol?: string;
}

/** What the Service object says, when a source knows it (the Kubernetes source watches Services). */
export interface ServiceInfo {
  readonly type: ServiceType;
  /** `clusterIP: None`: clients resolve pods directly; endpoints are all there is. */
  readonly headless: boolean;
  /** Only for type ExternalName: the DNS name the Service points at; such a Service has no endpoints. */
  readonly externalName?: string;
  readonly ports: readonly ServicePort[];
  /** `spec.trafficDistribution` as written (PreferClose, PreferSameZone, PreferSameNode; src/views/topology.ts). */
  readonly trafficDistribution?: string;
  /** The annotation `service.kubernetes.io/topology-mode` (or the older `…/topology-aware-hints`) as written. */
  readonly topologyMode?: string;
}

/** The merged state of one Service, without its version (see {@link ServiceSnapshot}). */
export interface ServiceEndpoints extends ServiceKey {
  /** Distinct ports across all endpoints, sorted. */
  readonly ports: readonly EndpointPort[];
  /** Every endpoint, deduplicated and sorted, whatever its conditions. */
  readonly endpoints: readonly Endpoint[];
  /** The legacy Endpoints object was cut at 1,000 addresses by the API server: the list is incomplete. */
  readonly truncated?: boolean;
  /** The Service object's own description; absent when the source has endpoints only (files, or no Service yet). */
  readonly service?: ServiceInfo;
  /** The named clusters that define this Service, sorted by name; absent when no cluster is named. */
  readonly clusters?: readonly ClusterPart[];
  /**
   * Where the named clusters' Service objects disagree (type, headless, ports, topology), sorted by field: `service` is the
   * oldest one's (MCS's rule). Absent when they agree or no cluster is named.
   */
  readonly conflicts?: readonly ServiceConflict[];
}

/** One property of the Service object that the named clusters define differently. */
export interface ServiceConflict {
  readonly field: 'headless' | 'ports' | 'topologyMode' | 'trafficDistribution' | 'type';
  /** The cluster whose Service is the oldest (creationTimestamp; then name): its value is served. */
  readonly servedFrom: string;
  /** The clusters whose value differs from it, sorted. */
  readonly ignored: readonly string[];
}

/** One named cluster's share of a merged Service: where it is and whether what it says is current. */
export interface ClusterPart {
  readonly name: string;
  /** The cluster's region (`--cluster …,region=R`); xDS uses it, or else the name, as the locality region. */
  readonly region?: string;
  /** The cluster's watches are failing: its endpoints are the last known ones. */
  readonly stale: boolean;
  /**
   * Only when true: this cluster's legacy Endpoints object was cut at 1,000 addresses (the merged Service's own
   * `truncated` says only that some cluster's was), so that one cluster's share says it of itself alone.
   */
  readonly truncated?: true;
}

/**
 * What a Service's topology fields mean for its callers, as the rules read them: `hints` for a topology-mode
 * annotation of Auto (either spelling, as the EndpointSlice controller takes it), else the trafficDistribution
 * value the rules know, else none. Two Services with the same meaning answer every caller alike.
 */
export function topologyAsked(
  policy: Pick<ServiceInfo, 'trafficDistribution' | 'topologyMode'>,
): 'hints' | 'PreferSameNode' | 'PreferSameZone' | 'PreferClose' | 'none' {
  if (policy.topologyMode === 'Auto' || policy.topologyMode === 'auto') return 'hints';
  switch (policy.trafficDistribution) {
    case 'PreferSameNode':
    case 'PreferSameZone':
    case 'PreferClose':
      return policy.trafficDistribution;
  }
  return 'none';
}

/** An immutable, versioned state of one Service as the store hands it out. */
export interface ServiceSnapshot extends ServiceEndpoints {
  /** Hash of the canonical content: equal content ⇒ equal version, on every replica and across restarts. */
  readonly version: string;
}

export function serviceKeyString(key: ServiceKey): string {
  return joined(key.namespace, '/', key.name);
}

/**
 * The parts as one flat string, for ids kept as map keys. A template literal makes a rope (a "cons string") that V8
 * flattens when the string is first hashed and then keeps beside the flat copy: ~100 bytes more per key, ~8 MB for
 * the ids of 10,000 Services and their objects. join() builds the flat string at once.
 */
export function joined(...parts: readonly string[]): string {
  return parts.join('');
}

/** A (name or number) selector for one port of a Service. */
export type PortSelector = { readonly name: string } | { readonly number: number };

export interface DialTarget {
  readonly address: string;
  readonly port: number;
}

/**
 * Computes the content version of a Service. The input must already be canonical (sorted, deduplicated: see the
 * converters), so that the same content hashes the same everywhere.
 *
 * Every field is written in a fixed position of a nested array, whatever order the object's keys were created in:
 * this runs on every update (a relist re-hashes every Service), so it avoids a generic key-sorting serializer,
 * which cost ten times more.
 */
export function contentVersion(service: ServiceEndpoints): string {
  const info = service.service;
  // The endpoints of one slice share its ports array: their tuples are made once and written as often as needed.
  let lastPorts: readonly EndpointPort[] | undefined;
  let lastTuples: unknown[][] = [];
  const portTuples = (ports: readonly EndpointPort[]): unknown[][] => {
    if (ports !== lastPorts) {
      lastPorts = ports;
      lastTuples = ports.map(portTuple);
    }
    return lastTuples;
  };
  const canonical = JSON.stringify([
    3, // the layout's own version: bump it when the layout changes, so old and new hashes never meet
    service.namespace,
    service.name,
    service.ports.map(portTuple),
    service.endpoints.map((e) => [
      e.addresses,
      e.addressType,
      portTuples(e.ports),
      e.ready,
      e.serving,
      e.terminating,
      e.hostname ?? null,
      e.nodeName ?? null,
      e.zone ?? null,
      e.targetRef === undefined
        ? null
        : [e.targetRef.kind, e.targetRef.namespace ?? null, e.targetRef.name, e.targetRef.uid ?? null],
      e.hintsForZones ?? null,
      e.hintsForNodes ?? null,
      // Appended only when set, so that the versions of Services without named clusters stay as they were.
      ...(e.cluster === undefined ? [] : [e.cluster]),
    ]),
    service.truncated === true,
    info === undefined
      ? null
      : [
          info.type,
          info.headless,
          info.externalName ?? null,
          info.ports.map((p) => [p.name, p.port, p.targetPort, p.protocol, p.appProtocol ?? null]),
          info.trafficDistribution ?? null,
          info.topologyMode ?? null,
        ],
    ...(service.clusters === undefined
      ? []
      : [
          service.clusters.map((c) => [
            c.name,
            c.region ?? null,
            c.stale,
            // Appended only when set, so that the versions of Services no cluster cut stay as they were.
            ...(c.truncated === true ? [true] : []),
          ]),
        ]),
    ...(service.conflicts === undefined
      ? []
      : [service.conflicts.map((c) => ['conflict', c.field, c.servedFrom, c.ignored])]),
  ]);
  return contentHash(canonical);
}

/** The form of every version endpointd hands out: 16 base64url characters of the SHA-256 of canonical content. */
export function contentHash(canonical: string | Uint8Array): string {
  // The first 12 bytes are exactly the first 16 characters, written as a string of their own: a slice of the whole
  // digest's text would keep that text alive behind every version held.
  return hash('sha256', canonical, 'buffer').toString('base64url', 0, 12);
}

function portTuple(p: EndpointPort): unknown[] {
  return [p.name, p.port, p.protocol, p.appProtocol ?? null];
}

export function withVersion(service: ServiceEndpoints): ServiceSnapshot {
  return { ...service, version: contentVersion(service) };
}

export function compareEndpointPorts(a: EndpointPort, b: EndpointPort): number {
  return (
    compareStrings(a.name, b.name) ||
    a.port - b.port ||
    compareStrings(a.protocol, b.protocol) ||
    compareStrings(a.appProtocol ?? '', b.appProtocol ?? '')
  );
}

export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
