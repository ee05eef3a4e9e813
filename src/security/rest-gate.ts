// The REST door's admission: authentication (401 problem+json with `WWW-Authenticate: Bearer`), then the lookup
// rate limit per client (429 with Retry-After), then the caps on open streams (429). Runs before every route;
// the health and metrics routes stay open when the flags say so.
import type { RequestHandler, Request, Response } from 'express';
import type { PeerCertificate, TLSSocket } from 'node:tls';
import { MAX_WAIT_MS } from '../api/rest/params.ts';
import { HttpProblem, sendProblem } from '../api/rest/problem.ts';
import type { RateLimiter } from '../limits/rate-limiter.ts';
import type { Refusals } from '../limits/refusals.ts';
import type { StreamSlots } from '../limits/stream-slots.ts';
import { bearerToken, type Authenticator } from './authenticator.ts';

export interface RestGateOptions {
  readonly authenticator: Authenticator;
  /** Paths served without authentication (e.g. /healthz, /readyz). */
  readonly openPaths: ReadonlySet<string>;
  /** Per-client rate limit of /v1 requests; undefined: none. */
  readonly rateLimiter: RateLimiter | undefined;
  /** Caps on watch streams and long-polls, the per-client one by remote address. */
  readonly streams: StreamSlots;
  /** Socket idle timeout of the server, in ms: a long-poll gets its longest wait on top. */
  readonly idleTimeoutMs: number;
  readonly refusals: Refusals;
}

const WATCH_PATH = /^\/v1\/(?:watch|namespaces\/[^/]+\/services\/[^/]+\/watch)\/?$/;
/** A `wait` parameter in the query string: the request is a long-poll. */
const LONG_POLL = /[?&]wait(?:[=&]|$)/;
/** Seconds a client refused for a stream cap is told to wait: streams end rarely, so not at once. */
const STREAM_RETRY_AFTER_S = 5;

export function restGate(options: RestGateOptions): RequestHandler {
  const { authenticator, openPaths, rateLimiter, streams, refusals } = options;
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

  const admit = (req: Request, res: Response, client: string, address: string): boolean => {
    if (!req.path.startsWith('/v1/')) return true;
    if (rateLimiter !== undefined) {
      const waitMs = rateLimiter.take(client);
      if (waitMs > 0) {
        const { perSecond, burst } = rateLimiter.limit;
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
      }
    }
    // Not req.query: express parses the query string again on every read of it, and the route reads it anyway.
    const longPoll = LONG_POLL.test(req.url);
    if (!longPoll && !WATCH_PATH.test(req.path)) return true;
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
    if (longPoll && options.idleTimeoutMs > 0) req.socket.setTimeout(options.idleTimeoutMs + MAX_WAIT_MS);
    return true;
  };

  return (req, res, next) => {
    const address = req.socket.remoteAddress ?? 'unknown';
    if (!authenticator.enabled || openPaths.has(req.path)) {
      if (admit(req, res, address, address)) next();
      return;
    }
    const socket = req.socket as Partial<TLSSocket>;
    const verified: PeerCertificate | undefined =
      socket.authorized === true ? socket.getPeerCertificate?.() : undefined;
    const bearer = bearerToken(req.get('Authorization'));
    authenticator.authenticate({ bearer, verifiedCertificate: verified }).then((outcome) => {
      if (outcome.ok) {
        if (admit(req, res, outcome.identity.name, address)) next();
        return;
      }
      const challenge =
        outcome.reason === 'invalid_token'
          ? 'Bearer realm="endpointd", error="invalid_token"'
          : 'Bearer realm="endpointd"';
      refuse(res, address, outcome.reason, new HttpProblem(401, 'Unauthorized', outcome.detail), {
        'WWW-Authenticate': challenge,
      });
    }, next);
  };
}
