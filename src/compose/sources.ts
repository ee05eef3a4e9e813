// Builds the sources a Config names (or the bundled examples when it names none), each with its own settings.
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import type { KubernetesSourceConfig, SourceConfig } from '../config/index.ts';
import type { Metrics } from '../observability/metrics.ts';
import type { ExposurePolicy } from '../policy/exposure.ts';
import { FileSource } from '../sources/file/file-source.ts';
import type { Source } from '../sources/source.ts';
import type { EndpointStore } from '../store/endpoint-store.ts';

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
  for (const s of configs.length > 0 ? configs : [{ kind: 'file' as const, path: BUNDLED_EXAMPLES }]) {
    sources.push(
      s.kind === 'file'
        ? new FileSource({ path: s.path, store, logger, policy, maxFileBytes: s.maxFileBytes })
        : await createKubernetesSource(s, context),
    );
  }
  return sources;
}

async function createKubernetesSource(
  settings: KubernetesSourceConfig,
  context: SourcesContext,
): Promise<Source> {
  const { store, policy, logger, metrics } = context;
  // Loaded only when asked for: @kubernetes/client-node takes about a second and 65 MB to import.
  const { KubernetesSource, loadKubeConfig } = await import('../sources/kubernetes/index.ts');
  const { config: kubeconfig, origin } = loadKubeConfig({
    kubeconfig: settings.kubeconfig,
    context: settings.context,
  });
  logger.info(
    { kubeconfig: origin, server: kubeconfig.getCurrentCluster()?.server },
    'Kubernetes credentials',
  );
  return new KubernetesSource({
    config: kubeconfig,
    store,
    logger,
    namespaces: settings.namespaces,
    resource: settings.resource,
    labelSelector: settings.labelSelector,
    policy,
    reflector: { idleTimeoutMs: settings.watchIdleTimeoutMs },
    onWatchEvent: (resource, type) => metrics().watchEvents.inc({ resource, type }),
    onRelist: (resource, reason) => metrics().relists.inc({ resource, reason }),
  });
}
