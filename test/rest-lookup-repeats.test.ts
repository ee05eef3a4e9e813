// A lookup URL asked again is answered on the fast path (src/api/rest/lookup.ts): without the router and the
// validation, but exactly as the first time — same status, bytes and headers, the current state — and through
// every check: authentication, the rate limit, CORS, the request metrics.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { UNLIMITED } from '../src/config/index.ts';
import { get, metricValue, type HttpAnswer } from './support/http.ts';
import { sliceManifest, startTestEndpointd, TEST_CONFIG, type TestEndpointd } from './support/endpointd.ts';

const WEB = sliceManifest('demo', 'web', ['10.0.0.1', '10.0.0.2'], { terminating: ['10.0.0.9'] });
const LOOKUP = '/v1/namespaces/demo/services/web';
const SERIES = 'endpointd_http_requests_total{route="/v1/namespaces/:namespace/services/:name",method="GET"';

/** What a client can tell of an answer: everything but the Date header. */
function seen(answer: HttpAnswer): unknown {
  const headers = { ...answer.headers };
  delete headers.date;
  return { status: answer.status, headers, text: answer.text };
}

describe('a repeated lookup URL', () => {
  let e: TestEndpointd;
  before(async () => {
    e = await startTestEndpointd({ 'web.yaml': WEB });
  });
  after(() => e.stop());

  it('is answered as the first time, in every view, for unknown services and ports, and with If-None-Match', async () => {
    const first = await get(`${e.url}${LOOKUP}`);
    const etag = String(first.headers.etag);
    const spellings: [string, Record<string, string>][] = [
      [LOOKUP, {}],
      [`${LOOKUP}?port=http`, {}],
      [`${LOOKUP}?port=8080&endpoints=all`, {}],
      [`${LOOKUP}?endpoints=routable&port=metrics`, {}],
      [`${LOOKUP}?port=nosuch`, {}],
      ['/v1/namespaces/demo/services/nope', {}],
      ['/v1/namespaces/d%65mo/services/web', {}],
      [LOOKUP, { 'If-None-Match': etag }],
      [LOOKUP, { 'If-None-Match': `W/"other", ${etag}` }],
      [`${LOOKUP}?port=http`, { 'If-None-Match': '"other"' }],
      [`${LOOKUP}?port=x_y`, {}],
      [`${LOOKUP}?wait=0s`, {}],
    ];
    for (const [path, headers] of spellings) {
      const answers = [];
      for (let i = 0; i < 3; i += 1) answers.push(seen(await get(`${e.url}${path}`, headers)));
      assert.deepEqual(answers[1], answers[0], `${path} ${JSON.stringify(headers)}: second answer`);
      assert.deepEqual(answers[2], answers[0], `${path} ${JSON.stringify(headers)}: third answer`);
    }
  });

  it('follows the store: a change is answered at once, with the new version', async () => {
    const url = `${e.url}${LOOKUP}?port=http`;
    const before = await get(url);
    await get(url);
    await e.write('web.yaml', sliceManifest('demo', 'web', ['10.0.0.1', '10.0.0.3']));
    for (const deadline = Date.now() + 10_000; Date.now() < deadline;) {
      const now = await get(url);
      if (now.headers.etag !== before.headers.etag) {
        const body = now.json<{ targets: { address: string }[] }>();
        assert.deepEqual(
          body.targets.map((t) => t.address),
          ['10.0.0.1', '10.0.0.3'],
        );
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.fail('the repeated URL kept answering the old version');
  });

  it('is counted in the request metrics like any lookup, by code', async () => {
    const url = `${e.url}${LOOKUP}?endpoints=all`;
    const ok = `${SERIES},code="200"}`;
    const notModified = `${SERIES},code="304"}`;
    const first = await get(url);
    const okBefore = (await metricValue(e.url, ok)) ?? 0;
    const notModifiedBefore = (await metricValue(e.url, notModified)) ?? 0;
    for (let i = 0; i < 5; i += 1) assert.equal((await get(url)).status, 200);
    for (let i = 0; i < 3; i += 1) {
      assert.equal((await get(url, { 'If-None-Match': String(first.headers.etag) })).status, 304);
    }
    assert.equal(await metricValue(e.url, ok), okBefore + 5);
    assert.equal(await metricValue(e.url, notModified), notModifiedBefore + 3);
  });
});

describe('a repeated lookup URL passes the checks', () => {
  let dir: string;
  let auth: TestEndpointd;
  let rate: TestEndpointd;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'endpointd-repeats-'));
    const tokensFile = join(dir, 'tokens');
    await writeFile(tokensFile, 'good-token,ci\n');
    auth = await startTestEndpointd(
      { 'web.yaml': WEB },
      {
        cors: { allowOrigins: ['https://dash.example.com'] },
        security: { ...TEST_CONFIG.security, auth: { ...TEST_CONFIG.security.auth, tokensFile } },
      },
    );
    rate = await startTestEndpointd(
      { 'web.yaml': WEB },
      { limits: { ...UNLIMITED, lookupRate: { perSecond: 0.0001, burst: 3 } } },
    );
  });
  after(async () => {
    await auth.stop();
    await rate.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('authentication: the URL a client was answered is refused without a token or with a wrong one', async () => {
    const url = `${auth.url}${LOOKUP}?port=http`;
    const token = { Authorization: 'Bearer good-token' };
    const sample = async (name: string): Promise<number> => {
      const text = (await get(`${auth.url}/metrics`, token)).text;
      const line = text.split('\n').find((l) => l.startsWith(`${name} `));
      return line === undefined ? 0 : Number(line.slice(name.length + 1));
    };
    // Refusals are counted before any route, as when the router runs; answers by the lookup route.
    const refused = (): Promise<number> =>
      sample('endpointd_http_requests_total{route="unmatched",method="GET",code="401"}');
    const answered = (): Promise<number> => sample(`${SERIES},code="200"}`);
    const answeredBefore = await answered();
    for (let i = 0; i < 3; i += 1) assert.equal((await get(url, token)).status, 200);
    assert.equal(await answered(), answeredBefore + 3);
    const refusedBefore = await refused();
    const anonymous = await get(url);
    assert.equal(anonymous.status, 401);
    assert.match(String(anonymous.headers['www-authenticate']), /^Bearer/);
    assert.equal((await get(url, { Authorization: 'Bearer wrong' })).status, 401);
    assert.equal(await refused(), refusedBefore + 2);
    assert.equal((await get(url, token)).status, 200, 'and the right token still passes');
  });

  it('CORS: a browser origin still gets its headers, and a foreign one none', async () => {
    const url = `${auth.url}${LOOKUP}`;
    const token = { Authorization: 'Bearer good-token' };
    await get(url, token);
    await get(url, token);
    const allowed = await get(url, { ...token, Origin: 'https://dash.example.com' });
    assert.equal(allowed.status, 200);
    assert.equal(allowed.headers['access-control-allow-origin'], 'https://dash.example.com');
    const foreign = await get(url, { ...token, Origin: 'https://evil.example' });
    assert.equal(foreign.headers['access-control-allow-origin'], undefined);
  });

  it('the rate limit: past the burst, the repeated URL is refused with 429 and Retry-After', async () => {
    const url = `${rate.url}${LOOKUP}`;
    const statuses = [];
    for (let i = 0; i < 5; i += 1) {
      const answer = await get(url);
      statuses.push(answer.status);
      if (answer.status === 429) assert.ok(Number(answer.headers['retry-after']) >= 1);
    }
    assert.deepEqual(statuses, [200, 200, 200, 429, 429]);
  });
});
