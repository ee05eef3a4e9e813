// Limits against hostile and broken clients, through the real servers: slow-loris headers, oversized heads,
// stream caps per client and in total on both doors, the lookup rate limit; each refusal clear and counted, and
// well-behaved clients (heartbeating streams, long-polls, lookups) unaffected.
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { status } from '@grpc/grpc-js';
import type { ProblemBody } from '../src/api/rest/wire.ts';
import type { LimitsConfig } from '../src/security/guards.ts';
import { fetchWith, GrpcCaller } from './support/auth-clients.ts';
import { eventually } from './support/http.ts';

/** Waits until `check` holds (3 s at most). */
const waitFor = (check: () => boolean | Promise<boolean>): Promise<true> =>
  eventually(async () => ((await check()) ? true : undefined), 3000);
import { sliceManifest, startTestEndpointd, TEST_CONFIG, type TestEndpointd } from './support/endpointd.ts';

const WEB = sliceManifest('demo', 'web', ['10.0.0.1']);

function withLimits(limits: Partial<LimitsConfig>): Partial<typeof TEST_CONFIG> {
  return { limits: { ...TEST_CONFIG.limits, ...limits } };
}

/** Sends `text` to the REST port one byte every `everyMs`; resolves with what came back once the server closed. */
function trickle(port: number, text: string, everyMs: number): Promise<{ answer: string; afterMs: number }> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let answer = '';
    let i = 0;
    const timer = setInterval(() => {
      if (i < text.length && socket.writable) socket.write(text[i++] ?? '');
    }, everyMs);
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (answer += chunk));
    socket.on('close', () => {
      clearInterval(timer);
      resolve({ answer, afterMs: Date.now() - started });
    });
    socket.on('error', (error) => {
      clearInterval(timer);
      reject(error);
    });
    setTimeout(() => socket.destroy(), 5000).unref();
  });
}

interface OpenStream {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: () => string;
  close(): void;
}

/** Opens a REST stream (or long-poll) from `localAddress`, resolving once its head has arrived. */
function openStream(url: string, localAddress = '127.0.0.1'): Promise<OpenStream> {
  return new Promise((resolve, reject) => {
    const req = request(url, { localAddress, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('error', () => {});
      resolve({
        status: res.statusCode ?? 0,
        headers: res.headers,
        body: () => body,
        close: () => req.destroy(),
      });
    });
    req.on('error', reject);
    req.end();
  });
}

async function rejectedCount(url: string, door: string, reason: string): Promise<number> {
  const text = (await fetchWith(`${url}/metrics`)).text;
  const match = new RegExp(
    `endpointd_rejected_requests_total\\{door="${door}",reason="${reason}"\\} (\\d+)`,
  ).exec(text);
  return Number(match?.[1] ?? 0);
}

describe('REST request heads and idle connections', () => {
  let e: TestEndpointd;
  before(async () => {
    e = await startTestEndpointd(
      { 'web.yaml': WEB },
      {
        heartbeatIntervalMs: 150,
        ...withLimits({
          http: {
            maxHeaderBytes: 2048,
            headersTimeoutMs: 400,
            requestTimeoutMs: 1000,
            keepAliveTimeoutMs: 5000,
            idleTimeoutMs: 500,
          },
        }),
      },
    );
  });
  after(() => e.stop());

  it('cuts a client that sends its headers byte by byte after the headers timeout, with 408, while others are served', async () => {
    const slow = trickle(
      e.endpointd.httpAddress.port,
      'GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ' + 'a'.repeat(200),
      20,
    );
    assert.equal((await fetchWith(`${e.url}/v1/namespaces/demo/services/web`)).status, 200);
    const { answer, afterMs } = await slow;
    assert.match(answer, /^HTTP\/1\.1 408 Request Timeout/);
    assert.match(answer, /application\/problem\+json/);
    assert.ok(afterMs >= 350 && afterMs < 2000, `cut after ${afterMs} ms`);
    assert.ok((await rejectedCount(e.url, 'rest', 'request_timeout')) >= 1);
  });

  it('answers 431 problem+json to a request head larger than the limit', async () => {
    const big = await new Promise<string>((resolve, reject) => {
      const socket = connect(e.endpointd.httpAddress.port, '127.0.0.1', () => {
        socket.write(`GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'b'.repeat(4096)}\r\n\r\n`);
      });
      let text = '';
      socket.setEncoding('utf8');
      socket.on('data', (chunk: string) => (text += chunk));
      socket.on('close', () => resolve(text));
      socket.on('error', reject);
    });
    assert.match(big, /^HTTP\/1\.1 431 Request Header Fields Too Large/);
    assert.match(big, /exceeds 2048 bytes/);
    assert.ok((await rejectedCount(e.url, 'rest', 'header_too_large')) >= 1);
  });

  it('keeps heartbeating watch streams and long-polls longer than the idle timeout open', async () => {
    const stream = await openStream(`${e.url}/v1/watch`);
    const poll = openStream(
      `${e.url}/v1/namespaces/demo/services/web?wait=1200ms&version=${await version(e)}`,
    );
    await new Promise((resolve) => setTimeout(resolve, 1300));
    const answered = await poll;
    assert.equal(answered.status, 200, 'the long-poll ran its wait out and was answered');
    await e.write('api.yaml', sliceManifest('demo', 'api', ['10.0.0.2']));
    await waitFor(() => stream.body().includes('"api"'));
    stream.close();
    answered.close();
  });
});

