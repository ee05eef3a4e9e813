// Attacks on authentication from outside: anonymous health Watch streams squatting the stream budget that
// authenticated clients need, random bearer tokens amplified into TokenReviews against the (fake) API server, and
// a certificate from another CA under optional mTLS. Each is absorbed by a bound of its own, and said so.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { getFrom } from './support/from-address.ts';
import { status, type ServiceError } from '@grpc/grpc-js';
import type { LimitsConfig } from '../src/security/guards.ts';
import { fetchWith, GrpcCaller, type ServerStream } from './support/auth-clients.ts';
import { sliceManifest, startTestEndpointd, TEST_CONFIG, type TestEndpointd } from './support/endpointd.ts';
import type { FakeApiServer } from './support/fake-apiserver/index.ts';
import { generatePki, type TestPki } from './support/tls-pki.ts';
import { startTokenReviewApi } from './support/token-review-api.ts';

const WEB = sliceManifest('demo', 'web', ['10.0.0.1']);

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'endpointd-limits-auth-'));
});
after(() => rm(dir, { recursive: true, force: true }));

function config(
  auth: Partial<typeof TEST_CONFIG.security.auth>,
  limits: Partial<LimitsConfig> = {},
  extra: Partial<typeof TEST_CONFIG> = {},
): Partial<typeof TEST_CONFIG> {
  return {
    ...extra,
    security: { ...TEST_CONFIG.security, auth: { ...TEST_CONFIG.security.auth, ...auth } },
    limits: { ...TEST_CONFIG.limits, ...limits },
  };
}

const endedWith = async (stream: ServerStream): Promise<ServiceError | undefined> => stream.ended;

describe('anonymous streams have a budget of their own', () => {
  let e: TestEndpointd;
  before(async () => {
    const tokensFile = join(dir, 'tokens');
    await writeFile(tokensFile, 'good-token,ci\n');
    e = await startTestEndpointd(
      { 'web.yaml': WEB },
      config(
        { tokensFile },
        {
          grpcStreams: { total: 3, perClient: 0 },
          grpcUnauthenticatedStreams: { total: 3, perClient: 0 },
        },
      ),
    );
  });
  after(() => e.stop());

  it('three anonymous health Watches (cap 3) leave every authenticated stream slot free', async () => {
    const anonymous = new GrpcCaller(e.endpointd.grpcPort);
    const authed = new GrpcCaller(e.endpointd.grpcPort, { token: 'good-token' });
    const open: ServerStream[] = [];
    try {
      for (let i = 0; i < 3; i += 1) {
        const watch = anonymous.healthWatch();
        open.push(watch);
        assert.deepEqual(await watch.first, { status: 'SERVING' });
      }
      // The attack: this used to fail RESOURCE_EXHAUSTED.
      for (let i = 0; i < 3; i += 1) {
        const watch = authed.watch();
        open.push(watch);
        await watch.first;
      }
      // Each budget refuses beyond its own cap, saying which.
      const fourthAnonymous = await endedWith(anonymous.healthWatch());
      assert.equal(fourthAnonymous?.code, status.RESOURCE_EXHAUSTED);
      assert.match(fourthAnonymous?.details ?? '', /3 unauthenticated streams/);
      const fourthAuthed = await endedWith(authed.watch());
      assert.equal(fourthAuthed?.code, status.RESOURCE_EXHAUSTED);
      assert.doesNotMatch(fourthAuthed?.details ?? '', /unauthenticated/);
      // Unary health stays answered (it holds no slot).
      assert.equal((await anonymous.healthCheck()).status, 'SERVING');
    } finally {
      for (const s of open) s.cancel();
      anonymous.close();
      authed.close();
    }
  });
});

