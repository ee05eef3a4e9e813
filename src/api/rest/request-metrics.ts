// What the REST door counts of each request: one series per (route pattern, method, code) however many Services
// are asked for, its latency unless it was a stream, and the refusals made before any route (400, 503).
import type { Request, RequestHandler, Response } from 'express';
import type { Metrics } from '../../observability/metrics.ts';

/** Streams are counted, but their duration is not a latency. */
const STREAM_TYPE = /event-stream|ndjson/;

/** Counts every request when its answer is written: mounted before every route. */
export function requestMetrics(metrics: Metrics): RequestHandler {
  return (req, res, next) => {
    observeWhenFinished(metrics, req, res, performance.now());
    next();
  };
}

/**
 * A request whose client left before any answer was written (an abandoned long-poll): nginx's code for it, so that
 * it is counted apart from the answers that were given.
 */
export const CLIENT_CLOSED_REQUEST = 499;

/**
 * Counts `req` once, when its answer is written or when its connection closes first (a client that gave up on a
 * long-poll, or closed its watch stream): under the answer's code, or CLIENT_CLOSED_REQUEST when none was begun.
 * `route`: the pattern that took it, when the caller knows it (asked then); else the one the router matched, or
 * `unmatched`.
 */
export function observeWhenFinished(
  metrics: Metrics,
  req: Request,
  res: Response,
  started: number,
  route?: () => string | undefined,
): void {
  let counted = false;
  const count = (): void => {
    if (counted) return;
    counted = true;
    // The route pattern, not the URL: one series per route however many services are asked for.
    const pattern = route?.() ?? (req.route as { path?: string } | undefined)?.path ?? 'unmatched';
    const code = res.headersSent ? res.statusCode : CLIENT_CLOSED_REQUEST;
    const stream = STREAM_TYPE.test(String(res.getHeader('Content-Type') ?? ''));
    // A request given up on has no latency either: what it measured is how long its client waited.
    const latency =
      stream || code === CLIENT_CLOSED_REQUEST ? undefined : (performance.now() - started) / 1000;
    metrics.observeHttp(pattern, req.method, code, latency);
    if (code === 400) metrics.rejected.inc({ door: 'rest', reason: 'bad_request' });
    if (code === 503 && pattern === 'unmatched') metrics.rejected.inc({ door: 'rest', reason: 'not_ready' });
  };
  res.once('finish', count);
  res.once('close', count);
}
