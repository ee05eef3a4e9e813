// Fuzzing the REST door: 10,000 requests with malformed paths, queries, methods and headers (seeded, bounded),
// sent over keep-alive connections to a running endpointd. None may get a 5xx, every 4xx must be a problem+json
// body, the process must keep serving, and its memory must not grow. Then malformed HTTP itself on raw sockets.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { Pool } from 'undici';
import { sliceManifest, startTestEndpointd, type TestEndpointd } from './support/endpointd.ts';
import { hostileText, settledRetainedMiB } from './support/fault-fuzz.ts';
import { get } from './support/http.ts';

const BATCH = 50;
const RUNS = 200; // × BATCH = 10,000 requests

/** Percent-encodes what may not appear raw in a request target; leaves `%` raw so broken escapes go through. */
function wire(text: string): string {
  let out = '';
  for (const char of text) {
    const code = char.codePointAt(0) ?? 0;
    if (code > 0x20 && code < 0x7f && char !== '#') out += char;
    else out += encodeURIComponent(char.replace(/[\ud800-\udfff]/g, '\ufffd'));
  }
  return out;
}

const segment = fc.oneof(
  { weight: 3, arbitrary: hostileText.map(wire) },
  { weight: 1, arbitrary: hostileText.map((t) => encodeURIComponent(t.replace(/[\ud800-\udfff]/g, ''))) },
);

const path = fc.oneof(
  fc.tuple(segment, segment).map(([ns, name]) => `/v1/namespaces/${ns}/services/${name}`),
  fc.tuple(segment, segment).map(([ns, name]) => `/v1/namespaces/${ns}/services/${name}/watch`),
  fc.constantFrom(
    '/v1/services',
    '/v1/watch',
    '/healthz',
    '/readyz',
    '/metrics',
    '/v1/xds/bootstrap',
    '/',
    '//',
    '/v1',
    '/v1/',
    '/v1/namespaces',
    '/v1/namespaces/shop/services/web/',
    '/v1/namespaces//services/web',
    '/v1/namespaces/shop/services/web/watch/extra',
    '/v1/namespaces/shop/../shop/services/web',
    '/%2e%2e/%2e%2e/etc/passwd',
    '/v1/namespaces/shop/services/web;x=1',
  ),
  fc.array(segment, { maxLength: 8 }).map((parts) => `/${parts.join('/')}`),
);

const queryKey = fc.oneof(
  fc.constantFrom('namespace', 'endpoints', 'port', 'wait', 'version', 'node', 'a[b]', '', '__proto__'),
  hostileText.map(wire),
);
const query = fc.oneof(
  fc.constant(''),
  fc.constantFrom('?', '?&&&', '?=x', '?endpoints', '?endpoints=all&endpoints=all', '?port='),
  fc
    .array(fc.tuple(queryKey, fc.option(hostileText.map(wire), { nil: undefined })), {
      minLength: 1,
      maxLength: 5,
    })
    .map((pairs) => `?${pairs.map(([k, v]) => (v === undefined ? k : `${k}=${v}`)).join('&')}`),
);

const headerValue = fc
  .oneof(
    hostileText,
    fc.constantFrom('text/event-stream', 'application/x-ndjson', '*/*', '"abc"', '*', 'W/"x", "y"'),
  )
  .map((t) => t.replace(/[^\x20-\x7e]/g, '').trim());
const headers = fc.dictionary(
  fc.oneof(
    fc.constantFrom(
      'accept',
      'if-none-match',
      'last-event-id',
      'accept-encoding',
      'content-type',
      'x-forwarded-for',
      'range',
      'expect-not',
      'authorization',
    ),
    fc.stringMatching(/^x-[a-z0-9-]{1,20}$/),
  ),
  headerValue,
  { maxKeys: 5 },
);