describe('TokenReview amplification', () => {
  let api: FakeApiServer;
  let e: TestEndpointd;
  let reviews: () => number;
  before(async () => {
    const reviewApi = await startTokenReviewApi(dir);
    ({ api, reviews } = reviewApi);
    const { kubeconfig } = reviewApi;
    e = await startTestEndpointd(
      { 'web.yaml': WEB },
      config(
        { tokenReview: true },
        // One failure every 100 s after a burst of 10: refills cannot blur the count within a test.
        { failedAuthRate: { perSecond: 0.01, burst: 10 } },
        { tokenReviewApi: { ...TEST_CONFIG.tokenReviewApi, kubeconfig } },
      ),
    );
  });
  after(async () => {
    await e.stop();
    await api.close();
  });

  it('asks the API server about at most the burst of random tokens per address, then answers 429 itself', async () => {
    const lookup = `${e.url}/v1/namespaces/demo/services/web`;
    const before = reviews();
    const statuses: number[] = [];
    let retryAfter: string | undefined;
    for (let i = 0; i < 100; i += 1) {
      const answer = await getFrom(lookup, '127.0.3.1', randomBytes(16).toString('hex'));
      statuses.push(answer.status);
      if (answer.status === 429) retryAfter = answer.retryAfter;
    }
    assert.equal(reviews() - before, 10, 'one review per failed attempt of the burst, none after');
    assert.deepEqual(statuses.slice(0, 10), Array(10).fill(401));
    assert.deepEqual(statuses.slice(10), Array(90).fill(429));
    assert.ok(Number(retryAfter) >= 1, `Retry-After ${retryAfter}`);
    // The attacker's address is refused even with a good token; other addresses are not affected.
    const blocked = await getFrom(lookup, '127.0.3.1', 'sa-token');
    assert.equal(blocked.status, 429);
    assert.match(blocked.text, /too many failed authentication attempts from 127\.0\.3\.1/);
    assert.equal((await getFrom(lookup, '127.0.3.2', 'sa-token')).status, 200);
  });

  it('caches refusals too: one bad token repeated from many addresses costs one review', async () => {
    const lookup = `${e.url}/v1/namespaces/demo/services/web`;
    const before = reviews();
    for (let i = 0; i < 20; i += 1) {
      assert.equal((await getFrom(lookup, `127.0.4.${i + 1}`, 'the-same-stolen-token')).status, 401);
    }
    assert.equal(reviews() - before, 1);
  });

  it('limits failed attempts on the gRPC door by address as well, with RESOURCE_EXHAUSTED and a pushback', async () => {
    const before = reviews();
    const codes: status[] = [];
    let last: ServiceError | undefined;
    for (let i = 0; i < 30; i += 1) {
      const caller = new GrpcCaller(e.endpointd.grpcPort, { token: randomBytes(16).toString('hex') });
      try {
        await caller.resolve('demo', 'web');
        codes.push(status.OK);
      } catch (error) {
        last = error as ServiceError;
        codes.push(last.code);
      } finally {
        caller.close();
      }
    }
    assert.ok(reviews() - before <= 10, `${reviews() - before} reviews for 30 random tokens`);
    assert.equal(codes.at(-1), status.RESOURCE_EXHAUSTED);
    assert.ok(Number(last?.metadata.get('grpc-retry-pushback-ms')[0]) > 0, 'a pushback in the trailers');
    assert.match(last?.details ?? '', /too many failed authentication attempts/);
    assert.ok(codes.every((c) => c === status.UNAUTHENTICATED || c === status.RESOURCE_EXHAUSTED));
  });
});

