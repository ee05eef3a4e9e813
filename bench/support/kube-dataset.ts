// The Kubernetes suites' data set, in one place for the kubernetes and multicluster suites and the start-up tools
// that must measure the same objects (kube-memory.ts, list-worker-prototype.ts): Service svc-n in namespace
// team-⌊n/100⌋, with one slice of 10 endpoints and two named ports.
import { service, type FakeApiServer, type KubeObject } from '../../test/support/fake-apiserver/index.ts';
import { endpointSlices, type ServiceShape } from './fixtures.ts';

export const PER_NAMESPACE = 100;
export const ENDPOINTS = 10;

/**
 * Service n's shape. `index` numbers its addresses and pods (n unless given: several clusters holding the same names
 * get distinct addresses from it); `variant` 1 is the same size with one endpoint's conditions changed.
 */
export function kubeServiceShape(n: number, variant: 0 | 1 = 0, index = n): ServiceShape {
  return {
    namespace: `team-${Math.floor(n / PER_NAMESPACE)}`,
    name: `svc-${n}`,
    slices: 1,
    endpointsPerSlice: ENDPOINTS,
    index,
    variant,
  };
}

/** Service n's one EndpointSlice. */
export function kubeSlice(n: number, variant: 0 | 1 = 0, index = n): KubeObject {
  const [only] = endpointSlices(kubeServiceShape(n, variant, index));
  if (only === undefined) throw new Error('no slice');
  return only as unknown as KubeObject;
}

/** Creates Services svc-nameFrom… (count of them, addresses numbered from indexFrom) and their slices. */
export function populateKubeDataset(
  api: FakeApiServer,
  count: number,
  nameFrom = 0,
  indexFrom = nameFrom,
): void {
  for (let i = 0; i < count; i++) {
    const { namespace, name } = kubeServiceShape(nameFrom + i);
    api.create(
      'services',
      service({
        name,
        namespace,
        ports: [
          { name: 'http', port: 80, targetPort: 8080, appProtocol: 'http' },
          { name: 'grpc', port: 9000, targetPort: 9000, appProtocol: 'kubernetes.io/h2c' },
        ],
      }),
    );
    api.create('endpointslices', kubeSlice(nameFrom + i, 0, indexFrom + i));
  }
}
