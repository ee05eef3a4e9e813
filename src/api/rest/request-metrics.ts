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
 * Counts `req` once its answer is written. `route`: the pattern that took it, when the caller knows it (asked
 * then); else the one the router matched, or `unmatched`.
 */
export function observeWhenFinished(
  metrics: Metrics,
  req: Request,
  res: Response,
  started: number,
  route?: () => string | undefined,
): void {
  res.on('finish', () => {
    // The route pattern, not the URL: one series per route however many services are asked for.
    const pattern = route?.() ?? (req.route as { path?: string } | undefined)?.path ?? 'unmatched';
    const stream = STREAM_TYPE.test(String(res.getHeader('Content-Type') ?? ''));
    metrics.observeHttp(
      pattern,
      req.method,
      res.statusCode,
      stream ? undefined : (performance.now() - started) / 1000,
    );
    if (res.statusCode === 400) metrics.rejected.inc({ door: 'rest', reason: 'bad_request' });
    if (res.statusCode === 503 && pattern === 'unmatched')
      metrics.rejected.inc({ door: 'rest', reason: 'not_ready' });
  });
}
