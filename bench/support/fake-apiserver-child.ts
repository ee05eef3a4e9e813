// Child-process entry for the multicluster suite: one fake kube-apiserver (test/support/fake-apiserver) of its own,
// holding `count` Services (each with one EndpointSlice of 10 endpoints, as the kubernetes suite's), so that
// several clusters are served by several processes, as several real API servers would be, rather than by one event
// loop that would serialise their lists. argv: NAME_FROM COUNT INDEX_FROM — Services svc-NAME_FROM… (namespaces of
// 100), addresses and pods numbered from INDEX_FROM (distinct across clusters unless asked otherwise).
import { FakeApiServer } from '../../test/support/fake-apiserver/index.ts';
import { populateKubeDataset } from './kube-dataset.ts';
import { childFailed, now, onParentMessage, toParent } from './kube-child.ts';

export type FromFakeApiServerChild = {
  readonly type: 'ready';
  readonly kubeconfigYaml: string;
  readonly services: number;
  readonly createMs: number;
};

try {
  const [nameFrom = 0, count = 0, indexFrom = 0] = process.argv.slice(2).map(Number);
  const api = await FakeApiServer.start();
  const started = now();
  populateKubeDataset(api, count, nameFrom, indexFrom);
  toParent({
    type: 'ready',
    kubeconfigYaml: api.kubeconfigYaml(),
    services: count,
    createMs: now() - started,
  } satisfies FromFakeApiServerChild);
  onParentMessage<{ readonly type: 'stop' }>(
    () => {},
    () => api.close(),
  );
} catch (error) {
  childFailed(error);
}
