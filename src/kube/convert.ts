// Pure converters from Kubernetes objects (EndpointSlices of one Service, or its one Endpoints object) to the
// canonical ServiceEndpoints the store versions. Canonical means: deduplicated and sorted, so that equal content
// gives an equal version whatever the order the API server or the files delivered it in.
import { isIPv4 } from 'node:net';
import {
  compareEndpointPorts,
  compareStrings,
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
 * Merges every EndpointSlice of one Service. An address that sits in two slices at once (the controller moving it)
 * counts once per port set, and the non-terminating copy wins, as in kube-proxy.
 */
export function mergeEndpointSlices(
  key: ServiceKey,
  slices: readonly EndpointSliceObject[],
): ServiceEndpoints {
  // Slice order must not matter: walk them by name so that ties between duplicates resolve the same everywhere.
  const ordered = [...slices].sort((a, b) => compareStrings(a.metadata.name, b.metadata.name));
  const byIdentity = new Map<string, Endpoint>();
  const ports = new Map<string, EndpointPort>();
  for (const slice of ordered) {
    const slicePorts = convertPorts(slice.ports);
    for (const p of slicePorts) ports.set(portIdentity(p), p);
    for (const wire of slice.endpoints ?? []) {
      // Built field by field (optional ones only when set): this runs for every endpoint on every relist.
      const endpoint: Writable<Endpoint> = {
        addresses: wire.addresses,
        addressType: slice.addressType,
        ports: slicePorts,
        ready: wire.conditions?.ready ?? true,
        serving: wire.conditions?.serving ?? true,
        terminating: wire.conditions?.terminating ?? false,
      };
      if (wire.hostname != null) endpoint.hostname = wire.hostname;
      if (wire.nodeName != null) endpoint.nodeName = wire.nodeName;
      if (wire.zone != null) endpoint.zone = wire.zone;
      const targetRef = convertReference(wire.targetRef);
      if (targetRef !== undefined) endpoint.targetRef = targetRef;
      if (wire.hints?.forZones != null)
        endpoint.hintsForZones = wire.hints.forZones.map((z) => z.name).sort();
      if (wire.hints?.forNodes != null)
        endpoint.hintsForNodes = wire.hints.forNodes.map((n) => n.name).sort();
      keepPreferred(byIdentity, endpoint);
    }
  }
  return {
    namespace: key.namespace,
    name: key.name,
    ports: [...ports.values()].sort(compareEndpointPorts),
    endpoints: sortedByIdentity(byIdentity),
  };
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
  return dropUndefined<ObjectReference>({
    kind: ref.kind ?? 'Pod',
    namespace: ref.namespace ?? undefined,
    name: ref.name,
    uid: ref.uid ?? undefined,
  });
}

function keepPreferred(byIdentity: Map<string, Endpoint>, candidate: Endpoint): void {
  const identity = endpointIdentity(candidate);
  const existing = byIdentity.get(identity);
  if (existing === undefined || preferenceRank(candidate) < preferenceRank(existing)) {
    byIdentity.set(identity, candidate);
  }
}

/** Lower is better: a non-terminating copy beats a terminating one, then ready beats not ready. */
function preferenceRank(endpoint: Endpoint): number {
  return (endpoint.terminating ? 2 : 0) + (endpoint.ready ? 0 : 1);
}

/** Only `addresses[0]` has meaning (as in kube-proxy); the same address with the same ports is the same endpoint. */
function endpointIdentity(endpoint: Endpoint): string {
  return `${endpoint.addresses[0]}|${endpoint.ports.map(portIdentity).join(',')}`;
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
