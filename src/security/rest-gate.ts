// The REST door's admission. `authenticate` runs before every route: it answers 401 problem+json (with
// `WWW-Authenticate: Bearer`), 429 (too many failed attempts) or 503 (a token the API server could not be asked
// about), and remembers who the client is. `limits` is
// what each handler asks for its own kind (src/limits/route-limits.ts): the lookup rate limit per client (429
// with Retry-After) when the handler starts, a stream slot (429) when it starts holding the request open. So the
// limits follow the route the router chose and the query express parsed, never a reading of the raw URL.
import type { Request, RequestHandler, Response } from 'express';
import type { Socket } from 'node:net';
import type { PeerCertificate, TLSSocket } from 'node:tls';
import { MAX_WAIT_MS } from '../api/rest/params.ts';
import { HttpProblem, sendProblem } from '../api/rest/problem.ts';
import type { RateLimiter } from '../limits/rate-limiter.ts';
import type { Refusals } from '../limits/refusals.ts';
import { RATE_LIMITED_KINDS, type RouteKind, type RouteLimits } from '../limits/route-limits.ts';
import type { StreamSlots } from '../limits/stream-slots.ts';
import type { RepeatAdmission } from '../api/rest/lookup.ts';
import { bearerToken, type Authentication, type Authenticator } from './authenticator.ts';

export interface RestGateOptions {
  readonly authenticator: Authenticator;
  /** Paths served without authentication (e.g. /healthz, /readyz); exact, as the router matches them. */
  readonly openPaths: ReadonlySet<string>;
  /** Per-client rate limit of the rate-limited route kinds; undefined: none. */
  readonly rateLimiter: RateLimiter | undefined;
  /** Caps on watch streams and long-polls, the per-client one by remote address. */
  readonly streams: StreamSlots;
  /** Socket idle timeout of the server, in ms: a long-poll gets its longest wait on top. */
  readonly idleTimeoutMs: number;
  readonly refusals: Refusals;
}

export interface RestGate {
  /** Express middleware before every route: authentication. */
  readonly authenticate: RequestHandler;
  /** What the handlers ask for their kind. */
  readonly limits: RouteLimits;
  /** The same two for a repeated lookup answered before express (src/api/rest/lookup.ts). */
  readonly admitRepeat: RepeatAdmission;
}

/** Seconds a client refused for a stream cap is told to wait: streams end rarely, so not at once. */
const STREAM_RETRY_AFTER_S = 5;

