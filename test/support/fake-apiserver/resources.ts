// The resource table and URL routing: which path means which resource, scope, verb and object name.

import type { ResourceName, Verb } from './types.ts';

export interface ResourceInfo {
  name: ResourceName;
  group: string;
  version: string;
  apiVersion: string;
  kind: string;
  listKind: string;
  /** Path prefix before `/namespaces/...` or the collection name. */
  prefix: string;
  shortNames: string[];
}

export const RESOURCES: Readonly<Record<ResourceName, ResourceInfo>> = {
  endpointslices: {
    name: 'endpointslices',
    group: 'discovery.k8s.io',
    version: 'v1',
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    listKind: 'EndpointSliceList',
    prefix: '/apis/discovery.k8s.io/v1',
    shortNames: [],
  },
  endpoints: {
    name: 'endpoints',
    group: '',
    version: 'v1',
    apiVersion: 'v1',
    kind: 'Endpoints',
    listKind: 'EndpointsList',
    prefix: '/api/v1',
    shortNames: ['ep'],
  },
  services: {
    name: 'services',
    group: '',
    version: 'v1',
    apiVersion: 'v1',
    kind: 'Service',
    listKind: 'ServiceList',
    prefix: '/api/v1',
    shortNames: ['svc'],
  },
  // The MCS API's export marker (KEP-1645), read-only for endpointd's --cluster-export=serviceexport.
  serviceexports: {
    name: 'serviceexports',
    group: 'multicluster.x-k8s.io',
    version: 'v1alpha1',
    apiVersion: 'multicluster.x-k8s.io/v1alpha1',
    kind: 'ServiceExport',
    listKind: 'ServiceExportList',
    prefix: '/apis/multicluster.x-k8s.io/v1alpha1',
    shortNames: ['svcex'],
  },
};

export const RESOURCE_NAMES: readonly ResourceName[] = [
  'endpointslices',
  'endpoints',
  'services',
  'serviceexports',
];

export function isResourceName(value: string): value is ResourceName {
  return (RESOURCE_NAMES as readonly string[]).includes(value);
}

/** `endpointslices.discovery.k8s.io` / `services`: how the apiserver names a resource in messages. */
export function qualifiedResource(info: ResourceInfo): string {
  return info.group === '' ? info.name : `${info.name}.${info.group}`;
}

export interface ResourceRoute {
  kind: 'resource';
  resource: ResourceInfo;
  namespace: string | undefined;
  name: string | undefined;
}

export interface DiscoveryRoute {
  kind: 'discovery';
  path: string;
}

export type Route = ResourceRoute | DiscoveryRoute | { kind: 'unknown' };

const DISCOVERY_PATHS = new Set([
  '/version',
  '/healthz',
  '/livez',
  '/readyz',
  '/api',
  '/api/v1',
  '/apis',
  '/apis/discovery.k8s.io',
  '/apis/discovery.k8s.io/v1',
  '/apis/multicluster.x-k8s.io',
  '/apis/multicluster.x-k8s.io/v1alpha1',
]);

export function route(pathname: string): Route {
  const path = pathname.length > 1 && pathname.endsWith('/') ? pathname.slice(0, -1) : pathname;
  if (DISCOVERY_PATHS.has(path)) return { kind: 'discovery', path };
  for (const info of Object.values(RESOURCES)) {
    if (!path.startsWith(info.prefix + '/')) continue;
    const parts = path.slice(info.prefix.length + 1).split('/');
    if (parts.length === 1 && parts[0] === info.name) {
      return { kind: 'resource', resource: info, namespace: undefined, name: undefined };
    }
    if (parts[0] === 'namespaces' && parts[2] === info.name && parts[1] !== undefined && parts[1] !== '') {
      const namespace = decodeURIComponent(parts[1]);
      if (parts.length === 3) return { kind: 'resource', resource: info, namespace, name: undefined };
      if (parts.length === 4 && parts[3] !== undefined && parts[3] !== '') {
        return { kind: 'resource', resource: info, namespace, name: decodeURIComponent(parts[3]) };
      }
    }
  }
  return { kind: 'unknown' };
}

/** GET on a collection is list or watch (by the `watch` query parameter); GET on a name is get. */
export function verbOf(routeInfo: ResourceRoute, query: URLSearchParams): Verb {
  if (routeInfo.name !== undefined) return 'get';
  // The apiserver parses it with Go's strconv.ParseBool.
  const watch = query.get('watch');
  return watch !== null && ['1', 't', 'T', 'true', 'TRUE', 'True'].includes(watch) ? 'watch' : 'list';
}
