// The small discovery documents (/version, /api, /apis, group versions) clients may ask for before real work.

import { RESOURCES } from './resources.ts';
import type { ResourceInfo } from './resources.ts';

function resourceEntry(info: ResourceInfo) {
  return {
    name: info.name,
    singularName: info.kind.toLowerCase(),
    namespaced: true,
    kind: info.kind,
    verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'],
    shortNames: info.shortNames.length > 0 ? info.shortNames : undefined,
  };
}

const multiclusterGroup = {
  name: 'multicluster.x-k8s.io',
  versions: [{ groupVersion: 'multicluster.x-k8s.io/v1alpha1', version: 'v1alpha1' }],
  preferredVersion: { groupVersion: 'multicluster.x-k8s.io/v1alpha1', version: 'v1alpha1' },
};

const discoveryGroup = {
  name: 'discovery.k8s.io',
  versions: [{ groupVersion: 'discovery.k8s.io/v1', version: 'v1' }],
  preferredVersion: { groupVersion: 'discovery.k8s.io/v1', version: 'v1' },
};

/** The JSON for a discovery path, or a plain-text body for the health endpoints. */
export function discoveryDocument(path: string, hostPort: string): object | string | undefined {
  switch (path) {
    case '/healthz':
    case '/livez':
    case '/readyz':
      return 'ok';
    case '/version':
      return {
        major: '1',
        minor: '33',
        gitVersion: 'v1.33.0-fake',
        gitCommit: '0000000000000000000000000000000000000000',
        gitTreeState: 'clean',
        buildDate: '2025-04-23T00:00:00Z',
        goVersion: 'go1.24.2',
        compiler: 'gc',
        platform: 'linux/amd64',
      };
    case '/api':
      return {
        kind: 'APIVersions',
        versions: ['v1'],
        serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: hostPort }],
      };
    case '/apis':
      return { kind: 'APIGroupList', apiVersion: 'v1', groups: [discoveryGroup, multiclusterGroup] };
    case '/apis/discovery.k8s.io':
      return { kind: 'APIGroup', apiVersion: 'v1', ...discoveryGroup };
    case '/apis/multicluster.x-k8s.io':
      return { kind: 'APIGroup', apiVersion: 'v1', ...multiclusterGroup };
    case '/apis/multicluster.x-k8s.io/v1alpha1':
      return {
        kind: 'APIResourceList',
        apiVersion: 'v1',
        groupVersion: 'multicluster.x-k8s.io/v1alpha1',
        resources: [resourceEntry(RESOURCES.serviceexports)],
      };
    case '/api/v1':
      return {
        kind: 'APIResourceList',
        groupVersion: 'v1',
        resources: [resourceEntry(RESOURCES.endpoints), resourceEntry(RESOURCES.services)],
      };
    case '/apis/discovery.k8s.io/v1':
      return {
        kind: 'APIResourceList',
        apiVersion: 'v1',
        groupVersion: 'discovery.k8s.io/v1',
        resources: [resourceEntry(RESOURCES.endpointslices)],
      };
    default:
      return undefined;
  }
}
