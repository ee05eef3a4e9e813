// The xDS front door: registers envoy.service.discovery.v3.AggregatedDiscoveryService (state of the world and
// delta) on a grpc.Server that someone else owns and starts. Public API of src/api/xds/ (with bootstrap-route.ts).
import { LIMIT_OPTIONS } from '../../config/options/limits.ts';
import * as grpc from '@grpc/grpc-js';
import { loadSync, type PackageDefinition } from '@grpc/proto-loader';
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { StoreReader } from '../../store/faces.ts';
import { ResourceCatalog } from './catalog.ts';
import { DeltaStream } from './delta-stream.ts';
import { adsServiceDefinition, PROTO_DIR, PROTO_FILES } from './encoding.ts';
import { SotwStream } from './sotw-stream.ts';
import { LogThrottle } from '../../observability/log-throttle.ts';
import { emptyStats, NackLog, type StreamDeps, type XdsStats } from './stream-common.ts';
import { ServiceWatchers } from './subscriptions.ts';
import type {
  DeltaDiscoveryRequest,
  DeltaDiscoveryResponse,
  DiscoveryRequest,
  DiscoveryResponse,
} from './wire.ts';

export {
  createXdsBootstrapRouter,
  XDS_BOOTSTRAP_PATH,
  xdsBootstrapHandler,
  type XdsBootstrapOptions,
} from './bootstrap-route.ts';

/** The fully qualified name of the ADS service, as health checks and reflection name it. */
export const ADS_SERVICE_NAME = 'envoy.service.discovery.v3.AggregatedDiscoveryService';
export { formatResourceName, parseResourceName } from './naming.ts';

/**
 * The ADS service and the resource types it carries, as proto-loader loads them: what server reflection needs to
 * describe the service (grpcurl list/describe), including the messages packed in its `Any` resources.
 */
export function adsPackageDefinition(): PackageDefinition {
  return loadSync(PROTO_FILES, { includeDirs: [PROTO_DIR] });
}
export type { XdsStats } from './stream-common.ts';

export interface XdsOptions {
  readonly store: StoreReader;
  /** Responses wait until `synced` is true (src/observability/readiness.ts's Readiness fits). */
  readonly readiness: { readonly synced: boolean };
  readonly logger: Logger;
  /** Suffix of every version; default: random per process, so a restarted server never reuses a version. */
  readonly instanceId?: string;
  /** At most this many Clusters go to a wildcard (Envoy) subscriber (default 10,000). */
  readonly maxWildcardResources?: number;
  /** How often held streams look at readiness before the first sync, in ms (default 100). */
  readonly syncPollMs?: number;
  /**
   * Resource names one stream may subscribe to, all types together (default DEFAULT_MAX_NAMES_PER_STREAM); a
   * request that would go beyond ends its stream with RESOURCE_EXHAUSTED.
   */
  readonly maxNamesPerStream?: number;
  /**
   * At most one line of a repeated warning in this period, in ms (default 10 s): NACKs per client and type, an
   * unusable node locality per client and fields wrong; NACKs are all counted.
   */
  readonly warnEveryMs?: number;
  /**
   * Assignments' `policy.overprovisioning_factor` in percent (--xds-overprovisioning-factor; default: strict, so
   * that Envoy stays in a caller's priority 0 while anything there is healthy, as gRPC does).
   */
  readonly overprovisioningFactor?: number;
  /** Told of every stream ended for breaking a limit (the door's refusal counter and log). */
  readonly onRefused?: (refusal: { reason: string; client: string; details: string }) => void;
}

/** Resource names per ADS stream by default (--xds-max-names-per-stream's default). */
export const DEFAULT_MAX_NAMES_PER_STREAM = LIMIT_OPTIONS.xdsMaxNamesPerStream.defaultValue;

export interface XdsControlPlane {
  readonly instanceId: string;
  /** Counters since start; `sotwStreams`/`deltaStreams` are the streams open now. */
  stats(): Readonly<XdsStats> & { readonly watchedServices: number };
  /**
   * Ends every open ADS stream with UNAVAILABLE (clients reconnect, to another replica if there is one) and
   * refuses new ones the same way. For shutdown, before the grpc.Server is closed.
   */
  closeStreams(): void;
}

interface OpenStream {
  end(status: Partial<grpc.StatusObject>): void;
  resume(): void;
}