export function restGate(options: RestGateOptions): RestGate {
  const { authenticator, openPaths, rateLimiter, streams, refusals } = options;
  /** Who each authenticated request is, for the rate limit (its identity; else its address). */
  const clients = new WeakMap<Request, string>();
  const addressOf = (req: { readonly socket: Socket }): string => req.socket.remoteAddress ?? 'unknown';
  /** Whether requests of `kind` take a rate token (and the limiter, when they do). */
  const rateLimited = (kind: RouteKind): RateLimiter | undefined =>
    RATE_LIMITED_KINDS.has(kind) ? rateLimiter : undefined;
  const refuse = (
    res: Response,
    client: string,
    reason: string,
    problem: HttpProblem,
    headers: Record<string, string>,
  ): void => {
    refusals.record({ door: 'rest', reason, client, detail: problem.message });
    for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
    sendProblem(res, problem);
  };

  const limits: RouteLimits = {
    request: (kind, req, res) => {
      const limiter = rateLimited(kind);
      if (limiter === undefined) return true;
      const client = clients.get(req) ?? addressOf(req);
      const waitMs = limiter.take(client);
      if (waitMs === 0) return true;
      const { perSecond, burst } = limiter.limit;
      refuse(
        res,
        client,
        'rate_limited',
        new HttpProblem(
          429,
          'Too Many Requests',
          `more than ${perSecond} requests per second (burst ${burst}) from ${client}; retry after the Retry-After delay`,
        ),
        { 'Retry-After': String(Math.max(1, Math.ceil(waitMs / 1000))) },
      );
      return false;
    },
    stream: (kind, req, res) => {
      const address = addressOf(req);
      const admission = streams.acquire(address);
      if (!admission.admitted) {
        const whose = admission.reason === 'too_many_streams' ? 'this server' : address;
        refuse(
          res,
          address,
          admission.reason,
          new HttpProblem(
            429,
            'Too Many Requests',
            `${whose} already holds ${admission.limit} watch streams and long-polls, the most allowed; close one or retry later`,
          ),
          { 'Retry-After': String(STREAM_RETRY_AFTER_S) },
        );
        return false;
      }
      res.once('close', admission.release);
      // A long-poll is silent until its answer: the idle timeout must not cut it before its wait is over.
      if (kind === 'long-poll' && options.idleTimeoutMs > 0) {
        req.socket.setTimeout(options.idleTimeoutMs + MAX_WAIT_MS);
      }
      return true;
    },
  };

  const authenticate: RequestHandler = (req, res, next) => {
    if (!authenticator.enabled || openPaths.has(req.path)) {
      next();
      return;
    }
    const address = addressOf(req);
    const verified = verifiedCertificate(req.socket);
    const bearer = bearerToken(req.get('Authorization'));
    const decide = (outcome: Authentication): void => {
      if (outcome.ok) {
        clients.set(req, outcome.identity.name);
        next();
        return;
      }
      // Refusals that say when to come back: too many failed attempts, and a token the API server could not be
      // asked about (an outage, not bad credentials).
      const retryable =
        outcome.reason === 'too_many_failures'
          ? new HttpProblem(429, 'Too Many Requests', outcome.detail)
          : outcome.reason === 'token_review_failed'
            ? new HttpProblem(503, 'Service Unavailable', outcome.detail)
            : undefined;
      if (retryable !== undefined) {
        refuse(res, address, outcome.reason, retryable, {
          'Retry-After': String(Math.max(1, Math.ceil((outcome.retryAfterMs ?? 1000) / 1000))),
        });
        return;
      }
      const challenge =
        outcome.reason === 'invalid_token'
          ? 'Bearer realm="endpointd", error="invalid_token"'
          : 'Bearer realm="endpointd"';
      refuse(res, address, outcome.reason, new HttpProblem(401, 'Unauthorized', outcome.detail), {
        'WWW-Authenticate': challenge,
      });
    };
    // Decided at once when no TokenReview is needed: the request goes on in this turn of the event loop.
    const outcome = authenticator.authenticate({ bearer, verifiedCertificate: verified, address });
    if (!(outcome instanceof Promise)) {
      decide(outcome);
      return;
    }
    // A review takes the API server's time, and the client may leave meanwhile. Its response's `close` has then
    // been emitted already: a handler going on would take a stream slot (and open a stream) that no `close` would
    // ever give back. Such a request ends here (request metrics count it as the client's leaving).
    let gone = false;
    const leave = (): void => void (gone = true);
    res.once('close', leave);
    outcome.then(
      (decided) => {
        res.off('close', leave);
        if (!gone) decide(decided);
      },
      (error: unknown) => {
        res.off('close', leave);
        if (!gone) next(error);
      },
    );
  };

  // What `authenticate` and then `limits.request('lookup')` decide, for a request that has not been through
  // express: true when authentication accepts it at once and the rate limit took its token. Anything else takes
  // nothing and counts nothing — the request then goes the routed way, where the same checks run again, count
  // what they refuse and answer it.
  const admitRepeat: RepeatAdmission = (req, path) => {
    const address = addressOf(req);
    let client = address;
    if (authenticator.enabled && !openPaths.has(path)) {
      const identity = authenticator.identify({
        bearer: bearerToken(req.headers.authorization),
        verifiedCertificate: verifiedCertificate(req.socket),
        address,
      });
      if (identity === undefined) return false;
      client = identity.name;
    }
    const limiter = rateLimited('lookup');
    return limiter === undefined || limiter.take(client) === 0;
  };

  return { authenticate, limits, admitRepeat };
}

/** The client certificate, when the TLS layer verified it against the client CA. */
function verifiedCertificate(socket: Socket): PeerCertificate | undefined {
  const tls = socket as Partial<TLSSocket>;
  return tls.authorized === true ? tls.getPeerCertificate?.() : undefined;
}
