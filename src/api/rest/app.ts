// The REST front door (express): lookup, list, long-poll and watch streams over the store, plus health routes.
// It only reads the store and subscribes to it; it never talks to a source.
import type { RequestListener } from 'node:http';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { Logger } from 'pino';
import type { Metrics } from '../../observability/metrics.ts';
import type { Readiness } from '../../observability/readiness.ts';
import type { StoreReader } from '../../store/faces.ts';
import { clip } from '../../limits/bounded-text.ts';
import { NO_ROUTE_LIMITS, type RouteKind, type RouteLimits } from '../../limits/route-limits.ts';
import { corsMiddleware, type CorsOptions } from './cors.ts';
import { healthzHandler, metricsHandler, readyzHandler } from './health-routes.ts';
import { ParamReader, requireKnownCluster } from './params.ts';
import { HttpProblem, sendProblem } from './problem.ts';
import { cachedViewVersion } from '../../views/cached-view-version.ts';
import { clusterSummaries, type ViewOptions } from '../../views/service-view.ts';
import { createLookup, LOOKUP_ROUTE, servicePath, type RepeatAdmission } from './lookup.ts';
import { requestMetrics } from './request-metrics.ts';
import { openWatchStream, type OpenStream } from './watch-stream.ts';
import type { ServiceListBody } from './wire.ts';

export interface RestApiOptions {
  readonly store: StoreReader;
  readonly readiness: Readiness;
  readonly logger: Logger;
  readonly heartbeatMs: number;
  /** When given: request metrics are recorded and `/metrics` is served. */
  readonly metrics?: Metrics;
  /** More GET routes another door serves over HTTP (e.g. xDS's bootstrap), after the readiness gate. */
  readonly routes?: readonly RestRoute[];
  /**
   * Run before every route, `/metrics` and health included, after request metrics start (so that refusals are
   * counted): authentication. Each decides which paths it lets through.
   */
  readonly guards?: readonly express.RequestHandler[];
  /** Browser origins allowed to call the API (default none); preflights are answered before the guards. */
  readonly cors?: CorsOptions;
  /**
   * Public routes mounted before the guards (the dashboard's static files); what they call passes the guards.
   * None may serve under /v1: a repeated lookup is answered before them (src/api/rest/lookup.ts).
   */
  readonly publicRouters?: readonly express.Router[];
  /** The limits (rate, stream slots), asked by each handler for its own kind; default: none. */
  readonly limits?: RouteLimits;
  /**
   * What `guards` and `limits` decide of a repeated lookup, answered before express (src/api/rest/lookup.ts).
   * Without it, repeats are answered that way only when there are neither guards nor limits.
   */
  readonly admitRepeat?: RepeatAdmission;
}

/** A GET route of another door, with the kind its limits are decided by. */
export interface RestRoute {
  readonly kind: RouteKind;
  readonly path: string;
  readonly handler: express.RequestHandler;
}

export interface RestApi {
  /** The express app: every route, without the fast path of repeated lookups. */
  readonly app: express.Express;
  /** What the server runs for each request: a repeated lookup's fast path, else the app. */
  readonly listener: RequestListener;
  /** Ends every watch stream and answers every long-poll now (for shutdown). */
  closeStreams(): void;
  /** Open watch streams and waiting long-polls. */
  openStreams(): number;
}

const LIST_PARAMS: ReadonlySet<string> = new Set(['namespace', 'cluster']);
const SERVICE_WATCH_PARAMS: ReadonlySet<string> = new Set([
  'endpoints',
  'port',
  'zone',
  'node',
  'cluster',
  'version',
]);
const WATCH_PARAMS: ReadonlySet<string> = new Set([
  'namespace',
  'endpoints',
  'port',
  'zone',
  'node',
  'cluster',
]);
const JSON_TYPE = 'application/json; charset=utf-8';

