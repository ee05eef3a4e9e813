// Builds the admission machinery of both doors from the config: TLS credentials, the authenticator, the stream
// caps and rate limiter, and hands each door its part (an express middleware, a grpc-js interceptor and
// credentials, an HTTP(S) server). The composition root calls this once; nothing here is a singleton.
import { createServer as createHttpServer, type RequestListener, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { ServerCredentials, type ServerInterceptor } from '@grpc/grpc-js';
import type { RequestHandler } from 'express';
import type { RepeatAdmission } from '../api/rest/lookup.ts';
import type { RouteLimits } from '../limits/route-limits.ts';
import type { Logger } from 'pino';
import { guardHttpServer, httpServerOptions, type HttpLimits } from '../limits/http-limits.ts';
import { RateLimiter, type RateLimit } from '../limits/rate-limiter.ts';
import { Refusals } from '../limits/refusals.ts';
import { StreamSlots, type StreamCaps } from '../limits/stream-slots.ts';
import type { Metrics } from '../observability/metrics.ts';
import { Authenticator } from './authenticator.ts';
import { grpcGate } from './grpc-gate.ts';
import { restGate } from './rest-gate.ts';
import { TlsCredentials, type TlsConfig } from './tls.ts';
import type { TokenReviewer } from './token-review.ts';
import { TokensFile } from './tokens-file.ts';

export interface AuthConfig {
  /** `--auth-tokens-file`: static bearer tokens. */
  readonly tokensFile: string | undefined;
  /** `--auth-token-review`: ask the API server about other bearer tokens. */
  readonly tokenReview: boolean;
  /** Health routes and grpc.health.v1 stay open when authentication is on. */
  readonly openHealth: boolean;
  /** `/metrics` stays open when authentication is on. */
  readonly openMetrics: boolean;
}

export interface SecurityConfig {
  /** undefined: plain HTTP and gRPC. */
  readonly tls: TlsConfig | undefined;
  readonly auth: AuthConfig;
  /** How often the TLS files and the tokens file are re-read, in ms. */
  readonly reloadIntervalMs: number;
}

export interface LimitsConfig {
  readonly http: HttpLimits;
  /** Watch streams and long-polls of the REST door; per client = per remote address. */
  readonly restStreams: StreamCaps;
  /** Streaming calls of the gRPC door (Watch, ADS, health Watch, reflection); per client = per remote address. */
  readonly grpcStreams: StreamCaps;
  /** With authentication on: streams of the open gRPC methods (health Watch), a budget apart from grpcStreams. */
  readonly grpcUnauthenticatedStreams: StreamCaps;
  /** Per-client rate of lookups (REST /v1, gRPC Discovery); undefined: none. */
  readonly lookupRate: RateLimit | undefined;
  /** Failed bearer-token attempts per remote address, before it is refused without a look (or a TokenReview). */
  readonly failedAuthRate: RateLimit;
  /** Resource names one ADS stream may subscribe to, all types together. */
  readonly xdsMaxNamesPerStream: number;
}

export interface GuardsOptions {
  readonly security: SecurityConfig;
  readonly limits: LimitsConfig;
  /** Where TokenReview finds the API server: the same kubeconfig flags as the Kubernetes source. */
  readonly kubeconfig: { readonly kubeconfig: string | undefined; readonly context: string | undefined };
  readonly logger: Logger;
  readonly metrics?: Metrics | undefined;
}

export interface Guards {
  /** Before every REST route: authentication. */
  readonly restAuthenticate: RequestHandler;
  /** What each REST handler asks for its kind: rate limit, stream slots. */
  readonly restLimits: RouteLimits;
  /** Both of the above for a repeated lookup answered before express's router. */
  readonly restAdmitRepeat: RepeatAdmission;
  /** Where every door records a refusal (counted and logged, throttled). */
  readonly refusals: Refusals;
  readonly grpcInterceptor: ServerInterceptor;
  /** TLS (following the files) or insecure. */
  readonly grpcCredentials: ServerCredentials;
  readonly restStreams: StreamSlots;
  readonly grpcStreams: StreamSlots;
  readonly tokenReviewer: TokenReviewer | undefined;
  /** The REST server: https when TLS is configured, with the HTTP limits installed. */
  createRestServer(app: RequestListener): Server;
  /** The health port's server: always plain HTTP (probes present no certificate), with the HTTP limits. */
  createHealthServer(app: RequestListener): Server;
  /** Stops re-reading files. */
  stop(): void;
}

const HEALTH_PATHS = ['/healthz', '/readyz'];

/** Throws, naming the flag and file, when a TLS or tokens file cannot be used. */
export async function createGuards(options: GuardsOptions): Promise<Guards> {
  const { security, limits, logger } = options;
  const refusals = new Refusals(logger, options.metrics);
  const tls =
    security.tls === undefined
      ? undefined
      : new TlsCredentials({ config: security.tls, reloadIntervalMs: security.reloadIntervalMs, logger });
  let tokens: TokensFile | undefined;
  try {
    tokens =
      security.auth.tokensFile === undefined
        ? undefined
        : new TokensFile({
            file: security.auth.tokensFile,
            reloadIntervalMs: security.reloadIntervalMs,
            logger,
          });
  } catch (error) {
    tls?.stop();
    throw error;
  }
  let tokenReviewer: TokenReviewer | undefined;
  if (security.auth.tokenReview) {
    try {
      // Loaded only when asked for: @kubernetes/client-node is slow and heavy to import.
      const [{ loadKubeConfig }, { TokenReviewer }] = await Promise.all([
        import('../kube/kubeconfig.ts'),
        import('./token-review.ts'),
      ]);
      const { config, origin } = loadKubeConfig(options.kubeconfig);
      tokenReviewer = new TokenReviewer({ config });
      logger.info(
        { kubeconfig: origin, server: config.getCurrentCluster()?.server },
        'TokenReview credentials',
      );
    } catch (error) {
      tls?.stop();
      tokens?.stop();
      throw new Error(`--auth-token-review: ${(error as Error).message}`, { cause: error });
    }
  }
  const authenticator = new Authenticator({
    tokens,
    reviewer: tokenReviewer,
    certificates: security.tls?.clientCaFile !== undefined,
    failedAttempts: limits.failedAuthRate,
  });
  if (authenticator.enabled && tls === undefined) {
    logger.warn('authentication is on without TLS: bearer tokens cross the network in clear text');
  }
  if (!authenticator.enabled) logger.info('no authentication configured: every client is served');
  const rateLimiter = limits.lookupRate === undefined ? undefined : new RateLimiter(limits.lookupRate);
  const restStreams = new StreamSlots(limits.restStreams);
  const grpcStreams = new StreamSlots(limits.grpcStreams);
  const grpcUnauthenticatedStreams = new StreamSlots(limits.grpcUnauthenticatedStreams);
  const openPaths = new Set([
    ...(security.auth.openHealth ? HEALTH_PATHS : []),
    ...(security.auth.openMetrics ? ['/metrics'] : []),
  ]);
  const rest = restGate({
    authenticator,
    openPaths,
    rateLimiter,
    streams: restStreams,
    idleTimeoutMs: limits.http.idleTimeoutMs,
    refusals,
  });
  return {
    restAuthenticate: rest.authenticate,
    restLimits: rest.limits,
    restAdmitRepeat: rest.admitRepeat,
    refusals,
    grpcInterceptor: grpcGate({
      authenticator,
      openMethods: security.auth.openHealth ? ['/grpc.health.v1.Health/'] : [],
      rateLimiter,
      rateLimitedPrefix: '/endpointd.v1.Discovery/',
      streams: grpcStreams,
      unauthenticatedStreams: grpcUnauthenticatedStreams,
      refusals,
    }),
    grpcCredentials: tls === undefined ? ServerCredentials.createInsecure() : tls.grpcCredentials(),
    restStreams,
    grpcStreams,
    tokenReviewer,
    createRestServer: (app) => {
      const base = httpServerOptions(limits.http);
      let server: Server;
      if (tls === undefined) {
        server = createHttpServer(base, app);
      } else {
        const https = createHttpsServer({ ...base, ...tls.httpsOptions() }, app);
        tls.attachHttps(https);
        https.on('tlsClientError', (error: NodeJS.ErrnoException, socket) => {
          refusals.record({
            door: 'rest',
            reason: 'tls_handshake',
            client: socket.remoteAddress ?? 'unknown',
            detail: error.code ?? error.message,
          });
        });
        server = https;
      }
      guardHttpServer(server, limits.http, refusals);
      return server;
    },
    createHealthServer: (app) => {
      const server = createHttpServer(httpServerOptions(limits.http), app);
      guardHttpServer(server, limits.http, refusals);
      return server;
    },
    stop: () => {
      tls?.stop();
      tokens?.stop();
    },
  };
}
