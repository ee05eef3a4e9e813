// The doors of a running endpointd: REST (with the dashboard and the xDS bootstrap), the plain health port, gRPC
// (with xDS's ADS), behind their TLS, authentication and limits; built and listening, or nothing left open.
// Loaded by src/compose/endpointd.ts only once the sources have sent their first requests: its modules (express,
// grpc-js, protobufjs and the rest) take a few hundred milliseconds to load, which then overlap the sources' first
// round trips instead of coming before them.
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
import type { Metrics } from '../observability/metrics.ts';
import type { Readiness } from '../observability/readiness.ts';
import type { EndpointStore } from '../store/endpoint-store.ts';
import { createGuards } from '../security/guards.ts';

export interface DoorsContext {
  readonly config: Config;
  readonly store: EndpointStore;
  readonly readiness: Readiness;
  readonly metrics: Metrics;
  readonly logger: Logger;
}

export interface Doors {
  /** Where the REST API listens (the real port when 0 was asked for). */
  readonly httpAddress: AddressInfo;
  /** Where the gRPC API (and xDS) listens. */
  readonly grpcPort: number;
  /** Where the plain health port listens (--health-port), if there is one. */
  readonly healthAddress: AddressInfo | undefined;
  /** From now on, every answer closes its connection (while draining). */
  startDraining(): void;
  /** Ends the REST streams (SSE). */
  closeStreams(): void;
  /** Closes every server, cutting what is still open after `graceMs`, and stops the guards. */
  close(graceMs: number): Promise<void>;
}

/** Builds every door of `config` and makes it listen; throws (with nothing left listening) when one cannot. */
export async function openDoors(context: DoorsContext): Promise<Doors> {
  const { config, store, readiness, metrics, logger } = context;
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
  try {
    server.listen(config.httpPort, config.bind);
    await once(server, 'listening');
  } catch (error) {
    guards.stop();
    throw error;
  }
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
  return {
    httpAddress,
    grpcPort,
    healthAddress,
    startDraining: () => {
      draining = true;
    },
    closeStreams: () => rest.closeStreams(),
    close: async (graceMs) => {
      await Promise.all([...servers.map((s) => closeServer(s, graceMs)), grpc.shutdown(graceMs)]);
      guards.stop();
    },
  };
}

/** Stops accepting, lets open requests finish, and cuts what is left after `graceMs`. */
async function closeServer(server: Server, graceMs: number): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  const timer = setTimeout(() => server.closeAllConnections(), graceMs);
  await closed;
  clearTimeout(timer);
}
