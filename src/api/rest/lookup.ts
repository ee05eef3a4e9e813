// `GET /v1/namespaces/{ns}/services/{name}`: one Service in the view asked for, its long-poll, and the fast path
// for the lookup every client repeats. A lookup URL says everything its answer depends on besides the store (the
// Service, the view; that it does not wait): once a URL has been parsed and validated, the same string means the
// same request, so a repeat is answered without express's router, the query parser or the validation again — but
// with every check that depends on the request or the moment (readiness, authentication, rate limits, metrics).
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Express, NextFunction, Request, RequestHandler, Response } from 'express';
import type { ServiceKey, ServiceSnapshot } from '../../model.ts';
import type { Metrics } from '../../observability/metrics.ts';
import type { Readiness } from '../../observability/readiness.ts';
import type { StoreReader } from '../../store/faces.ts';
import type { RouteLimits } from '../../limits/route-limits.ts';
import { cachedViewVersion } from '../../views/cached-view-version.ts';
import { inClusterView } from '../../views/clusters.ts';
import { unknownPortDetail, type ViewOptions } from '../../views/service-view.ts';
import { ParamReader, requireKnownCluster } from './params.ts';
import { HttpProblem, sendProblem } from './problem.ts';
import { encodedServiceBody } from './representation.ts';
import { observeWhenFinished } from './request-metrics.ts';
import type { OpenStream } from './watch-stream.ts';

/** The route pattern, as the router and the metrics name it. */
export const LOOKUP_ROUTE = '/v1/namespaces/:namespace/services/:name';
const LOOKUP_PARAMS: ReadonlySet<string> = new Set([
  'endpoints',
  'port',
  'zone',
  'node',
  'cluster',
  'wait',
  'version',
]);
const JSON_TYPE = 'application/json; charset=utf-8';
/** Lookup URLs remembered for the fast path; past that the memory starts again (clients repeat a few URLs). */
const MAX_KNOWN_URLS = 1024;

export interface LookupOptions {
  readonly store: StoreReader;
  readonly readiness: Readiness;
  readonly limits: RouteLimits;
  readonly metrics: Metrics | undefined;
  /** The door's guards (authentication), which a fast-path request passes as a routed one does. */
  readonly guards: readonly RequestHandler[];
  /** Long-polls waiting, counted with the door's streams (closed on shutdown). */
  readonly held: Set<OpenStream>;
  readonly onHeldChange: () => void;
  /** How a guard's failure is answered (the door's error handler). */
  readonly answerError: (error: unknown, req: Request, res: Response) => void;
  /** The door's express app, whose request and response prototypes a fast-path request is given. */
  readonly app: Pick<Express, 'request' | 'response'>;
}

interface KnownLookup {
  readonly key: ServiceKey;
  readonly view: ViewOptions;
  /**
   * The version last answered and whether its ports lacked the one asked for (a pure function of the content).
   * The version, not the snapshot: a remembered URL must not keep an old state alive.
   */
  answered?: {
    readonly version: string;
    readonly unknownPort: string | undefined;
    /** The ETag of that answer (the caller's view version, quoted), so that a repeat does not build it again. */
    readonly etag: string;
  };
}

export interface Lookup {
  /** The routed handler (after the guards, the readiness gate and the rate limit). */
  readonly handler: RequestHandler;
  /**
   * Asked before express (the server's request listener): answers a repeated lookup URL and says true, or says
   * false and leaves the request untouched. It only takes requests the app would hand to the lookup handler
   * unchanged: GET, no Origin (CORS has nothing to add), synced, a URL the handler already parsed and validated,
   * and no wait.
   */
  readonly fastPath: (req: IncomingMessage, res: ServerResponse) => boolean;
}

