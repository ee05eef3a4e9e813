// The cluster part of a view: a caller that names one cluster (REST `?cluster=`, gRPC `cluster`) is answered
// that cluster's share of a merged Service only — its endpoints, its ports, its part — and is told plainly when
// that cluster does not define the Service or is not one endpointd reads. Pure functions; every door uses these.
import {
  compareEndpointPorts,
  withVersion,
  type EndpointPort,
  type ServiceEndpoints,
  type ServiceSnapshot,
} from '../model.ts';
import { namespaceNameProblem } from '../names.ts';
import type { ServiceChange } from '../store/subscription.ts';

/** Why `text` cannot name a cluster (names are DNS-1123 labels, as `--cluster` requires); undefined when it can. */
export function clusterNameProblem(text: string): string | undefined {
  return namespaceNameProblem(text);
}

/**
 * The 404 / NOT_FOUND detail for a cluster that is not one of `known` (the `--cluster` names); undefined when it
 * is, or when no cluster is asked for.
 */
export function unknownClusterDetail(
  cluster: string | undefined,
  known: readonly string[],
): string | undefined {
  if (cluster === undefined || known.includes(cluster)) return undefined;
  return known.length === 0
    ? `no cluster named ${cluster}: endpointd reads no named clusters (--cluster)`
    : `no cluster named ${cluster}; endpointd reads: ${known.join(', ')}`;
}

/**
 * The 404 / NOT_FOUND detail for a Service that `cluster` does not define (it is in others); undefined when it
 * does, or when no cluster is asked for.
 */
export function serviceNotInClusterDetail(
  snapshot: ServiceSnapshot,
  cluster: string | undefined,
): string | undefined {
  if (cluster === undefined) return undefined;
  const parts = snapshot.clusters ?? [];
  if (parts.some((part) => part.name === cluster)) return undefined;
  const where =
    parts.length === 0
      ? 'no named cluster'
      : `cluster${parts.length > 1 ? 's' : ''} ${parts.map((p) => p.name).join(', ')}`;
  return `service ${snapshot.namespace}/${snapshot.name} is not known in cluster ${cluster}; it is defined by ${where}`;
}

/**
 * One cluster's share of a merged Service: its endpoints, the ports they have, its part only (and `truncated` as
 * that part says); conflicts and the Service object as merged (the oldest cluster's). Without its version: see
 * {@link clusterShare}.
 */
export function clusterShareContent(snapshot: ServiceSnapshot, cluster: string): ServiceEndpoints {
  const endpoints = snapshot.endpoints.filter((e) => e.cluster === cluster);
  const parts = (snapshot.clusters ?? []).filter((part) => part.name === cluster);
  const ports = new Map<string, EndpointPort>();
  for (const endpoint of endpoints) {
    for (const p of endpoint.ports) ports.set(`${p.name}|${p.port}|${p.protocol}|${p.appProtocol ?? ''}`, p);
  }
  return {
    namespace: snapshot.namespace,
    name: snapshot.name,
    // Cut or not, as this cluster's own Endpoints were: the merged flag says only that some cluster's were.
    ...(parts.some((part) => part.truncated === true) ? { truncated: true } : {}),
    ...(snapshot.service === undefined ? {} : { service: snapshot.service }),
    ...(snapshot.conflicts === undefined ? {} : { conflicts: snapshot.conflicts }),
    endpoints,
    ports: [...ports.values()].sort(compareEndpointPorts),
    clusters: parts,
  };
}

/**
 * One cluster's share as a snapshot of its own: its version is the content version of the share, so that it
 * moves exactly when that cluster's part changes, whatever the other clusters do, and is the same for every view
 * of it (endpoints=all or not, any port), as a merged snapshot's version is.
 */
export function clusterShare(snapshot: ServiceSnapshot, cluster: string): ServiceSnapshot {
  return withVersion(clusterShareContent(snapshot, cluster));
}

/**
 * A snapshot as a view naming one cluster sees it: undefined when that cluster does not define the Service, so
 * that watch streams say ABSENT / DELETED for it as for any unknown Service. Without a cluster: as it is.
 */
export function inClusterView(
  snapshot: ServiceSnapshot | undefined,
  cluster: string | undefined,
): ServiceSnapshot | undefined {
  if (cluster === undefined || snapshot === undefined) return snapshot;
  return snapshot.clusters?.some((part) => part.name === cluster) === true ? snapshot : undefined;
}

/** A store change as a view naming one cluster sees it (see {@link inClusterView}): the same change without one. */
export function changeInClusterView(change: ServiceChange, cluster: string | undefined): ServiceChange {
  if (cluster === undefined) return change;
  return {
    ...change,
    previous: inClusterView(change.previous, cluster),
    current: inClusterView(change.current, cluster),
  };
}
