// The composition root: config → sources → store → servers. The only place that wires the layers together;
// everything else receives what it needs. startEndpointd() is what the process (src/main.ts) and the tests run.
import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { createGrpcServer } from '../api/grpc/index.ts';
import {
  ADS_SERVICE_NAME,
  adsPackageDefinition,
  addXdsService,
  XDS_BOOTSTRAP_PATH,
  xdsBootstrapHandler,
  type XdsControlPlane,
} from '../api/xds/index.ts';
import { createRestApi } from '../api/rest/app.ts';
import { createHealthApp } from '../api/rest/health-routes.ts';
import { createDashboardRouter } from '../api/ui/route.ts';
import type { Config } from '../config/index.ts';
import { Metrics } from '../observability/metrics.ts';
import { compactHeapAfterSync } from '../observability/heap-compaction.ts';
import { Readiness } from '../observability/readiness.ts';
import { ExposurePolicy } from '../policy/exposure.ts';
import { EndpointStore } from '../store/endpoint-store.ts';
import { createGuards } from '../security/guards.ts';
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

/** Starts every source and server of `config`; resolves once the servers listen (sources may still be syncing). */
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
  // TLS, authentication and limits of both doors; throws on unusable TLS or tokens files (before anything listens).
  const guards = await createGuards({
    security: config.security,
    limits: config.limits,
    kubeconfig: config.tokenReviewApi,
    logger,
    metrics,
  });
  const grpc = createGrpcServer({
    store,
    readiness,
    logger,
    heartbeatMs: config.grpc.heartbeatIntervalMs,
    maxWatchedServices: config.grpc.maxWatchedServices,
    transport: config.grpc.transport,
    interceptors: [guards.grpcInterceptor],
    credentials: guards.grpcCredentials,
  });
  // xDS shares the gRPC port; its ADS service is registered when the gRPC server binds.
  let xds: XdsControlPlane | undefined;
  grpc.addService({
    names: [ADS_SERVICE_NAME],
    packageDefinition: adsPackageDefinition,
    register: (server) => {
      xds = addXdsService(server, {
        store,
        readiness,
        logger,
        maxNamesPerStream: config.limits.xdsMaxNamesPerStream,
        overprovisioningFactor: config.xds.overprovisioningFactor,
        onRefused: ({ reason, client, details }) =>
          guards.refusals.record({ door: 'grpc', reason, client, detail: details }),
      });
    },
    shutdown: () => xds?.closeStreams(),
  });
  let grpcPort = 0;
  metrics.attachDoors({ grpcWatchStreams: () => grpc.openWatchStreams(), xds: () => xds?.stats() });
  const rest = createRestApi({
    store,
    readiness,
    logger,
    metrics,
    heartbeatMs: config.heartbeatIntervalMs,
    routes: [
      {
        kind: 'xds-bootstrap',
        path: XDS_BOOTSTRAP_PATH,
        handler: xdsBootstrapHandler({ grpcPort: () => grpcPort, tls: config.security.tls !== undefined }),
      },
    ],
    guards: [guards.restAuthenticate],
    limits: guards.restLimits,
    admitRepeat: guards.restAdmitRepeat,
    cors: config.cors,
    publicRouters: [createDashboardRouter()],
  });

  const server = guards.createRestServer(rest.listener);
  // While draining, every answer closes its connection: closing an idle kept-alive connection instead could race
  // a request the client is sending on it, and that client would see a reset instead of an answer.
  let draining = false;
  server.prependListener('request', (_req, res) => {
    if (draining) res.setHeader('Connection', 'close');
  });
  server.listen(config.httpPort, config.bind);
  await once(server, 'listening');
  const httpAddress = server.address() as AddressInfo;
  logger.info(
    { address: httpAddress.address, port: httpAddress.port, tls: config.security.tls !== undefined },
    'REST API listening',
  );
  // Probes cannot present a client certificate (mTLS require) or a token: health gets a plain port of its own.
  const healthServer =
    config.healthPort === undefined
      ? undefined
      : guards.createHealthServer(
          createHealthApp({ readiness, metrics: config.healthPortMetrics ? metrics : undefined }),
        );
  const servers = healthServer === undefined ? [server] : [server, healthServer];
  let healthAddress: AddressInfo | undefined;
  try {
    if (healthServer !== undefined) {
      healthServer.listen(config.healthPort, config.bind);
      await once(healthServer, 'listening');
      healthAddress = healthServer.address() as AddressInfo;
      logger.info(
        { address: healthAddress.address, port: healthAddress.port, metrics: config.healthPortMetrics },
        'health port listening (plain HTTP)',
      );
    }
    grpcPort = await grpc.start(config.bind, config.grpcPort);
  } catch (error) {
    await Promise.all(servers.map((s) => closeServer(s, 0)));
    guards.stop();
    throw error;
  }
  logger.info({ address: config.bind, port: grpcPort }, 'gRPC API listening');

  // A source that cannot start at all (e.g. a path that is not a file or a directory) is a configuration error.
  const synced = Promise.all(sources.map((source) => source.start())).then(
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
      await Promise.all([...servers.map((s) => closeServer(s, 0)), grpc.shutdown(0)]);
      guards.stop();
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
      draining = true;
      logger.info({ delayMs: config.shutdownDelayMs, graceMs: config.shutdownGraceMs }, 'draining');
      await new Promise((resolve) => setTimeout(resolve, config.shutdownDelayMs));
      rest.closeStreams();
      await Promise.all([
        ...servers.map((s) => closeServer(s, config.shutdownGraceMs)),
        grpc.shutdown(config.shutdownGraceMs),
      ]);
      await Promise.allSettled(sources.map((s) => s.stop()));
      guards.stop();
    })();
    return stopping;
  };
  return { store, readiness, httpAddress, grpcPort, healthAddress, synced, stop };
}

/** Stops accepting, lets open requests finish, and cuts what is left after `graceMs`. */
async function closeServer(server: Server, graceMs: number): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  const timer = setTimeout(() => server.closeAllConnections(), graceMs);
  await closed;
  clearTimeout(timer);
}