export function createLookup(options: LookupOptions): Lookup {
  const { store, readiness, limits, metrics, guards } = options;
  let known = new Map<string, KnownLookup>();
  const observe = metrics?.httpRecorder(LOOKUP_ROUTE, 'GET');

  const handler: RequestHandler = (req, res) => {
    const params = new ParamReader(req, LOOKUP_PARAMS);
    const key = params.serviceKey(...servicePath(req));
    const view = params.view();
    const wait = params.wait();
    const version = params.version();
    params.finish();
    requireKnownCluster(view.cluster, readiness.clusterNames());
    const snapshot = store.get(key);
    const unknownPort = snapshot === undefined ? undefined : unknownPortDetail(snapshot, view);
    // A port the service does not have is answered at once: waiting would only end in the same 404.
    const portUnknown = unknownPort !== undefined;
    const current = snapshot === undefined ? undefined : cachedViewVersion(store.encoded, snapshot, view);
    // HEAD asks what a GET would answer now: it never waits.
    if (wait === undefined || req.method === 'HEAD' || current !== version || portUnknown) {
      if (wait === undefined && req.method === 'GET') remember(req.originalUrl, { key, view });
      answerLookup(req, res, key, snapshot, view, unknownPort);
      return;
    }
    // From here the request is held: it takes a stream slot, whatever spelling brought it here.
    if (!limits.stream('long-poll', req, res)) return;
    longPoll(req, res, key, version, wait, view);
  };

  const remember = (url: string, lookup: KnownLookup): void => {
    if (known.size >= MAX_KNOWN_URLS && !known.has(url)) known = new Map();
    known.set(url, lookup);
  };

  const fastPath = (incoming: IncomingMessage, outgoing: ServerResponse): boolean => {
    if (incoming.method !== 'GET' || incoming.headers.origin !== undefined || !readiness.synced) return false;
    const lookup = known.get(incoming.url ?? '');
    if (lookup === undefined) return false;
    const [req, res] = asExpress(options.app, incoming, outgoing);
    const started = observe === undefined ? 0 : performance.now();
    let recorded = false;
    /** Past the guards, the request is the lookup route's, as the router would have made it. */
    let routed = false;
    const route = (): string | undefined => (routed ? LOOKUP_ROUTE : undefined);
    /** An answer other than the lookup's own is counted when it is written, as a routed one is. */
    const observeOther = (): void => {
      if (!recorded && metrics !== undefined) observeWhenFinished(metrics, req, res, started, route);
      recorded = true;
    };
    /** What express's router does with a handler that throws: the error handler answers. */
    const guarded = (step: () => void): void => {
      try {
        step();
      } catch (error) {
        observeOther();
        options.answerError(error, req, res);
      }
    };
    const answer = (): void => {
      routed = true;
      if (!limits.request('lookup', req, res)) return observeOther();
      const snapshot = store.get(lookup.key);
      if (snapshot !== undefined && lookup.answered?.version !== snapshot.version) {
        lookup.answered = {
          version: snapshot.version,
          unknownPort: unknownPortDetail(snapshot, lookup.view),
          etag: `"${cachedViewVersion(store.encoded, snapshot, lookup.view)}"`,
        };
      }
      answerLookup(
        req,
        res,
        lookup.key,
        snapshot,
        lookup.view,
        lookup.answered?.unknownPort,
        lookup.answered?.etag,
      );
      if (!recorded) observe?.(res.statusCode, (performance.now() - started) / 1000);
      recorded = true;
    };
    let guard = 0;
    const nextGuard = (error?: unknown): void => {
      if (error !== undefined) {
        observeOther();
        options.answerError(error, req, res);
        return;
      }
      const current = guards[guard];
      guard += 1;
      if (current === undefined) return answer();
      let passed = false;
      current(req, res, ((error?: unknown) => {
        passed = true;
        guarded(() => nextGuard(error));
      }) as NextFunction);
      // Refused, or deciding later (a token check is asynchronous): the answer is counted when it is written, as
      // a routed one is — by the lookup route once past the guards, a guard's refusal as `unmatched`.
      if (!passed) observeOther();
    };
    guarded(nextGuard);
    return true;
  };

  function answerLookup(
    req: Request,
    res: Response,
    key: ServiceKey,
    snapshot: ServiceSnapshot | undefined,
    view: ViewOptions,
    /** unknownPortDetail(snapshot, view), which the caller has at hand. */
    unknownPort: string | undefined,
    /** The ETag of this snapshot's answer in this view, when the caller has it at hand. */
    knownEtag?: string,
  ): void {
    if (snapshot === undefined) {
      sendProblem(
        res,
        new HttpProblem(404, 'Not Found', `service ${key.namespace}/${key.name} is not known`),
      );
      return;
    }
    if (unknownPort !== undefined) {
      sendProblem(res, new HttpProblem(404, 'Not Found', unknownPort));
      return;
    }
    const etag = knownEtag ?? `"${cachedViewVersion(store.encoded, snapshot, view)}"`;
    res.setHeader('ETag', etag);
    res.setHeader('Cache-Control', 'no-cache');
    if (etagMatches(req.headers['if-none-match'], etag)) {
      res.status(304).end();
      return;
    }
    res.setHeader('Content-Type', JSON_TYPE);
    res.end(encodedServiceBody(store.encoded, snapshot, view));
  }

  /**
   * Answers when the version of the caller's view differs from `version` (absent counts as a version), or after
   * `waitMs`: with caller locality, a change the caller's answer does not show does not end the wait.
   */
  function longPoll(
    req: Request,
    res: Response,
    key: ServiceKey,
    version: string | undefined,
    waitMs: number,
    view: ViewOptions,
  ): void {
    let done = false;
    /** Ends the wait once, whichever comes first: a change, the deadline, the client leaving, shutdown. */
    const stop = (): boolean => {
      if (done) return false;
      done = true;
      clearTimeout(timer);
      subscription.close();
      return true;
    };
    const finish = (): void => {
      if (!stop()) return;
      options.held.delete(pending);
      if (res.writableEnded || res.destroyed) return;
      const now = store.get(key);
      answerLookup(req, res, key, now, view, now === undefined ? undefined : unknownPortDetail(now, view));
    };
    const subscription = store.subscribe({ kind: 'service', key }, () => {
      while (subscription.take() !== undefined);
      // As the view sees it: a Service that only another cluster defines is still absent for `?cluster=`.
      const now = inClusterView(store.get(key), view.cluster);
      if ((now === undefined ? undefined : cachedViewVersion(store.encoded, now, view)) !== version) finish();
    });
    const timer = setTimeout(finish, waitMs);
    const pending: OpenStream = { end: finish };
    options.held.add(pending);
    options.onHeldChange();
    res.on('close', () => {
      options.held.delete(pending);
      options.onHeldChange();
      stop();
    });
  }

  return { handler, fastPath };
}

/**
 * The request and response as express's app hands them to its router (src: express/lib/application.js, and the
 * router's `originalUrl` and `baseUrl`), so that guards, limits and the error handler see what they always see.
 */
function asExpress(
  app: Pick<Express, 'request' | 'response'>,
  incoming: IncomingMessage,
  outgoing: ServerResponse,
): [Request, Response] {
  Object.setPrototypeOf(incoming, app.request);
  Object.setPrototypeOf(outgoing, app.response);
  const req = incoming as Request;
  const res = outgoing as Response;
  req.res = res;
  res.req = req;
  res.locals = Object.create(null) as Response['locals'];
  req.originalUrl = req.url;
  req.baseUrl = '';
  return [req, res];
}

/** The `:namespace` and `:name` of a service route. */
export function servicePath(req: Request): [string | undefined, string | undefined] {
  const { namespace, name } = req.params as { namespace?: string; name?: string };
  return [namespace, name];
}

/** RFC 9110 If-None-Match with weak comparison: `*`, or any listed tag equal to ours (W/ ignored). */
function etagMatches(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  if (header.trim() === '*') return true;
  return header.split(',').some((tag) => tag.trim().replace(/^W\//, '') === etag);
}