describe('optional mTLS with a certificate from another CA', () => {
  let pki: TestPki;
  let e: TestEndpointd;
  before(async () => {
    pki = await generatePki();
    const tokensFile = join(dir, 'mtls-tokens');
    await writeFile(tokensFile, 'good-token,ci\n');
    e = await startTestEndpointd(
      { 'web.yaml': WEB },
      {
        security: {
          ...TEST_CONFIG.security,
          tls: {
            certFile: pki.server1.certFile,
            keyFile: pki.server1.keyFile,
            clientCaFile: pki.caFile,
            clientAuth: 'optional',
          },
          auth: { ...TEST_CONFIG.security.auth, tokensFile },
        },
      },
    );
  });
  after(async () => {
    await e.stop();
    await pki.remove();
  });

  /** Raw TLS: `requests` written at once (pipelined, or before the handshake ends); the statuses that came back. */
  function rawStatuses(
    requests: string,
    options: { maxVersion?: 'TLSv1.2'; early?: boolean },
  ): Promise<string[]> {
    return new Promise((resolve, reject) => {
      const socket = tlsConnect(
        {
          port: e.endpointd.httpAddress.port,
          host: '127.0.0.1',
          servername: 'localhost',
          ca: pki.ca,
          cert: pki.foreignClient.cert,
          key: pki.foreignClient.key,
          ...(options.maxVersion === undefined ? {} : { maxVersion: options.maxVersion }),
        },
        () => {
          if (options.early !== true) socket.write(requests);
        },
      );
      if (options.early === true) socket.write(requests);
      let text = '';
      socket.setEncoding('utf8');
      socket.on('data', (chunk: string) => (text += chunk));
      socket.on('error', reject);
      socket.on('close', () => resolve([...text.matchAll(/HTTP\/1\.1 (\d{3})/g)].map((m) => m[1] ?? '')));
    });
  }

  it('is 401 (never 400) however the client sends its requests', async () => {
    const path = '/v1/namespaces/demo/services/web';
    const one = `GET ${path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n`;
    const two = `GET ${path} HTTP/1.1\r\nHost: localhost\r\n\r\n${one}`;
    for (let round = 0; round < 5; round += 1) {
      assert.deepEqual(await rawStatuses(two, {}), ['401', '401'], 'TLS 1.3, pipelined');
      assert.deepEqual(await rawStatuses(two, { maxVersion: 'TLSv1.2' }), ['401', '401'], 'TLS 1.2');
      assert.deepEqual(
        await rawStatuses(one, { early: true }),
        ['401'],
        'written before the handshake ended',
      );
    }
    const parallel = await Promise.all(
      Array.from({ length: 20 }, () =>
        fetchWith(`${e.url.replace('http:', 'https:')}${path}`, { ca: pki.ca, client: pki.foreignClient }),
      ),
    );
    assert.deepEqual(
      parallel.map((a) => a.status),
      Array(20).fill(401),
    );
    // With a token as well, it is served: the foreign certificate is ignored, not held against the client.
    const withToken = await fetchWith(`${e.url.replace('http:', 'https:')}${path}`, {
      ca: pki.ca,
      client: pki.foreignClient,
      token: 'good-token',
    });
    assert.equal(withToken.status, 200);
  });
});

describe('the plain health port', () => {
  let e: TestEndpointd;
  before(async () => {
    const tokensFile = join(dir, 'health-tokens');
    await writeFile(tokensFile, 'good-token,ci\n');
    // Health closed on the API port, metrics asked for on the health port.
    e = await startTestEndpointd(
      { 'web.yaml': WEB },
      config({ tokensFile, openHealth: false }, {}, { healthPort: 0, healthPortMetrics: true }),
    );
  });
  after(() => e.stop());

  it('answers probes and scrapes without credentials while the API port asks for them', async () => {
    const health = `http://127.0.0.1:${e.endpointd.healthAddress?.port ?? 0}`;
    assert.equal((await fetchWith(`${e.url}/healthz`)).status, 401);
    assert.equal((await fetchWith(`${health}/healthz`)).status, 200);
    const ready = await fetchWith(`${health}/readyz`);
    assert.equal(ready.status, 200);
    assert.equal((JSON.parse(ready.text) as { ready: boolean }).ready, true);
    const metrics = await fetchWith(`${health}/metrics`);
    assert.equal(metrics.status, 200);
    assert.match(
      metrics.text,
      /endpointd_rejected_requests_total\{door="rest",reason="missing_credentials"\} [1-9]/,
    );
    const data = await fetchWith(`${health}/v1/services`, { token: 'good-token' });
    assert.equal(data.status, 404, 'no service data on the health port, token or not');
    assert.match(data.text, /this port serves \/healthz, \/readyz and \/metrics/);
  });
});