export function createRestApi(options: RestApiOptions): RestApi {
  const { store, readiness, logger, metrics } = options;
  const streams = new Set<OpenStream>();
  const trackStreams = (): void => metrics?.subscribers.set({ door: 'rest' }, streams.size);
  const limits = options.limits ?? NO_ROUTE_LIMITS;
  /** A handler's first step: its kind's limits (the refusal is answered when they say no). */
  const limited =
    (kind: RouteKind): express.RequestHandler =>
    (req, res, next) => {
      if (limits.request(kind, req, res)) next();
    };
  const app = express();
  // One spelling per route: `/V1/watch` or `/v1/watch/` is no route at all (404), never a route reached by a
  // spelling that something in front of the router might classify differently.
  app.set('case sensitive routing', true);
  app.set('strict routing', true);
  app.disable('x-powered-by');
  app.disable('etag'); // our ETag is the content version, not a hash of the bytes
  app.set('query parser', 'simple');

  const guards = options.guards ?? [];
  const answerError = errorAnswer(logger);
  const lookup = createLookup({
    store,
    readiness,
    limits,
    metrics,
    admitRepeat:
      options.admitRepeat ?? (guards.length === 0 && options.limits === undefined ? () => true : undefined),
    held: streams,
    onHeldChange: trackStreams,
  });
  if (metrics !== undefined) app.use(requestMetrics(metrics));
  // Before the guards: browsers send preflights without credentials, and the dashboard's files are public.
  app.use(corsMiddleware(options.cors ?? { allowOrigins: [] }));
  for (const router of options.publicRouters ?? []) app.use(router);
  for (const guard of guards) app.use(guard);
  if (metrics !== undefined) {
    app.get('/metrics', limited('metrics'), metricsHandler(metrics));
  }
  app.get('/healthz', limited('health'), healthzHandler);
  app.get('/readyz', limited('health'), readyzHandler(readiness));

  // Every /v1 answer is only as good as the first sync: until then, tell clients to come back.
  app.use('/v1', (_req, res, next) => {
    if (readiness.synced) return next();
    res.setHeader('Retry-After', '1');
    sendProblem(
      res,
      new HttpProblem(503, 'Service Unavailable', 'endpointd has not finished its first sync yet'),
    );
  });

  app.get('/v1/services', limited('list'), (req, res) => {
    const params = new ParamReader(req, LIST_PARAMS);
    const namespace = params.namespaceFilter();
    const cluster = params.cluster();
    params.finish();
    requireKnownCluster(cluster, readiness.clusterNames());
    const services = clusterSummaries(store.list(namespace), cluster, (s, view) =>
      cachedViewVersion(store.encoded, s, view),
    );
    const body: ServiceListBody = { services };
    res.setHeader('Content-Type', JSON_TYPE);
    res.end(JSON.stringify(body));
  });

  app.get(LOOKUP_ROUTE, limited('lookup'), lookup.handler);

  app.get('/v1/namespaces/:namespace/services/:name/watch', limited('watch'), (req, res) => {
    const params = new ParamReader(req, SERVICE_WATCH_PARAMS);
    const key = params.serviceKey(...servicePath(req));
    const view = params.view();
    const version = params.version();
    params.finish();
    requireKnownCluster(view.cluster, readiness.clusterNames());
    const lastEventId = req.get('Last-Event-ID');
    watch(
      req,
      res,
      { kind: 'service', key },
      view,
      version ?? (lastEventId === '' ? undefined : lastEventId),
    );
  });

  app.get('/v1/watch', limited('watch'), (req, res) => {
    const params = new ParamReader(req, WATCH_PARAMS);
    const namespace = params.namespaceFilter();
    const view = params.view();
    params.finish();
    requireKnownCluster(view.cluster, readiness.clusterNames());
    watch(
      req,
      res,
      namespace === undefined ? { kind: 'all' } : { kind: 'namespace', namespace },
      view,
      undefined,
    );
  });

  for (const route of options.routes ?? []) app.get(route.path, limited(route.kind), route.handler);

  app.use((req, res) => {
    if (!limits.request('unmatched', req, res)) return;
    sendProblem(res, new HttpProblem(404, 'Not Found', `no route for ${clip(req.method)} ${clip(req.path)}`));
  });

  app.use((error: unknown, req: Request, res: Response, _next: NextFunction) => answerError(error, req, res));

  function watch(
    req: Request,
    res: Response,
    scope: Parameters<typeof openWatchStream>[2]['scope'],
    view: ViewOptions,
    resumeVersion: string | undefined,
  ): void {
    const accept = req.get('Accept') ?? '';
    if (req.method === 'HEAD') {
      // The head a GET would get, without holding anything open: a HEAD cannot carry a stream.
      res
        .status(200)
        .type(accept.includes('text/event-stream') ? 'text/event-stream' : 'application/x-ndjson');
      res.end();
      return;
    }
    if (!limits.stream('watch', req, res)) return;
    const stream = openWatchStream(req, res, {
      store,
      scope,
      view,
      format: accept.includes('text/event-stream') ? 'sse' : 'ndjson',
      resumeVersion,
      heartbeatMs: options.heartbeatMs,
    });
    streams.add(stream);
    trackStreams();
    res.on('close', () => {
      streams.delete(stream);
      trackStreams();
    });
  }

  return {
    app,
    // First: a repeated lookup passes the same checks without express (see lookup.ts), whose router and request
    // objects cost about as much again as everything the lookup itself does (bench/README.md, "rest-lookup").
    listener: (req, res) => {
      let answered: boolean;
      try {
        answered = lookup.fastPath(req, res);
      } catch (error) {
        // Our bug, which must not take the process down (a throw here is no request's: node would let it escape):
        // logged, and the routed way answers, or the connection is cut when the head has gone already.
        logger.error({ err: error, url: req.url }, 'the fast path of a repeated lookup failed');
        answered = res.headersSent;
        if (answered) res.destroy();
      }
      if (!answered) app(req, res);
    },
    closeStreams: () => {
      for (const stream of [...streams]) stream.end();
      streams.clear();
    },
    openStreams: () => streams.size,
  };
}

/** How the door answers a failed request: a problem it raised as such, a client's error, else our bug (500). */
function errorAnswer(logger: Logger): (error: unknown, req: Request, res: Response) => void {
  return (error, req, res) => {
    if (error instanceof HttpProblem) {
      sendProblem(res, error);
      return;
    }
    // express's own body-parser style errors carry a status; anything else is our bug.
    const status = (error as { status?: unknown }).status;
    if (typeof status === 'number' && status >= 400 && status < 500) {
      sendProblem(res, new HttpProblem(status, 'Bad Request', (error as Error).message));
      return;
    }
    logger.error({ err: error, method: req.method, url: req.originalUrl }, 'request failed');
    if (res.headersSent) {
      res.destroy();
      return;
    }
    sendProblem(res, new HttpProblem(500, 'Internal Server Error', 'the request failed; see the server log'));
  };
}
