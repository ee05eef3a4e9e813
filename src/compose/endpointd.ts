// The composition root: config → sources → store → servers. The only place that wires the layers together;
// everything else receives what it needs. startEndpointd() is what the process (src/main.ts) and the tests run.
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { Config } from '../config/index.ts';
import { Metrics } from '../observability/metrics.ts';
import { compactHeapAfterSync } from '../observability/heap-compaction.ts';
import { Readiness } from '../observability/readiness.ts';
import { ExposurePolicy } from '../policy/exposure.ts';
import { EndpointStore } from '../store/endpoint-store.ts';
import type { Doors } from './doors.ts';
import { createSources } from './sources.ts';

export interface Endpointd {
  readonly store: EndpointStore;
  readonly readiness: Readiness;
  /** Where the REST API listens (the real port when 0 was asked for). */
  readonly httpAddress: AddressInfo;
  /** Where the gRPC API (and xDS) listens. */
  readonly grpcPort: number;
  /** Where the plain health port listens (--health-port), if there is one. */
  readonly healthAddress: AddressInfo | undefined;
  /**
   * Resolves once every source has synced once (a Kubernetes source retries until it has); rejects when a source
   * cannot start at all (e.g. a manifest path that does not exist), after stopping everything.
   */
  readonly synced: Promise<void>;
  /** Drains: readiness false, streams ended, servers closed; resolves when all is closed or the grace has passed. */
  stop(): Promise<void>;
}

/**
 * Starts every source and server of `config`; resolves once the servers listen (sources may still be syncing).
 * The sources start first, before the doors' modules are even loaded: a Kubernetes source's first list requests
 * are then on their way (and the API server making their pages) while the doors load, are built and bind; no
 * door answers ready before the first sync either way.
 */
export async function startEndpointd(config: Config, logger: Logger): Promise<Endpointd> {
  const store = new EndpointStore({
    encodedCacheBytes: config.encodedCacheBytes,
    onConflict: ({ key, servedFrom, ignoredFrom }) =>
      logger.error(
        { service: `${key.namespace}/${key.name}`, servedFrom, ignoredFrom },
        'service defined by two sources: serving the first, ignoring the other',
      ),
  });
  const policy = new ExposurePolicy(config.exposure);
  const sources = await createSources(config.sources, { store, policy, logger, metrics: () => metrics });
  const metrics = new Metrics({ store, sources });
  const readiness = new Readiness(sources);
  // Not ready before the heap compaction that follows the first sync (below).
  const releaseReadiness = readiness.hold();
  // A source that cannot start at all (e.g. a path that is not a file or a directory) is a configuration error:
  // told through `synced` below, once the doors it must close are open.
  const started = Promise.all(sources.map((source) => source.start()));
  started.catch(() => {}); // handled below; meanwhile, not an unhandled rejection

  let doors: Doors;
  try {
    const { openDoors } = await import('./doors.ts');
    doors = await openDoors({ config, store, readiness, metrics, logger });
  } catch (error) {
    // Nothing listens (openDoors closes what it opened): the sources' requests stop too.
    await Promise.allSettled(sources.map((s) => s.stop()));
    throw error;
  }

  const synced = started.then(
    () => {
      // A source's start() also resolves when it is stopped before its first sync: that is no "ready".
      if (readiness.shuttingDown || !readiness.synced) return;
      // What loading the first state grew goes back to the system before any traffic comes (heap-compaction.ts
      // says why and what it costs); synchronous, so nothing is answered meanwhile.
      compactHeapAfterSync(logger);
      releaseReadiness();
      logger.info({ services: store.stats().services, endpoints: store.stats().endpoints }, 'ready');
    },
    async (error: unknown) => {
      await Promise.allSettled(sources.map((s) => s.stop()));
      await doors.close(0);
      throw error;
    },
  );
  synced.catch(() => {}); // the caller is told through `synced`; do not also report it as unhandled

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      // First only say "not ready" (/readyz 503, gRPC health NOT_SERVING) and keep serving, so that load
      // balancers and clients move away before anything is refused; then drain.
      readiness.beginShutdown();
      doors.startDraining();
      logger.info({ delayMs: config.shutdownDelayMs, graceMs: config.shutdownGraceMs }, 'draining');
      await new Promise((resolve) => setTimeout(resolve, config.shutdownDelayMs));
      doors.closeStreams();
      await doors.close(config.shutdownGraceMs);
      await Promise.allSettled(sources.map((s) => s.stop()));
    })();
    return stopping;
  };
  const { httpAddress, grpcPort, healthAddress } = doors;
  return { store, readiness, httpAddress, grpcPort, healthAddress, synced, stop };
}
