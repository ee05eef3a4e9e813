// Realistic objects as the controllers write them: EndpointSlices, core/v1 Endpoints and Services.

import { randomUUID } from 'node:crypto';
import { randomSuffix } from './store.ts';
import type { KubeObject } from './types.ts';

export const LABEL_SERVICE_NAME = 'kubernetes.io/service-name';
export const LABEL_MANAGED_BY = 'endpointslice.kubernetes.io/managed-by';
export const LABEL_HEADLESS = 'service.kubernetes.io/headless';
export const MANAGED_BY_CONTROLLER = 'endpointslice-controller.k8s.io';
export const ANNOTATION_OVER_CAPACITY = 'endpoints.kubernetes.io/over-capacity';
export const ANNOTATION_TRIGGER_TIME = 'endpoints.kubernetes.io/last-change-trigger-time';

export type Protocol = 'TCP' | 'UDP' | 'SCTP';

/** Pod IPs in the usual kind/kubeadm pod CIDRs, so tests need not invent addresses. */
export function podIPv4(n: number): string {
  return `10.244.${Math.floor(n / 250) % 250}.${(n % 250) + 2}`;
}

export function podIPv6(n: number): string {
  return `fd00:10:244::${(n + 2).toString(16)}`;
}

/** A Deployment-style pod name: `<service>-<template hash>-<5 chars>`. */
export function podName(service: string): string {
  return `${service}-6d8f7c9b5-${randomSuffix()}`;
}

function now(): string {
  return new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
}

// ---- EndpointSlice -----------------------------------------------------------------------------------------

export interface SliceEndpoint {
  /** The controller writes exactly one address; only the first one has meaning. */
  addresses: string | string[];
  /** null leaves the condition unset (nil), which consumers must read as ready=true. */
  ready?: boolean | null;
  serving?: boolean | null;
  terminating?: boolean | null;
  nodeName?: string;
  zone?: string;
  hostname?: string;
  /** targetRef Pod name; default a generated Deployment-style name; null omits targetRef. */
  pod?: string | null;
}

export interface SlicePort {
  /** The Service port name; the controller writes "" for an unnamed port. */
  name?: string;
  /** The target (container) port number. */
  port: number;
  protocol?: Protocol;
  appProtocol?: string;
}

export interface EndpointSliceOptions {
  service: string;
  namespace?: string;
  /** Default `<service>-<5 chars>`, as generateName makes them. */
  name?: string;
  addressType?: 'IPv4' | 'IPv6' | 'FQDN';
  headless?: boolean;
  /** null (or []) gives the controller's empty slice, serialised as `"endpoints": null`. */
  endpoints?: SliceEndpoint[] | null;
  ports?: SlicePort[] | null;
  /** Extra labels (the controller copies the Service's labels onto its slices). */
  labels?: Record<string, string>;
  serviceUid?: string;
  managedBy?: string;
}

function sliceEndpoint(e: SliceEndpoint, namespace: string, service: string): Record<string, unknown> {
  const conditions: Record<string, boolean> = {};
  const ready = e.ready === undefined ? true : e.ready;
  const terminating = e.terminating === undefined ? false : e.terminating;
  // The controller derives serving from pod readiness even while terminating.
  const serving = e.serving === undefined ? (ready ?? true) || terminating === true : e.serving;
  if (ready !== null) conditions['ready'] = ready;
  if (serving !== null) conditions['serving'] = serving;
  if (terminating !== null) conditions['terminating'] = terminating;
  const out: Record<string, unknown> = {
    addresses: Array.isArray(e.addresses) ? e.addresses : [e.addresses],
    conditions,
  };
  if (e.hostname !== undefined) out['hostname'] = e.hostname;
  if (e.pod !== null) {
    out['targetRef'] = { kind: 'Pod', namespace, name: e.pod ?? podName(service), uid: randomUUID() };
  }
  out['nodeName'] = e.nodeName ?? 'node-a';
  out['zone'] = e.zone ?? 'zone-a';
  return out;
}

