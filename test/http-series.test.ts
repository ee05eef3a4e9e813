// The REST door's request metrics are plain numbers written out at scrape time (src/observability/http-series.ts):
// whatever the requests, /metrics must say exactly what prom-client's own Counter and Histogram say when fed the
// same requests through their labelled API.
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { Counter, Histogram, Registry } from 'prom-client';
import { HttpSeries } from '../src/observability/http-series.ts';

const BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5, 30, 300];
const NAMES = {
  requestsName: 'endpointd_http_requests_total',
  requestsHelp: 'REST requests by route pattern, method and status code.',
  durationName: 'endpointd_http_request_duration_seconds',
  durationHelp:
    'REST request latency until the answer is complete (streams excluded), by route pattern and method.',
};

interface Request {
  readonly route: string;
  readonly method: string;
  readonly code: number;
  readonly seconds: number | undefined;
}

const request = fc.record({
  route: fc.constantFrom('/v1/services', '/v1/namespaces/:namespace/services/:name', 'unmatched'),
  method: fc.constantFrom('GET', 'HEAD', 'POST'),
  code: fc.constantFrom(200, 304, 400, 401, 404, 503),
  // Bucket bounds themselves, values between them, beyond the last one, and streams (no duration).
  seconds: fc.option(
    fc.oneof(fc.constantFrom(...BUCKETS, 0, 1e4), fc.double({ min: 0, max: 400, noNaN: true })),
    {
      nil: undefined,
    },
  ),
});

async function plainText(requests: readonly Request[], scrapeBetween: boolean): Promise<string> {
  const registry = new Registry();
  const series = new HttpSeries({ registry, buckets: BUCKETS, ...NAMES });
  for (const [i, r] of requests.entries()) {
    series.recorder(r.route, r.method)(r.code, r.seconds);
    // A scrape must not change what the next one says (it reads, it does not drain).
    if (scrapeBetween && i % 3 === 0) await registry.metrics();
  }
  return registry.metrics();
}

async function promClientText(requests: readonly Request[]): Promise<string> {
  const registry = new Registry();
  const counter = new Counter({
    name: NAMES.requestsName,
    help: NAMES.requestsHelp,
    labelNames: ['route', 'method', 'code'],
    registers: [registry],
  });
  const histogram = new Histogram({
    name: NAMES.durationName,
    help: NAMES.durationHelp,
    labelNames: ['route', 'method'],
    buckets: BUCKETS,
    registers: [registry],
  });
  for (const r of requests) {
    counter.labels({ route: r.route, method: r.method, code: String(r.code) }).inc();
    if (r.seconds !== undefined) histogram.labels({ route: r.route, method: r.method }).observe(r.seconds);
  }
  return registry.metrics();
}

/** Series in the order they were first seen may differ from prom-client's hash order: compare line sets per metric. */
function lines(text: string): string[] {
  return text.split('\n').sort();
}

describe('REST request metrics as plain numbers', () => {
  it('write the same exposition as prom-client fed the same requests, scraped any number of times', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(request, { maxLength: 60 }),
        fc.boolean(),
        async (requests, scrapeBetween) => {
          assert.deepEqual(
            lines(await plainText(requests, scrapeBetween)),
            lines(await promClientText(requests)),
          );
        },
      ),
      { numRuns: 200 },
    );
  });

  it('hands out one recorder per (route, method)', () => {
    const series = new HttpSeries({ registry: new Registry(), buckets: BUCKETS, ...NAMES });
    assert.equal(series.recorder('/a', 'GET'), series.recorder('/a', 'GET'));
    assert.notEqual(series.recorder('/a', 'GET'), series.recorder('/a', 'HEAD'));
  });
});
