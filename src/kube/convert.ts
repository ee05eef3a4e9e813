// Pure converters from Kubernetes objects (EndpointSlices of one Service, or its one Endpoints object) to the
// canonical ServiceEndpoints the store versions. Canonical means: deduplicated and sorted, so that equal content
// gives an equal version whatever the order the API server or the files delivered it in.
import { isIPv4 } from 'node:net';
import {
  compareEndpointPorts,
  compareStrings,
  joined,
  type Endpoint,
  type EndpointPort,
  type ObjectReference,
  type ServiceEndpoints,
  type ServiceInfo,
  type ServicePort,
  type ServiceKey,
} from '../model.ts';
import {
  OVER_CAPACITY_ANNOTATION,
  TOPOLOGY_AWARE_HINTS_ANNOTATION,
  TOPOLOGY_MODE_ANNOTATION,
  type EndpointSliceObject,
  type EndpointsObject,
  type ServiceObject,
  type WireObjectReference,
  type WirePort,
} from './objects.ts';

/**
 * One EndpointSlice's endpoints and ports as the model holds them, before they are merged with the Service's other
 * slices: what the sources keep of a slice in place of its wire endpoints (src/sources/service-assembler.ts), so
 * that each endpoint is held once — the object the store serves — and converted once, not on every change of its
 * Service.
 */
export interface ConvertedSlice {
  /** The slice's own name: slices merge in name order. */
  readonly name: string;
  readonly ports: readonly EndpointPort[];
  /** In the slice's order; duplicates are resolved when merging. */
  readonly endpoints: readonly Endpoint[];
}

/**
 * @param cluster the named cluster the slice comes from (`--cluster NAME=…`), written on each endpoint as the
 * cross-cluster merge needs it, so that the merge keeps these objects rather than a copy of each.
 */
export function convertSlice(slice: EndpointSliceObject, cluster?: string): ConvertedSlice {
  const ports = convertPorts(slice.ports);
  return {
    name: slice.metadata.name,
    ports,
    endpoints: (slice.endpoints ?? []).map((wire) => convertEndpoint(slice, wire, ports, cluster)),
  };
}

/**
 * Merges every EndpointSlice of one Service. An address that sits in two slices at once (the controller moving it)
 * counts once per port set, and the non-terminating copy wins, as in kube-proxy.
 */
export function mergeEndpointSlices(
  key: ServiceKey,
  slices: readonly EndpointSliceObject[],
): ServiceEndpoints {
  return mergeConvertedSlices(
    key,
    slices.map((slice) => convertSlice(slice)),
  );
}

/** mergeEndpointSlices of slices converted before (convertSlice). */
export function mergeConvertedSlices(key: ServiceKey, slices: readonly ConvertedSlice[]): ServiceEndpoints {
  // Slice order must not matter: walk them by name so that ties between duplicates resolve the same everywhere.
  const ordered = [...slices].sort((a, b) => compareStrings(a.name, b.name));
  const byIdentity = new Map<string, Endpoint>();
  const ports = new Map<string, EndpointPort>();
  for (const slice of ordered) {
    for (const p of slice.ports) ports.set(portIdentity(p), p);
    for (const endpoint of slice.endpoints) keepPreferred(byIdentity, endpoint);
  }
  return {
    namespace: key.namespace,
    name: key.name,
    ports: [...ports.values()].sort(compareEndpointPorts),
    endpoints: sortedByIdentity(byIdentity),
  };
}

type SliceEndpoint = NonNullable<EndpointSliceObject['endpoints']>[number];

/**
 * One endpoint of a slice, its optional fields only when set. This runs for every endpoint on every relist, and its
 * results are what the store holds: the usual shape (node, zone and pod reference, nothing else) is built in one
 * literal, so that V8 keeps all its fields inside the object (fields added one by one past a literal go to a
 * separate array, ~40 bytes more per endpoint), and the pod reference is the slice's own object when it already has
 * the model's shape.
 */
