// The health and metrics handlers, shared by the REST port and the plain health port (--health-port), and the
// health port's own small app: probes and scrapers reach the same answers on either.
import express, { type RequestHandler } from 'express';
import type { Metrics } from '../../observability/metrics.ts';
import type { Readiness } from '../../observability/readiness.ts';
import { clip } from '../../limits/bounded-text.ts';
import { HttpProblem, sendProblem } from './problem.ts';

/** GET /healthz: the process is alive and serving HTTP. */
export const healthzHandler: RequestHandler = (_req, res) => {
  res.type('text/plain').send('ok\n');
};

/** GET /readyz: 200 once the sources synced (and until shutdown begins), else 503; the body says why. */
export function readyzHandler(readiness: Readiness): RequestHandler {
  return (_req, res) => {
    const detail = readiness.detail();
    res.status(detail.ready ? 200 : 503).json(detail);
  };
}

/** GET /metrics in the Prometheus text format. */
export function metricsHandler(metrics: Metrics): RequestHandler {
  return (_req, res, next) => {
    metrics.registry.metrics().then((text) => {
      res.type(metrics.registry.contentType).send(text);
    }, next);
  };
}

export interface HealthAppOptions {
  readonly readiness: Readiness;
  /** When given, /metrics is served too. */
  readonly metrics?: Metrics;
}

/**
 * The app of the plain health port: /healthz, /readyz and (when asked) /metrics, nothing else — no service data,
 * so it needs neither TLS nor authentication and kubelet can probe it whatever the client authentication.
 */
export function createHealthApp(options: HealthAppOptions): express.Express {
  const app = express();
  app.set('case sensitive routing', true);
  app.set('strict routing', true);
  app.disable('x-powered-by');
  app.get('/healthz', healthzHandler);
  app.get('/readyz', readyzHandler(options.readiness));
  if (options.metrics !== undefined) app.get('/metrics', metricsHandler(options.metrics));
  app.use((req, res) => {
    const served = options.metrics === undefined ? '/healthz and /readyz' : '/healthz, /readyz and /metrics';
    sendProblem(
      res,
      new HttpProblem(
        404,
        'Not Found',
        `no route for ${clip(req.method)} ${clip(req.path)}; this port serves ${served}`,
      ),
    );
  });
  return app;
}
