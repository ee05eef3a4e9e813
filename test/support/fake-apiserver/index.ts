// The fake kube-apiserver's public surface for tests: the server, its types, fixtures and a raw HTTP client.
//
//   const api = await FakeApiServer.start({ tls: true, bookmarkIntervalMs: 50 });
//   kc.loadFromString(api.kubeconfigYaml());
//   api.create('endpointslices', endpointSlice({ service: 'web', endpoints: [{ addresses: podIPv4(1) }] }));
//   ...
//   await api.close();

export { FakeApiServer } from './server.ts';
export type { FakeApiServerOptions } from './server.ts';
export type { SplitOptions } from './faults.ts';
export type { InClusterEnv } from './kubeconfig.ts';
export { RESOURCES } from './resources.ts';
export { StoreError } from './store.ts';
export type {
  FailNextOptions,
  FaultStatus,
  FaultVerb,
  KubeObject,
  ObjectMeta,
  RequestLogEntry,
  ResourceName,
  StallOptions,
  TokenScope,
  Verb,
  WatchEventType,
} from './types.ts';
export * from './fixtures.ts';
export { rawGet, RawStream } from './raw-client.ts';
export { TOKEN_REVIEWS_PATH } from './token-review.ts';
export type { ReviewedUser } from './token-review.ts';
export type { RawOptions, RawResponse, RawTarget, RawWatchEvent, RawWatchObject } from './raw-client.ts';
