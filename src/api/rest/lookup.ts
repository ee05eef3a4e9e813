// `GET /v1/namespaces/{ns}/services/{name}`: one Service in the view asked for, its long-poll, and the fast path
// for the lookup every client repeats. A lookup URL says everything its answer depends on besides the store (the
// Service, the view; that it does not wait): once a URL has been parsed and validated, the same string means the
// same request, so a repeat is answered without express, the query parser or the validation again — but with
// every check that depends on the request or the moment (readiness, authentication, rate limits, metrics). The
// fast path only ever gives the answer a lookup is for (200 or 304, its head written as the routed handler writes
// it); any other outcome, a refusal included, is left to the routed way, where every check runs and answers.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Request, RequestHandler, Response } from 'express';
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
const EMPTY = Buffer.alloc(0);
/** Lookup URLs remembered for the fast path; past that the memory starts again (clients repeat a few URLs). */
const MAX_KNOWN_URLS = 1024;

export interface LookupOptions {
  readonly store: StoreReader;
  readonly readiness: Readiness;
  readonly limits: RouteLimits;
  readonly metrics: Metrics | undefined;
  /**
   * What the door's guards and the lookup's limits decide of a repeat (undefined: no fast path, every request is
   * routed).
   */
  readonly admitRepeat: RepeatAdmission | undefined;
  /** Long-polls waiting, counted with the door's streams (closed on shutdown). */
  readonly held: Set<OpenStream>;
  readonly onHeldChange: () => void;
}

/**
 * Whether a repeated lookup passes the door's guards and the lookup's limits at once, with what that takes (a rate
 * token) taken: `path` is the URL's path as the router saw it. False must have changed nothing: the request then
 * goes the routed way, which decides, counts and answers.
 */
export type RepeatAdmission = (req: IncomingMessage, path: string) => boolean;

interface KnownLookup {
  readonly key: ServiceKey;
  readonly view: ViewOptions;
  /** The URL's path as the router had it (`req.path`), which the guards decide open paths by. */
  readonly path: string;
  /**
   * The answer of the version last seen. The version, not the snapshot: a remembered URL must not keep an old state
   * alive (nor its body: that is only weakly held, the encoded-form cache holds it).
   */
  answered?: PreparedAnswer;
}

/** A lookup's answer to one version, ready to be written: what the routed handler would set, computed once. */
interface PreparedAnswer {
  readonly version: string;
  /** unknownPortDetail of that version: the answer is a 404 then, which the fast path leaves to the router. */
  readonly unknownPort: string | undefined;
  /** The ETag (the caller's view version, quoted). */
  readonly etag: string;
  body: WeakRef<Buffer>;
}

export interface Lookup {
  /** The routed handler (after the guards, the readiness gate and the rate limit). */
  readonly handler: RequestHandler;
  /**
   * Asked before express (the server's request listener): answers a repeated lookup URL and says true, or says
   * false and leaves the request untouched. It only takes requests the app would hand to the lookup handler
   * unchanged: GET, no Origin (CORS has nothing to add), synced, a URL the handler already parsed and validated,
   * and no wait; and it only answers a 200 or 304 that every check let through, on node's own objects (express's
   * are not made): the head is what the routed handler sets, byte for byte (test/rest-fast-path.test.ts).
   */
  readonly fastPath: (req: IncomingMessage, res: ServerResponse) => boolean;
}

export function createLookup(options: LookupOptions): Lookup {
  const { store, readiness, limits, metrics, admitRepeat } = options;
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
      if (wait === undefined && req.method === 'GET')
        remember(req.originalUrl, { key, view, path: req.path });
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

  /** The answer of `snapshot` to `lookup`, made when the version moved (once per version, not per request). */
  const prepared = (lookup: KnownLookup, snapshot: ServiceSnapshot): PreparedAnswer => {
    const last = lookup.answered;
    if (last !== undefined && last.version === snapshot.version) return last;
    const unknownPort = unknownPortDetail(snapshot, lookup.view);
    const etag = `"${cachedViewVersion(store.encoded, snapshot, lookup.view)}"`;
    const body = unknownPort === undefined ? encodedServiceBody(store.encoded, snapshot, lookup.view) : EMPTY;
    const answer: PreparedAnswer = {
      version: snapshot.version,
      unknownPort,
      etag,
      body: new WeakRef(body),
    };
    lookup.answered = answer;
    return answer;
  };

  const fastPath = (req: IncomingMessage, res: ServerResponse): boolean => {
    if (admitRepeat === undefined || req.method !== 'GET') return false;
    if (req.headers.origin !== undefined || !readiness.synced) return false;
    const lookup = known.get(req.url ?? '');
    if (lookup === undefined) return false;
    const started = observe === undefined ? 0 : performance.now();
    const snapshot = store.get(lookup.key);
    // A Service or port that is not there is a 404 problem: the routed way writes it.
    if (snapshot === undefined) return false;
    const answer = prepared(lookup, snapshot);
    if (answer.unknownPort !== undefined) return false;
    let body = answer.body.deref();
    if (body === undefined) {
      // The cache let the body go: the same bytes again, from the cache (made anew when it has none).
      body = encodedServiceBody(store.encoded, snapshot, lookup.view);
      answer.body = new WeakRef(body);
    }
    // Past this point the request is answered here: the admission has taken its rate token.
    if (!admitRepeat(req, lookup.path)) return false;
    // The head answerLookup sets, in its order; node adds the rest as for any answer (Content-Length from end()).
    res.setHeader('ETag', answer.etag);
    res.setHeader('Cache-Control', 'no-cache');
    const code = etagMatches(req.headers['if-none-match'], answer.etag) ? 304 : 200;
    if (code === 304) {
      res.statusCode = 304;
      res.end();
    } else {
      res.setHeader('Content-Type', JSON_TYPE);
      res.end(body);
    }
    observe?.(code, (performance.now() - started) / 1000);
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
