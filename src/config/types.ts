// The shape of a validated configuration: what the composition root (src/main.ts) hands each layer.
import type { LevelWithSilent } from 'pino';
import type { GrpcTransportOptions } from '../api/grpc/options.ts';
import type { CorsOptions } from '../api/rest/cors.ts';
import type { ExposureRules } from '../policy/exposure.ts';
import type { LabelSelector } from '../policy/label-selector.ts';
import type { LimitsConfig, SecurityConfig } from '../security/guards.ts';

/** Where an API server is and who endpointd is to it: a kubeconfig file and context (undefined: the usual search). */
export interface KubeconfigRef {
  /** undefined: $KUBECONFIG, ~/.kube/config, then the in-cluster service account. */
  readonly kubeconfig: string | undefined;
  /** undefined: the kubeconfig's current context. */
  readonly context: string | undefined;
}

export interface FileSourceConfig {
  readonly kind: 'file';
  /** A manifest file or a directory of them. */
  readonly path: string;
  /** Larger files are refused; undefined: --file-max-size's default. */
  readonly maxFileBytes?: number;
}

/**
 * One Kubernetes source: the cluster it reads and what it reads of it. Every setting is the source's own, so that
 * several clusters, each its own entry of Config.sources, fit later (issue 13, docs: shared/notes/multicluster.md).
 */
export interface KubernetesSourceConfig extends KubeconfigRef {
  readonly kind: 'kubernetes';
  /** Empty: all namespaces. */
  readonly namespaces: readonly string[];
  readonly resource: 'endpointslices' | 'endpoints';
  /** Sent to the API server, which filters by it; validated at start. */
  readonly labelSelector: string | undefined;
  /** A watch that delivered nothing (no event, no bookmark) for this long is reopened. */
  readonly watchIdleTimeoutMs: number;
  /** A list page or a watch event larger than this is refused: a hostile or broken server cannot fill memory. */
  readonly maxResponseBytes: number;
  /** A named cluster (`--cluster`), merged with the others; undefined: the one unnamed cluster of today. */
  readonly cluster?: ClusterSettings;
}

/** Which Services of a named cluster join the merge (docs/multicluster.md). */
export type ExportRule =
  | { readonly mode: 'all' }
  | { readonly mode: 'annotation'; readonly key: string; readonly value: string }
  | { readonly mode: 'serviceexport' };

/** What makes a Kubernetes source one named cluster of several. */
export interface ClusterSettings {
  /** A DNS-1123 label, unique among the clusters: every endpoint from it carries it. */
  readonly name: string;
  readonly region: string | undefined;
  readonly export: ExportRule;
  /** Readiness waits this long at most for the cluster's first list; then it is ready without it (marked stale). */
  readonly readyTimeoutMs: number;
  /** Watches failing this long mark the cluster's endpoints stale in answers. */
  readonly staleAfterMs: number;
}

export type SourceConfig = FileSourceConfig | KubernetesSourceConfig;

/** Which Services clients may see (see src/policy/exposure.ts); the label selector is parsed already. */
export interface ExposureConfig extends ExposureRules {
  readonly selector: LabelSelector | undefined;
  readonly annotation: { readonly key: string; readonly value: string } | undefined;
}

export interface GrpcConfig {
  readonly heartbeatIntervalMs: number;
  readonly maxWatchedServices: number;
  readonly transport: GrpcTransportOptions;
}

export interface Config {
  /** Empty: serve the bundled examples. */
  readonly sources: readonly SourceConfig[];
  /** The API server --auth-token-review asks (the --kubeconfig/--context flags, as the Kubernetes source's). */
  readonly tokenReviewApi: KubeconfigRef;
  readonly exposure: ExposureConfig;
  readonly grpc: GrpcConfig;
  /** The xDS door's resources (src/config/options/xds.ts). */
  readonly xds: { readonly overprovisioningFactor: number };
  readonly httpPort: number;
  /** Plain-HTTP port of /healthz and /readyz (and /metrics with healthPortMetrics); undefined: none. */
  readonly healthPort: number | undefined;
  readonly healthPortMetrics: boolean;
  readonly grpcPort: number;
  readonly bind: string;
  readonly logLevel: LevelWithSilent;
  readonly heartbeatIntervalMs: number;
  readonly encodedCacheBytes: number;
  readonly shutdownGraceMs: number;
  readonly shutdownDelayMs: number;
  /** TLS and authentication of both doors (all off by default). */
  readonly security: SecurityConfig;
  /** Limits against hostile or broken clients. */
  readonly limits: LimitsConfig;
  /** Browser pages of other origins allowed to call the REST API; absent: none. */
  readonly cors?: CorsOptions;
}

export type ParsedCommandLine =
  | { readonly kind: 'run'; readonly config: Config }
  | { readonly kind: 'help'; readonly text: string }
  | { readonly kind: 'version' }
  | { readonly kind: 'invalid'; readonly problems: readonly string[] };