export function endpointSlice(o: EndpointSliceOptions): KubeObject {
  const namespace = o.namespace ?? 'default';
  const labels: Record<string, string> = {
    ...o.labels,
    [LABEL_MANAGED_BY]: o.managedBy ?? MANAGED_BY_CONTROLLER,
    [LABEL_SERVICE_NAME]: o.service,
  };
  if (o.headless === true) labels[LABEL_HEADLESS] = '';
  const endpoints = o.endpoints === undefined ? [{ addresses: podIPv4(0) }] : o.endpoints;
  const ports = o.ports === undefined ? [{ name: 'http', port: 8080 }] : o.ports;
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      name: o.name ?? `${o.service}-${randomSuffix()}`,
      generateName: `${o.service}-`,
      namespace,
      labels,
      annotations: { [ANNOTATION_TRIGGER_TIME]: now() },
      ownerReferences: [
        {
          apiVersion: 'v1',
          kind: 'Service',
          name: o.service,
          uid: o.serviceUid ?? randomUUID(),
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
    },
    addressType: o.addressType ?? 'IPv4',
    // Go's nil slice marshals as null: that is how an empty controller slice arrives.
    endpoints:
      endpoints === null || endpoints.length === 0
        ? null
        : endpoints.map((e) => sliceEndpoint(e, namespace, o.service)),
    ports:
      ports === null || ports.length === 0
        ? null
        : ports.map((p) => {
            const port: Record<string, unknown> = {
              name: p.name ?? '',
              protocol: p.protocol ?? 'TCP',
              port: p.port,
            };
            if (p.appProtocol !== undefined) port['appProtocol'] = p.appProtocol;
            return port;
          }),
  };
}

/**
 * The IPv4 and IPv6 twins the controller writes for a dual-stack Service: same pods, one slice per family.
 * `ipv6Addresses[i]` is the IPv6 address of the pod behind `base.endpoints[i]`.
 */
export function dualStackSlices(
  base: Omit<EndpointSliceOptions, 'addressType' | 'name'> & { endpoints: SliceEndpoint[] },
  ipv6Addresses: string[],
): [KubeObject, KubeObject] {
  const pods = base.endpoints.map((e) => ({
    ...e,
    pod: e.pod === undefined ? podName(base.service) : e.pod,
  }));
  const v4 = endpointSlice({ ...base, endpoints: pods, addressType: 'IPv4' });
  const v6 = endpointSlice({
    ...base,
    addressType: 'IPv6',
    endpoints: pods.map((e, i) => ({ ...e, addresses: ipv6Addresses[i] ?? podIPv6(i) })),
  });
  return [v4, v6];
}

// ---- core/v1 Endpoints -------------------------------------------------------------------------------------

export interface EndpointAddress {
  ip: string;
  nodeName?: string;
  hostname?: string;
  pod?: string | null;
}

export interface EndpointPort {
  name?: string;
  port: number;
  protocol?: Protocol;
  appProtocol?: string;
}

export interface EndpointsOptions {
  service: string;
  namespace?: string;
  ready?: EndpointAddress[];
  notReady?: EndpointAddress[];
  ports?: EndpointPort[];
  labels?: Record<string, string>;
}

function endpointAddress(a: EndpointAddress, namespace: string, service: string): Record<string, unknown> {
  const out: Record<string, unknown> = { ip: a.ip };
  if (a.hostname !== undefined) out['hostname'] = a.hostname;
  out['nodeName'] = a.nodeName ?? 'node-a';
  if (a.pod !== null) {
    out['targetRef'] = { kind: 'Pod', namespace, name: a.pod ?? podName(service), uid: randomUUID() };
  }
  return out;
}

export function endpoints(o: EndpointsOptions): KubeObject {
  const namespace = o.namespace ?? 'default';
  const ready = o.ready ?? [];
  const notReady = o.notReady ?? [];
  const ports = (o.ports ?? [{ name: 'http', port: 8080 }]).map((p) => {
    const port: Record<string, unknown> = { port: p.port, protocol: p.protocol ?? 'TCP' };
    if (p.name !== undefined && p.name !== '') port['name'] = p.name;
    if (p.appProtocol !== undefined) port['appProtocol'] = p.appProtocol;
    return port;
  });
  const obj: KubeObject = {
    apiVersion: 'v1',
    kind: 'Endpoints',
    metadata: {
      name: o.service,
      namespace,
      labels: { ...o.labels },
      annotations: { [ANNOTATION_TRIGGER_TIME]: now() },
    },
  };
  // An Endpoints object without any address has no subsets field at all (omitempty).
  if (ready.length > 0 || notReady.length > 0) {
    const subset: Record<string, unknown> = {};
    if (ready.length > 0) subset['addresses'] = ready.map((a) => endpointAddress(a, namespace, o.service));
    if (notReady.length > 0) {
      subset['notReadyAddresses'] = notReady.map((a) => endpointAddress(a, namespace, o.service));
    }
    subset['ports'] = ports;
    obj['subsets'] = [subset];
  }
  return obj;
}

