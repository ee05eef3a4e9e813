// Shared shapes of the fake kube-apiserver: objects, resources, verbs, token scopes and log entries.

export type ResourceName = 'endpointslices' | 'endpoints' | 'services' | 'serviceexports';
export type Verb = 'get' | 'list' | 'watch';
export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';

export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  [field: string]: unknown;
}

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  [field: string]: unknown;
}

/** What a bearer token may do; omitted fields allow everything, like a cluster-admin binding. */
export interface TokenScope {
  /** Shown in 403 messages, e.g. `system:serviceaccount:endpointd:endpointd`. */
  user?: string;
  verbs?: readonly Verb[];
  resources?: readonly ResourceName[];
  /**
   * When set, the token behaves like RoleBindings in these namespaces only: cluster-scope requests
   * (the all-namespaces collection paths) are forbidden.
   */
  namespaces?: readonly string[];
  /** May create TokenReviews; omitted: only when verbs, resources and namespaces are all unrestricted. */
  tokenReviews?: boolean;
}

export interface RequestLogEntry {
  method: string;
  path: string;
  query: URLSearchParams;
  verb: Verb | undefined;
  resource: ResourceName | undefined;
  namespace: string | undefined;
  name: string | undefined;
  /** 0 until the response headers are written (e.g. while stalled before headers). */
  status: number;
  token: string | undefined;
  at: number;
}

export type FaultVerb = Verb | 'any';
export type FaultStatus = 401 | 403 | 410 | 429 | 500 | 503 | 504;

export interface FailNextOptions {
  verb: FaultVerb;
  resource?: ResourceName;
  status: FaultStatus;
  /** How many matching requests fail; default 1. */
  times?: number;
  /** Retry-After for 429 (and 503 when given); default 1 for 429. */
  retryAfterSeconds?: number;
}

export interface StallOptions {
  verb: FaultVerb;
  resource?: ResourceName;
  phase: 'before-headers' | 'after-headers';
}