function convertEndpoint(
  slice: EndpointSliceObject,
  wire: SliceEndpoint,
  ports: readonly EndpointPort[],
  cluster: string | undefined,
): Endpoint {
  const ready = wire.conditions?.ready ?? true;
  const serving = wire.conditions?.serving ?? true;
  const terminating = wire.conditions?.terminating ?? false;
  const targetRef = convertReference(wire.targetRef);
  const { hostname, nodeName, zone, hints } = wire;
  if (hostname == null && hints == null && nodeName != null && zone != null && targetRef !== undefined) {
    // Two literals rather than a field added to one: each shape keeps all its fields inside the object.
    if (cluster === undefined) {
      return {
        addresses: wire.addresses,
        addressType: slice.addressType,
        ports,
        ready,
        serving,
        terminating,
        nodeName,
        zone,
        targetRef,
      };
    }
    return {
      addresses: wire.addresses,
      addressType: slice.addressType,
      ports,
      ready,
      serving,
      terminating,
      nodeName,
      zone,
      targetRef,
      cluster,
    };
  }
  const endpoint: Writable<Endpoint> = {
    addresses: wire.addresses,
    addressType: slice.addressType,
    ports,
    ready,
    serving,
    terminating,
  };
  if (hostname != null) endpoint.hostname = hostname;
  if (nodeName != null) endpoint.nodeName = nodeName;
  if (zone != null) endpoint.zone = zone;
  if (targetRef !== undefined) endpoint.targetRef = targetRef;
  if (hints?.forZones != null) endpoint.hintsForZones = hints.forZones.map((z) => z.name).sort();
  if (hints?.forNodes != null) endpoint.hintsForNodes = hints.forNodes.map((n) => n.name).sort();
  if (cluster !== undefined) endpoint.cluster = cluster;
  return endpoint;
}

/**
 * Converts a legacy core/v1 Endpoints object: `addresses` are ready, `notReadyAddresses` are not (that API knows no
 * serving or terminating). The API server truncates it at 1,000 addresses and says so in an annotation.
 */
export function convertEndpoints(object: EndpointsObject): ServiceEndpoints {
  const byIdentity = new Map<string, Endpoint>();
  const ports = new Map<string, EndpointPort>();
  for (const subset of object.subsets ?? []) {
    const subsetPorts = convertPorts(subset.ports);
    for (const p of subsetPorts) ports.set(portIdentity(p), p);
    const groups = [
      { ready: true, addresses: subset.addresses ?? [] },
      { ready: false, addresses: subset.notReadyAddresses ?? [] },
    ];
    for (const group of groups) {
      for (const address of group.addresses) {
        keepPreferred(
          byIdentity,
          dropUndefined<Endpoint>({
            addresses: [address.ip],
            addressType: isIPv4(address.ip) ? 'IPv4' : 'IPv6',
            ports: subsetPorts,
            ready: group.ready,
            serving: group.ready,
            terminating: false,
            hostname: address.hostname ?? undefined,
            nodeName: address.nodeName ?? undefined,
            targetRef: convertReference(address.targetRef),
          }),
        );
      }
    }
  }
  const truncated = object.metadata.annotations?.[OVER_CAPACITY_ANNOTATION] === 'truncated';
  return {
    namespace: object.metadata.namespace,
    name: object.metadata.name,
    ports: [...ports.values()].sort(compareEndpointPorts),
    endpoints: sortedByIdentity(byIdentity),
    ...(truncated ? { truncated } : {}),
  };
}

/**
 * What endpointd keeps of a Service object: its type, headless-ness, external name, ports, and what it says about
 * topology (trafficDistribution; the topology-mode annotation, the newer name winning as in the controller).
 */
