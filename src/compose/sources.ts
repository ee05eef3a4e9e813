// Builds the sources a Config names (or the bundled examples when it names none), each with its own settings.
// Named clusters (`--cluster`) are one Kubernetes source each, all writing one cross-cluster merge, which writes
// the store under one name (MERGED_SOURCE): the union of the clusters, each endpoint tagged with its own.
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import type { KubernetesSourceConfig, SourceConfig } from '../config/index.ts';
import type { Metrics } from '../observability/metrics.ts';
import type { ExposurePolicy } from '../policy/exposure.ts';
import { FileSource } from '../sources/file/file-source.ts';
import type { Source } from '../sources/source.ts';
import type { EndpointStore } from '../store/endpoint-store.ts';
import type { ClusterMerge } from '../sources/kubernetes/cluster-merge.ts';

/** The store's name for the merged definitions of the named clusters. */
export const MERGED_SOURCE = 'clusters';

/** The manifests served when no source is configured: the repository's (or the image's) examples/. */
export const BUNDLED_EXAMPLES = fileURLToPath(new URL('../../examples/', import.meta.url));

export interface SourcesContext {
  readonly store: EndpointStore;
  readonly policy: ExposurePolicy;
  readonly logger: Logger;
  /** The metrics are made from the sources, so after them: asked for only once a source is watching. */
  readonly metrics: () => Metrics;
}

/** One Source per entry of `configs`; the bundled examples when there is none (and that is logged). */
export async function createSources(
  configs: readonly SourceConfig[],
  context: SourcesContext,
): Promise<Source[]> {
  const { store, policy, logger } = context;
  if (configs.length === 0) {
    logger.info({ path: BUNDLED_EXAMPLES }, 'no --source given: serving the bundled example manifests');
  }
  const sources: Source[] = [];
  const merge = await clusterMerge(configs, context);
  for (const s of configs.length > 0 ? configs : [{ kind: 'file' as const, path: BUNDLED_EXAMPLES }]) {
    sources.push(
      s.kind === 'file'
        ? new FileSource({ path: s.path, store, logger, policy, maxFileBytes: s.maxFileBytes })
        : await createKubernetesSource(s, context, merge),
    );
  }
  // The first source serves a Service that several define, whichever finishes reading first; named clusters all
  // write through the one merge, which the Config lists after every --source (README, "Sources").
  store.rankSources(
    sources.map((source, i) => {
      const config = configs[i];
      return config?.kind === 'kubernetes' && config.cluster ? MERGED_SOURCE : source.name;
    }),
  );
  return sources;
}

/** The one merge every named cluster writes, when there are any. */
async function clusterMerge(
  configs: readonly SourceConfig[],
  context: SourcesContext,
): Promise<ClusterMerge | undefined> {
  const clusters = configs.flatMap((s) => (s.kind === 'kubernetes' && s.cluster ? [s.cluster] : []));
  if (clusters.length === 0) return undefined;
  const { ClusterMerge } = await import('../sources/kubernetes/cluster-merge.ts');
  const { metrics } = context;
  return new ClusterMerge({
    store: context.store,
    source: MERGED_SOURCE,
    clusters,
    logger: context.logger.child({ source: MERGED_SOURCE }),
    observer: {
      onAddressConflict: () => metrics().clusterConflicts.inc({ kind: 'address' }),
      onServiceConflict: (_key, conflict) => metrics().clusterConflicts.inc({ kind: conflict.field }),
    },
  });
}

async function createKubernetesSource(
  settings: KubernetesSourceConfig,
  context: SourcesContext,
  merge: ClusterMerge | undefined,
): Promise<Source> {
  const { store, policy, logger, metrics } = context;
  // Loaded only when asked for: @kubernetes/client-node takes about a second and 65 MB to import.
  const { KubernetesSource, loadKubeConfig } = await import('../sources/kubernetes/index.ts');
  const cluster = settings.cluster;
  let loaded;
  try {
    loaded = loadKubeConfig({ kubeconfig: settings.kubeconfig, context: settings.context });
  } catch (error) {
    if (cluster === undefined) throw error;
    throw new Error(`--cluster ${cluster.name}: ${(error as Error).message}`, { cause: error });
  }
  const { config: kubeconfig, origin } = loaded;
  logger.info(
    { kubeconfig: origin, server: kubeconfig.getCurrentCluster()?.server, cluster: cluster?.name },
    'Kubernetes credentials',
  );
  const label = cluster === undefined ? {} : { cluster: cluster.name };
  return new KubernetesSource({
    config: kubeconfig,
    store,
    logger,
    namespaces: settings.namespaces,
    resource: settings.resource,
    labelSelector: settings.labelSelector,
    policy,
    reflector: { idleTimeoutMs: settings.watchIdleTimeoutMs },
    maxResponseBytes: settings.maxResponseBytes,
    onWatchEvent: (resource, type) => metrics().watchEvents.inc({ resource, type, ...label }),
    onRelist: (resource, reason) => metrics().relists.inc({ resource, reason, ...label }),
    ...(cluster === undefined || merge === undefined ? {} : { cluster: { ...cluster, merge } }),
  });
}