const SHUTDOWN_STATUS: Partial<grpc.StatusObject> = {
  code: grpc.status.UNAVAILABLE,
  details: 'endpointd is shutting down: reconnect',
};

/** Adds the ADS service to `server` (call before server.bindAsync/start). */
export function addXdsService(server: grpc.Server, options: XdsOptions): XdsControlPlane {
  const instanceId = options.instanceId ?? randomBytes(6).toString('base64url');
  const logger = options.logger.child({ component: 'xds' });
  const catalog = new ResourceCatalog({
    store: options.store,
    instanceId,
    maxWildcardResources: options.maxWildcardResources ?? 10_000,
    ...(options.overprovisioningFactor === undefined
      ? {}
      : { overprovisioningFactor: options.overprovisioningFactor }),
    onWildcardTruncated: (total, served) =>
      logger.warn({ total, served }, 'more Service ports than a wildcard subscriber is sent: list truncated'),
  });
  const watchers = new ServiceWatchers(options.store, catalog);
  watchers.start();
  const stats = emptyStats();
  const streams = new Set<OpenStream>();
  let nextStreamId = 0;
  let closing = false;
  let syncTimer: NodeJS.Timeout | undefined;
  const synced = (): boolean => options.readiness.synced;

  // Before the first sync every answer could be a premature "does not exist": streams are held, and released
  // together once the sources have synced.
  const waitForSync = (): void => {
    if (syncTimer !== undefined || synced()) return;
    syncTimer = setInterval(() => {
      if (!synced()) return;
      clearInterval(syncTimer);
      syncTimer = undefined;
      for (const stream of streams) stream.resume();
    }, options.syncPollMs ?? 100);
    syncTimer.unref();
  };

  const warnEveryMs = options.warnEveryMs ?? 10_000;
  const nackLog = new NackLog(logger, warnEveryMs);
  // A client reconnecting in a loop with the same unusable locality is told once a period, not once a stream.
  const localityLog = new LogThrottle(warnEveryMs);
  const deps = (call: grpc.ServerDuplexStream<unknown, unknown>): StreamDeps => {
    const streamId = (nextStreamId += 1);
    // getPeer() is "host:port" (IPv6 in brackets): the host is the client.
    const client = call.getPeer().replace(/:\d+$/, '');
    return {
      catalog,
      watchers,
      stats,
      logger,
      synced,
      streamId,
      instanceId,
      maxNamesPerStream: options.maxNamesPerStream ?? DEFAULT_MAX_NAMES_PER_STREAM,
      client,
      nackLog,
      localityLog,
      onRefused: (reason, details) => {
        if (options.onRefused !== undefined) options.onRefused({ reason, client, details });
        else logger.warn({ stream: streamId, reason, client, details }, 'xDS stream refused');
      },
    };
  };

  const open = <S extends OpenStream>(
    call: grpc.ServerDuplexStream<unknown, unknown>,
    kind: 'sotwStreams' | 'deltaStreams',
    create: (onClose: () => void) => S,
  ): void => {
    if (closing) {
      call.emit('error', SHUTDOWN_STATUS);
      return;
    }
    stats[kind] += 1;
    const stream: S = create(() => {
      stats[kind] -= 1;
      streams.delete(stream);
    });
    streams.add(stream);
    waitForSync();
  };

  server.addService(adsServiceDefinition, {
    StreamAggregatedResources: (call: grpc.ServerDuplexStream<DiscoveryRequest, DiscoveryResponse>) =>
      open(
        call as grpc.ServerDuplexStream<unknown, unknown>,
        'sotwStreams',
        (onClose) => new SotwStream(call, deps(call as grpc.ServerDuplexStream<unknown, unknown>), onClose),
      ),
    DeltaAggregatedResources: (
      call: grpc.ServerDuplexStream<DeltaDiscoveryRequest, DeltaDiscoveryResponse>,
    ) =>
      open(
        call as grpc.ServerDuplexStream<unknown, unknown>,
        'deltaStreams',
        (onClose) => new DeltaStream(call, deps(call as grpc.ServerDuplexStream<unknown, unknown>), onClose),
      ),
  });

  return {
    instanceId,
    stats: () => ({ ...stats, watchedServices: watchers.watchedServices }),
    closeStreams: () => {
      closing = true;
      clearInterval(syncTimer);
      syncTimer = undefined;
      for (const stream of [...streams]) stream.end(SHUTDOWN_STATUS);
      streams.clear();
      watchers.stop();
    },
  };
}