const method = fc.oneof(
  { weight: 6, arbitrary: fc.constant('GET') },
  { weight: 1, arbitrary: fc.constantFrom('HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'TRACE') },
);

const request = fc.record({
  method,
  path,
  query,
  headers,
  body: fc.option(fc.string({ maxLength: 200 }), { nil: undefined }),
});
type FuzzRequest = typeof request extends fc.Arbitrary<infer T> ? T : never;

interface Outcome {
  readonly status: number | undefined;
  readonly problem: string | undefined;
  readonly note?: string;
}

async function send(pool: Pool, r: FuzzRequest): Promise<Outcome> {
  const withBody = r.body !== undefined && r.method !== 'GET' && r.method !== 'HEAD';
  let answer;
  try {
    answer = await pool.request({
      method: r.method,
      path: r.path + r.query,
      headers: r.headers,
      body: withBody ? r.body : null,
      signal: AbortSignal.timeout(3000),
    });
  } catch (error) {
    const e = error as Error & { code?: string };
    // A long-poll that was valid by chance waits as asked: that is not a failure.
    if (e.name === 'TimeoutError' || e.name === 'AbortError') {
      return { status: undefined, problem: /[?&]wait=/.test(r.query) ? undefined : 'no answer in 3 s' };
    }
    return { status: undefined, problem: `request failed: ${e.code ?? ''} ${e.message}` };
  }
  const type = String(answer.headers['content-type'] ?? '');
  if (answer.statusCode === 200 && /event-stream|ndjson/.test(type)) {
    // A valid watch stream: it opened, that is all this test needs.
    answer.body.on('error', () => {});
    try {
      answer.body.destroy();
    } catch {
      // undici reports its own abort of the body; nothing to do
    }
    return { status: 200, problem: undefined, note: 'stream' };
  }
  const text = await answer.body.text();
  const status = answer.statusCode;
  if (status >= 500) return { status, problem: `HTTP ${status}: ${text.slice(0, 200)}` };
  if (status >= 400 && r.method !== 'HEAD') {
    if (!type.startsWith('application/problem+json'))
      return { status, problem: `HTTP ${status} with Content-Type ${type}` };
    try {
      const body = JSON.parse(text) as { status?: unknown; title?: unknown; detail?: unknown };
      if (body.status !== status || typeof body.title !== 'string' || typeof body.detail !== 'string')
        return { status, problem: `HTTP ${status}: not a problem body: ${text.slice(0, 200)}` };
    } catch {
      return { status, problem: `HTTP ${status}: body is not JSON: ${text.slice(0, 200)}` };
    }
  }
  return { status, problem: undefined };
}

describe('REST fuzzing', () => {
  let t: TestEndpointd;
  let pool: Pool;

  before(async () => {
    t = await startTestEndpointd({
      'web.yaml': sliceManifest('shop', 'web', ['10.0.0.1', '10.0.0.2']),
      'api.yaml': sliceManifest('demo', 'api', ['10.0.1.1']),
    });
    pool = new Pool(t.url, { connections: 16, pipelining: 1, keepAliveTimeout: 30_000 });
  });
  after(async () => {
    await pool.close();
    await t.stop();
  });

  it('answers 10,000 malformed requests without a 5xx, with problem+json for every 4xx, and steady memory', async () => {
    const statuses = new Map<number | string, number>();
    const problems: string[] = [];
    let sent = 0;
    // Warm up (JIT, caches, connections) before taking the memory baseline.
    fc.sample(request, { seed: 7, numRuns: 500 });
    await Promise.all(fc.sample(request, { seed: 7, numRuns: 300 }).map((r) => send(pool, r)));
    const before = await settledRetainedMiB();

    await fc
      .assert(
        fc.asyncProperty(fc.array(request, { minLength: BATCH, maxLength: BATCH }), async (batch) => {
          const outcomes = await Promise.all(batch.map((r) => send(pool, r)));
          sent += batch.length;
          outcomes.forEach((o, i) => {
            const key = o.note ?? o.status ?? 'none';
            statuses.set(key, (statuses.get(key) ?? 0) + 1);
            if (o.problem !== undefined && problems.length < 10)
              problems.push(`${o.problem}  ← ${JSON.stringify(batch[i])}`.slice(0, 600));
          });
          return outcomes.every((o) => o.problem === undefined);
        }),
        { seed: 42, numRuns: RUNS, endOnFailure: true },
      )
      .catch((error: unknown) => {
        throw new Error(`${problems.join('\n')}\n${String(error)}`);
      });

    const afterMiB = await settledRetainedMiB();
    console.log(
      `REST fuzz: ${sent} requests; answers ${JSON.stringify(Object.fromEntries(statuses))}; ` +
        `retained ${before.toFixed(1)} → ${afterMiB.toFixed(1)} MiB`,
    );
    assert.ok(sent >= 10_000, `sent ${sent}`);
    assert.ok(afterMiB - before < 16, `retained memory grew by ${(afterMiB - before).toFixed(1)} MiB`);
    assert.equal((await get(`${t.url}/v1/namespaces/shop/services/web`)).status, 200, 'still serving');
  });

  it('answers malformed HTTP on raw sockets with a 4xx or a close, never a 5xx, and keeps serving', async () => {
    const garbage = fc.sample(
      fc.oneof(
        fc.uint8Array({ minLength: 1, maxLength: 300 }).map((b) => Buffer.from(b)),
        fc
          .tuple(
            fc.constantFrom('GET', 'G\u0000T', 'GET ', '', 'BREW', 'GET\t'),
            fc.string({ unit: 'binary', maxLength: 50 }),
            fc.constantFrom('HTTP/1.1', 'HTTP/9.9', 'HTTP/1.1\r\nHost', '', 'HTTP/1.1\r\nContent-Length: -1'),
          )
          .map(([m, target, version]) => Buffer.from(`${m} /${target} ${version}\r\n\r\n`, 'latin1')),
        fc
          .string({ minLength: 20_000, maxLength: 40_000 })
          .map((h) => Buffer.from(`GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${h}\r\n\r\n`)),
      ),
      { seed: 42, numRuns: 300 },
    );
    const answers = new Map<string, number>();
    for (let i = 0; i < garbage.length; i += 30) {
      await Promise.all(
        garbage.slice(i, i + 30).map(async (bytes) => {
          const socket = connect(t.endpointd.httpAddress.port, '127.0.0.1');
          await once(socket, 'connect');
          let text = '';
          socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
          socket.on('error', () => {});
          socket.end(bytes);
          await Promise.race([once(socket, 'close'), new Promise((r) => setTimeout(r, 2000))]);
          socket.destroy();
          const status = /^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? (text === '' ? 'closed' : 'other');
          answers.set(status, (answers.get(status) ?? 0) + 1);
        }),
      );
    }
    console.log(
      `raw HTTP garbage: ${garbage.length} connections; answers ${JSON.stringify(Object.fromEntries(answers))}`,
    );
    for (const status of answers.keys()) {
      assert.ok(status === 'closed' || /^[1234]\d\d$/.test(status), `answered ${status}`);
    }
    assert.equal((await get(`${t.url}/v1/namespaces/shop/services/web`)).status, 200, 'still serving');
  });
});
