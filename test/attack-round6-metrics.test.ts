// Attack on the REST door's accounting (round 6): every request that reaches endpointd is counted once in
// endpointd_http_requests_total, under the status code it got, whatever its method, path or query — the odd ones
// included (unknown routes, bad escapes, other methods, HEAD, 405s, 400s) — and every error answer is
// problem+json. Real endpointd on loopback, real HTTP; the count compared with the client's own tally by code.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Pool } from 'undici';
import { sliceManifest, startTestEndpointd, type TestEndpointd } from './support/endpointd.ts';

const PATHS = [
  '/v1/namespaces/shop/services/web',
  '/v1/namespaces/shop/services/nope',
  '/v1/namespaces/%ZZ/services/web',
  '/v1/namespaces/shop/services/%E0%A4%A',
  '/v1/namespaces/shop/services/web/extra',
  '/v1/namespaces//services/web',
  '/v1/services',
  '/v1/services/',
  '/v1',
  '/',
  '//',
  '/nope',
  '/%2e%2e/%2e%2e/etc/passwd',
  '/v1/namespaces/shop/services/web;x=1',
  '/healthz',
  '/readyz',
  '/v1/xds/bootstrap',
];
const QUERIES = [
  '',
  '?',
  '?endpoints=all',
  '?endpoints=bogus',
  '?port=',
  '?port=99999',
  '?cluster=none',
  '?a=%',
  '?__proto__=1',
  '?endpoints=all&endpoints=ready',
];
const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH'];

/** The sum of endpointd_http_requests_total by status code, from one scrape; `withoutScrapes`: /metrics left out. */
function countsByCode(text: string, withoutScrapes = false): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const match = /^endpointd_http_requests_total\{([^}]*)\} (\S+)$/.exec(line);
    if (match === null) continue;
    if (withoutScrapes && /(?:^|,)route="\/metrics"/.test(match[1] ?? '')) continue;
    const code = /(?:^|,)code="([^"]*)"/.exec(match[1] ?? '')?.[1] ?? '?';
    out.set(code, (out.get(code) ?? 0) + Number(match[2]));
  }
  return out;
}

describe('every REST request is counted once, by the code it got', () => {
  let t: TestEndpointd;
  let pool: Pool;
  before(async () => {
    t = await startTestEndpointd({ 'web.yaml': sliceManifest('shop', 'web', ['10.0.0.1']) });
    pool = new Pool(t.url, { connections: 4 });
  });
  after(async () => {
    await pool.close();
    await t.stop();
  });

  const scrape = async (withoutScrapes = false): Promise<Map<string, number>> => {
    const answer = await pool.request({ method: 'GET', path: '/metrics' });
    assert.equal(answer.statusCode, 200);
    return countsByCode(await answer.body.text(), withoutScrapes);
  };

  it('odd methods, paths and queries: the counter moves by exactly what was answered', async () => {
    const before = await scrape();
    const tally = new Map<string, number>();
    const problems: string[] = [];
    const requests = PATHS.flatMap((path) =>
      QUERIES.flatMap((query) => METHODS.map((method) => ({ method, path: path + query }))),
    );
    for (let i = 0; i < requests.length; i += 20) {
      await Promise.all(
        requests.slice(i, i + 20).map(async ({ method, path }) => {
          const answer = await pool.request({
            method,
            path,
            body: method === 'POST' || method === 'PUT' ? '{}' : null,
          });
          const body = await answer.body.text();
          const code = String(answer.statusCode);
          tally.set(code, (tally.get(code) ?? 0) + 1);
          if (answer.statusCode >= 500) problems.push(`${method} ${path}: ${code} ${body.slice(0, 200)}`);
          const type = String(answer.headers['content-type'] ?? '');
          if (answer.statusCode >= 400 && method !== 'HEAD' && !type.startsWith('application/problem+json'))
            problems.push(
              `${method} ${path}: ${code} as ${type || 'no content type'}: ${body.slice(0, 120)}`,
            );
        }),
      );
    }
    assert.deepEqual(problems, []);
    // The first scrape is counted once it is answered: it shows in the second one, as 200.
    tally.set('200', (tally.get('200') ?? 0) + 1);
    const afterwards = await scrape();
    const moved = new Map<string, number>();
    for (const [code, count] of afterwards) {
      const delta = count - (before.get(code) ?? 0);
      if (delta !== 0) moved.set(code, delta);
    }
    assert.deepEqual(
      Object.fromEntries([...moved].sort()),
      Object.fromEntries([...tally].sort()),
      `${requests.length + 1} requests sent`,
    );
  });
  for (const kind of ['long-poll', 'watch stream'] as const) {
    it(`a ${kind} the client gives up on is counted, once`, async () => {
      const lookup = await pool.request({ method: 'GET', path: '/v1/namespaces/shop/services/web' });
      const { version } = (await lookup.body.json()) as { version: string };
      const before = await scrape(true);
      const total = (counts: Map<string, number>): number => [...counts.values()].reduce((a, b) => a + b, 0);
      const giveUp = new AbortController();
      const path =
        kind === 'long-poll'
          ? `/v1/namespaces/shop/services/web?wait=30s&version=${version}`
          : '/v1/namespaces/shop/services/web/watch';
      const answer = pool.request({
        method: 'GET',
        path,
        signal: giveUp.signal,
        headers: { accept: 'text/event-stream' },
      });
      if (kind === 'watch stream') {
        // The stream's first event arrived: it is open, the handler has it.
        const opened = await answer;
        assert.equal(opened.statusCode, 200);
        opened.body.on('error', () => {});
        await new Promise<void>((resolve) => opened.body.once('data', () => resolve()));
      } else {
        // Marker that the long-poll is waiting in the handler: the door's subscriber gauge counts it.
        const deadline = Date.now() + 5000;
        for (;;) {
          const text = await (await pool.request({ method: 'GET', path: '/metrics' })).body.text();
          if (/^endpointd_subscribers\{door="rest"\} [1-9]/m.test(text)) break;
          assert.ok(Date.now() < deadline, 'the long-poll waits');
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      }
      giveUp.abort();
      await answer.then(
        (a) => a.body.text().catch(() => ''),
        () => undefined,
      );
      // The server learns of the client's leaving as its connection closes: a bounded wait for the count.
      const deadline = Date.now() + 3000;
      let afterwards = await scrape(true);
      while (total(afterwards) === total(before) && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        afterwards = await scrape(true);
      }
      assert.equal(total(afterwards) - total(before), 1, JSON.stringify(Object.fromEntries(afterwards)));
    });
  }
});