export function convertService(object: ServiceObject): ServiceInfo {
  const spec = object.spec;
  const annotations = object.metadata.annotations;
  const type = spec?.type ?? 'ClusterIP';
  const ports = (spec?.ports ?? []).map((p) =>
    dropUndefined<ServicePort>({
      name: p.name ?? '',
      port: p.port,
      // Kubernetes defaults an unset targetPort to the port itself.
      targetPort: p.targetPort ?? p.port,
      protocol: p.protocol ?? 'TCP',
      appProtocol: p.appProtocol ?? undefined,
    }),
  );
  return dropUndefined<ServiceInfo>({
    type,
    headless: spec?.clusterIP === 'None',
    externalName: type === 'ExternalName' ? (spec?.externalName ?? undefined) : undefined,
    ports: ports.sort((a, b) => compareStrings(a.name, b.name) || a.port - b.port),
    trafficDistribution: spec?.trafficDistribution ?? undefined,
    topologyMode: annotations?.[TOPOLOGY_MODE_ANNOTATION] ?? annotations?.[TOPOLOGY_AWARE_HINTS_ANNOTATION],
  });
}

function convertPorts(ports: readonly WirePort[] | null | undefined): EndpointPort[] {
  const converted = (ports ?? []).map((p) =>
    dropUndefined<EndpointPort>({
      name: p.name ?? '',
      port: p.port,
      protocol: p.protocol ?? 'TCP',
      appProtocol: p.appProtocol ?? undefined,
    }),
  );
  return converted.sort(compareEndpointPorts);
}

function convertReference(ref: WireObjectReference | null | undefined): ObjectReference | undefined {
  if (ref?.name === undefined || ref.name === null) return undefined;
  if (hasModelShape(ref)) return ref;
  return dropUndefined<ObjectReference>({
    kind: ref.kind ?? 'Pod',
    namespace: ref.namespace ?? undefined,
    name: ref.name,
    uid: ref.uid ?? undefined,
  });
}

/**
 * Whether a wire reference is already what the model holds for it, key for key (kind set; each of namespace and
 * uid either a string or absent; the wire type's keys are the model's, in the model's order): then it is shared.
 */
function hasModelShape(ref: WireObjectReference): ref is ObjectReference {
  const optional = (key: 'namespace' | 'uid'): boolean => (key in ref ? typeof ref[key] === 'string' : true);
  return (
    typeof ref.kind === 'string' && typeof ref.name === 'string' && optional('namespace') && optional('uid')
  );
}

function keepPreferred(byIdentity: Map<string, Endpoint>, candidate: Endpoint): void {
  const identity = joined(candidate.addresses[0] ?? '', '|', portsIdentity(candidate.ports));
  const existing = byIdentity.get(identity);
  if (existing === undefined || preferenceRank(candidate) < preferenceRank(existing)) {
    byIdentity.set(identity, candidate);
  }
}

/** Lower is better: a non-terminating copy beats a terminating one, then ready beats not ready. */
function preferenceRank(endpoint: Endpoint): number {
  return (endpoint.terminating ? 2 : 0) + (endpoint.ready ? 0 : 1);
}

/**
 * An endpoint's identity is `addresses[0]|its ports` (only the first address has meaning, as in kube-proxy: the
 * same address with the same ports is the same endpoint). The ports part, per ports array: every endpoint of a slice
 * (or an Endpoints subset) shares its one array, so the text is made once per slice rather than once per endpoint.
 */
const portsIdentities = new WeakMap<readonly EndpointPort[], string>();

function portsIdentity(ports: readonly EndpointPort[]): string {
  let identity = portsIdentities.get(ports);
  if (identity === undefined) {
    identity = ports.map(portIdentity).join(',');
    portsIdentities.set(ports, identity);
  }
  return identity;
}

function portIdentity(p: EndpointPort): string {
  return `${p.name}/${p.port}/${p.protocol}/${p.appProtocol ?? ''}`;
}

/** The endpoints in the order of their identities (the map's keys: computed once, not per comparison). */
function sortedByIdentity(byIdentity: ReadonlyMap<string, Endpoint>): Endpoint[] {
  return [...byIdentity].sort(([a], [b]) => compareStrings(a, b)).map(([, endpoint]) => endpoint);
}

type Writable<T> = { -readonly [K in keyof T]: T[K] };

/** Leaves optional fields out instead of set to undefined, so that answers do not carry empty keys. */
function dropUndefined<T extends object>(value: { [K in keyof T]: T[K] | undefined }): T {
  const record = value as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const k in record) if (record[k] !== undefined) out[k] = record[k];
  return out as T;
}