/** What the Endpoints controller writes for a Service with more than 1000 endpoints: 1000 kept, annotated. */
export function truncatedEndpoints(
  o: Omit<EndpointsOptions, 'ready' | 'notReady'> & { total: number },
): KubeObject {
  const kept = Math.min(o.total, 1000);
  const ready = Array.from({ length: kept }, (_, i) => ({ ip: podIPv4(i), pod: `${o.service}-${i}` }));
  const obj = endpoints({ ...o, ready });
  if (o.total > 1000)
    obj.metadata.annotations = { ...obj.metadata.annotations, [ANNOTATION_OVER_CAPACITY]: 'truncated' };
  return obj;
}

// ---- Service -----------------------------------------------------------------------------------------------

export interface ServicePort {
  name?: string;
  port: number;
  /** Number or the name of a container port; default the same number as `port`. */
  targetPort?: number | string;
  protocol?: Protocol;
  appProtocol?: string;
  nodePort?: number;
}

export interface ServiceOptions {
  name: string;
  namespace?: string;
  type?: 'ClusterIP' | 'NodePort' | 'LoadBalancer' | 'ExternalName';
  /** Default 10.96.x.y; "None" makes it headless. Ignored for ExternalName. */
  clusterIP?: string;
  headless?: boolean;
  externalName?: string;
  ports?: ServicePort[];
  selector?: Record<string, string> | null;
  labels?: Record<string, string>;
  publishNotReadyAddresses?: boolean;
  ipFamilies?: ('IPv4' | 'IPv6')[];
}

let serviceCounter = 0;

export function service(o: ServiceOptions): KubeObject {
  const type = o.type ?? (o.externalName !== undefined ? 'ExternalName' : 'ClusterIP');
  const ports = (
    o.ports ?? (type === 'ExternalName' ? [] : [{ name: 'http', port: 80, targetPort: 8080 }])
  ).map((p) => {
    const port: Record<string, unknown> = {};
    if (p.name !== undefined) port['name'] = p.name;
    port['protocol'] = p.protocol ?? 'TCP';
    if (p.appProtocol !== undefined) port['appProtocol'] = p.appProtocol;
    port['port'] = p.port;
    port['targetPort'] = p.targetPort ?? p.port;
    if (p.nodePort !== undefined) port['nodePort'] = p.nodePort;
    return port;
  });
  const spec: Record<string, unknown> = {};
  if (ports.length > 0) spec['ports'] = ports;
  if (type === 'ExternalName') {
    spec['type'] = 'ExternalName';
    spec['externalName'] = o.externalName ?? 'example.com';
    spec['sessionAffinity'] = 'None';
  } else {
    serviceCounter++;
    const clusterIP =
      o.headless === true
        ? 'None'
        : (o.clusterIP ?? `10.96.${Math.floor(serviceCounter / 250) % 250}.${(serviceCounter % 250) + 1}`);
    const families = o.ipFamilies ?? ['IPv4'];
    if (o.selector !== null) spec['selector'] = o.selector ?? { app: o.name };
    spec['clusterIP'] = clusterIP;
    spec['clusterIPs'] = [clusterIP];
    spec['type'] = type;
    spec['sessionAffinity'] = 'None';
    if (o.publishNotReadyAddresses !== undefined)
      spec['publishNotReadyAddresses'] = o.publishNotReadyAddresses;
    spec['ipFamilies'] = families;
    spec['ipFamilyPolicy'] = families.length > 1 ? 'PreferDualStack' : 'SingleStack';
    spec['internalTrafficPolicy'] = 'Cluster';
  }
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: o.name, namespace: o.namespace ?? 'default', labels: { app: o.name, ...o.labels } },
    spec,
    status: { loadBalancer: {} },
  };
}

/** An MCS ServiceExport (multicluster.x-k8s.io/v1alpha1): exports the Service of the same namespace/name. */
export function serviceExport(o: { name: string; namespace?: string }): KubeObject {
  return {
    apiVersion: 'multicluster.x-k8s.io/v1alpha1',
    kind: 'ServiceExport',
    metadata: { name: o.name, namespace: o.namespace ?? 'default' },
  };
}

export function headlessService(o: Omit<ServiceOptions, 'headless' | 'clusterIP'>): KubeObject {
  return service({ ...o, headless: true });
}

export function externalNameService(o: Omit<ServiceOptions, 'type'> & { externalName: string }): KubeObject {
  return service({ ...o, type: 'ExternalName' });
}
