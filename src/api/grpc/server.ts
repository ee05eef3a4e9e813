// Assembles the gRPC front door on one grpc-js server: endpointd.v1.Discovery, grpc.health.v1.Health, server
// reflection, and any other service the composition root adds (the xDS ADS), then binds it and drains it.
import {
  Server,
  ServerCredentials,
  type ServerInterceptor,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import type { PackageDefinition } from '@grpc/proto-loader';
import type { Logger } from 'pino';
import type { Readiness } from '../../observability/readiness.ts';
import type { StoreReader } from '../../store/faces.ts';
import type { DiscoveryContext } from './context.ts';
import { shuttingDown } from './errors.ts';
import { HealthService } from './health.ts';
import { listServicesHandler } from './list.ts';
import { DiscoveryCodec } from './messages.ts';
import { channelOptions, DEFAULT_TRANSPORT_OPTIONS, type GrpcTransportOptions } from './options.ts';
import { bytesResponseService, DISCOVERY_SERVICE, loadProtos } from './proto.ts';
import { addLazyReflection } from './reflection.ts';
import { MAX_WATCHED_SERVICES } from './request.ts';
import { resolveHandler } from './resolve.ts';
import { WatchStreams } from './watch.ts';

export interface GrpcServerOptions {
  readonly store: StoreReader;
  readonly readiness: Readiness;
  readonly logger: Logger;
  /** Heartbeat period of Watch streams, in ms (the same flag as REST's watch heartbeats). */
  readonly heartbeatMs: number;
  /** Transport settings; each one not given takes its default (see DEFAULT_TRANSPORT_OPTIONS). */
  readonly transport?: Partial<GrpcTransportOptions>;
  /** At most this many services named in one Watch request (default MAX_WATCHED_SERVICES). */
  readonly maxWatchedServices?: number;
  /** How often health Watch streams re-check readiness, in ms. Default 1000. */
  readonly healthPollMs?: number;
  /** Run before every call of every service, in order (authentication, limits). Default none. */
  readonly interceptors?: readonly ServerInterceptor[];
  /** Transport security of the port. Default insecure (plain HTTP/2). */
  readonly credentials?: ServerCredentials;
}

/** Another service to serve on the same server and port (e.g. xDS's AggregatedDiscoveryService). */
export interface ServiceRegistration {
  /** Fully qualified service names, reported on by grpc.health.v1.Health. */
  readonly names: readonly string[];
  /**
   * The service's protos as proto-loader loads them, so that reflection describes it too; asked for on the first
   * reflection call, not at start.
   */
  readonly packageDefinition?: () => PackageDefinition;
  /** Adds the service's handlers (server.addService). Called once, before the server binds. */
  register(server: Server): void;
  /** Called when shutdown begins: end long-lived calls with UNAVAILABLE so clients reconnect elsewhere. */
  shutdown?(): void;
}

export interface GrpcServer {
  /** The grpc-js server; prefer addService() to adding services on it directly, so that health and reflection know them. */
  readonly server: Server;
  readonly health: HealthService;
  /** Serves another service on this server. Only before start(). */
  addService(registration: ServiceRegistration): void;
  /** Binds `bind`:`port` (0: a free port) with the options' credentials and resolves with the port bound. */
  start(bind: string, port: number): Promise<number>;
  /**
   * Drains: health turns NOT_SERVING, new calls get UNAVAILABLE, Watch streams end with UNAVAILABLE, then the
   * server closes once calls have finished or cuts them after `graceMs`. Idempotent.
   */
  shutdown(graceMs: number): Promise<void>;
  /** Open Watch streams of endpointd.v1.Discovery. */
  openWatchStreams(): number;
}

export function createGrpcServer(options: GrpcServerOptions): GrpcServer {
  const transport: GrpcTransportOptions = { ...DEFAULT_TRANSPORT_OPTIONS, ...options.transport };

  const protos = loadProtos();
  const server = new Server({
    ...channelOptions(transport),
    interceptors: [...(options.interceptors ?? [])],
  });
  let closing = false;
  const context: DiscoveryContext = {
    store: options.store,
    readiness: options.readiness,
    codec: new DiscoveryCodec(protos, options.store.encoded),
    maxWatchedServices: options.maxWatchedServices ?? MAX_WATCHED_SERVICES,
    closing: () => closing,
  };
  const watches = new WatchStreams(context, options.heartbeatMs);
  const health = new HealthService({ readiness: options.readiness, pollMs: options.healthPollMs ?? 1000 });
  const registrations: ServiceRegistration[] = [];

  const discovery: UntypedServiceImplementation = {
    Resolve: resolveHandler(context),
    Watch: watches.handler(),
    ListServices: listServicesHandler(context),
  };
  server.addService(bytesResponseService(protos.discovery), discovery);
  server.addService(protos.health, health.implementation());
  health.addService(DISCOVERY_SERVICE);

  let started = false;
  let stopping: Promise<void> | undefined;
  return {
    server,
    health,
    addService: (registration) => {
      if (started) throw new Error('gRPC services must be added before the server starts');
      registration.register(server);
      registrations.push(registration);
      for (const name of registration.names) health.addService(name);
    },
    start: async (bind, port) => {
      if (started) throw new Error('the gRPC server is already started');
      started = true;
      // Reflection last, so that it describes every service added before.
      addLazyReflection(server, () => {
        let reflected: PackageDefinition = protos.packageDefinition;
        for (const r of registrations) reflected = { ...reflected, ...r.packageDefinition?.() };
        return reflected;
      });
      const host = bind.includes(':') ? `[${bind}]` : bind;
      return new Promise<number>((resolve, reject) => {
        server.bindAsync(
          `${host}:${port}`,
          options.credentials ?? ServerCredentials.createInsecure(),
          (error, boundPort) => (error === null ? resolve(boundPort) : reject(error)),
        );
      });
    },
    shutdown: (graceMs) => {
      stopping ??= (async () => {
        closing = true;
        health.shutdown();
        watches.closeAll(shuttingDown());
        for (const r of registrations) r.shutdown?.();
        await new Promise<void>((resolve) => {
          const timer = setTimeout(() => {
            options.logger.warn({ graceMs }, 'gRPC calls still open after the shutdown grace: cutting them');
            server.forceShutdown();
            resolve();
          }, graceMs);
          server.tryShutdown(() => {
            clearTimeout(timer);
            resolve();
          });
        });
      })();
      return stopping;
    },
    openWatchStreams: () => watches.size,
  };
}