describe('REST stream caps', () => {
  let e: TestEndpointd;
  before(async () => {
    e = await startTestEndpointd(
      { 'web.yaml': WEB },
      withLimits({ restStreams: { total: 3, perClient: 2 } }),
    );
  });
  after(() => e.stop());

  it('refuses a client its third stream and anyone the fourth with 429 and Retry-After; lookups go on', async () => {
    const watch = `${e.url}/v1/watch`;
    const a1 = await openStream(watch);
    const a2 = await openStream(`${e.url}/v1/namespaces/demo/services/web/watch`);
    const a3 = await openStream(watch);
    assert.deepEqual([a1.status, a2.status, a3.status], [200, 200, 429]);
    assert.equal(a3.headers['retry-after'], '5');
    await waitFor(() => a3.body().length > 0);
    const problem = JSON.parse(a3.body()) as ProblemBody;
    assert.equal(problem.status, 429);
    assert.match(problem.detail, /127\.0\.0\.1 already holds 2 watch streams/);
    const longPoll = await openStream(
      `${e.url}/v1/namespaces/demo/services/web?wait=10s&version=${await version(e)}`,
    );
    assert.equal(longPoll.status, 429, 'a long-poll counts as a stream');

    const b1 = await openStream(watch, '127.0.0.2');
    assert.equal(b1.status, 200);
    const c1 = await openStream(watch, '127.0.0.3');
    assert.equal(c1.status, 429);
    await waitFor(() => c1.body().length > 0);
    assert.match((JSON.parse(c1.body()) as ProblemBody).detail, /this server already holds 3/);
    assert.equal((await fetchWith(`${e.url}/v1/namespaces/demo/services/web`)).status, 200);

    a1.close();
    await waitFor(async () => {
      const again = await openStream(watch, '127.0.0.3');
      again.close();
      return again.status === 200;
    });
    assert.equal(await rejectedCount(e.url, 'rest', 'too_many_client_streams'), 2);
    assert.ok((await rejectedCount(e.url, 'rest', 'too_many_streams')) >= 1);
    for (const s of [a2, a3, longPoll, b1, c1]) s.close();
  });
});

describe('gRPC stream caps', () => {
  let e: TestEndpointd;
  before(async () => {
    e = await startTestEndpointd(
      { 'web.yaml': WEB },
      withLimits({ grpcStreams: { total: 10, perClient: 2 } }),
    );
  });
  after(() => e.stop());

  it('refuses a client streams beyond its cap with RESOURCE_EXHAUSTED, Watch and ADS alike; unary calls go on', async () => {
    const caller = new GrpcCaller(e.endpointd.grpcPort);
    try {
      const w1 = caller.watch();
      const w2 = caller.watch();
      await Promise.all([w1.first, w2.first]);
      const w3 = caller.watch();
      await assert.rejects(w3.first, (error: { code: number; details: string }) => {
        assert.equal(error.code, status.RESOURCE_EXHAUSTED);
        assert.match(error.details, /already holds 2 streams/);
        return true;
      });
      const ads = await caller.adsStatus();
      assert.equal(ads !== 'open' && ads.code, status.RESOURCE_EXHAUSTED);
      assert.equal((await caller.resolve('demo', 'web')).service.name, 'web');
      w1.cancel();
      await w1.ended;
      await waitFor(async () => {
        const again = caller.watch();
        const ok = await again.first.then(
          () => true,
          () => false,
        );
        again.cancel();
        return ok;
      });
      w2.cancel();
      assert.ok((await rejectedCount(e.url, 'grpc', 'too_many_client_streams')) >= 2);
    } finally {
      caller.close();
    }
  });
});

describe('lookup rate limit', () => {
  let e: TestEndpointd;
  before(async () => {
    e = await startTestEndpointd({ 'web.yaml': WEB }, withLimits({ lookupRate: { perSecond: 2, burst: 3 } }));
  });
  after(() => e.stop());

  it('answers 429 with Retry-After past the burst, RESOURCE_EXHAUSTED on gRPC for the same client, health unaffected', async () => {
    const lookup = `${e.url}/v1/namespaces/demo/services/web`;
    const answers = [];
    for (let i = 0; i < 4; i++) answers.push(await fetchWith(lookup));
    assert.deepEqual(
      answers.map((a) => a.status),
      [200, 200, 200, 429],
    );
    const refused = answers[3];
    assert.equal(refused?.headers['retry-after'], '1');
    assert.match(
      (JSON.parse(refused?.text ?? '{}') as ProblemBody).detail,
      /more than 2 requests per second \(burst 3\)/,
    );
    assert.equal((await fetchWith(`${e.url}/healthz`)).status, 200);
    const caller = new GrpcCaller(e.endpointd.grpcPort);
    try {
      await assert.rejects(caller.resolve('demo', 'web'), (error: { code: number }) => {
        assert.equal(error.code, status.RESOURCE_EXHAUSTED);
        return true;
      });
      assert.equal((await caller.healthCheck()).status, 'SERVING');
      await new Promise((resolve) => setTimeout(resolve, 600));
      assert.equal((await caller.resolve('demo', 'web')).service.name, 'web', 'tokens come back at the rate');
    } finally {
      caller.close();
    }
    assert.ok((await rejectedCount(e.url, 'rest', 'rate_limited')) >= 1);
    assert.ok((await rejectedCount(e.url, 'grpc', 'rate_limited')) >= 1);
  });
});

async function version(e: TestEndpointd): Promise<string> {
  return String((await fetchWith(`${e.url}/v1/namespaces/demo/services/web`)).headers.etag).replaceAll(
    '"',
    '',
  );
}
