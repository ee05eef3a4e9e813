// The TokenReviewer on the project's Kubernetes client (src/kube), against the fake API server and against a
// server that never answers: who a token is, what is cached and what is not, and a review that takes too long.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { KubeConfig } from '@kubernetes/client-node';
import { TokenReviewer } from '../src/security/token-review.ts';
import { FakeApiServer, TOKEN_REVIEWS_PATH } from './support/fake-apiserver/index.ts';
import { REVIEWED_TOKEN, REVIEWED_USER, startTokenReviewApi } from './support/token-review-api.ts';

function configFor(yaml: string): KubeConfig {
  const config = new KubeConfig();
  config.loadFromString(yaml);
  return config;
}

describe('TokenReviewer against the fake API server', () => {
  let api: FakeApiServer;
  let reviews: () => number;
  let config: KubeConfig;
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'endpointd-token-review-'));
    const reviewApi = await startTokenReviewApi(dir);
    ({ api, reviews } = reviewApi);
    config = configFor(await readFile(reviewApi.kubeconfig, 'utf8'));
  });
  after(async () => {
    await api.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('names the user of a vouched token, with one review for concurrent asks and none within the TTL', async () => {
    const reviewer = new TokenReviewer({ config });
    const before = reviews();
    const answers = await Promise.all([1, 2, 3].map(() => reviewer.review(REVIEWED_TOKEN)));
    for (const answer of answers) assert.deepEqual(answer, { authenticated: true, username: REVIEWED_USER });
    assert.deepEqual(await reviewer.review(REVIEWED_TOKEN), { authenticated: true, username: REVIEWED_USER });
    assert.equal(reviews() - before, 1);
    assert.equal(reviewer.reviews, 1);
    const request = api.requests.findLast((r) => r.path === TOKEN_REVIEWS_PATH);
    assert.equal(request?.method, 'POST');
    assert.equal(request?.token, 'reviewer', 'the review is made with endpointd’s own credentials');
  });

  it('refuses an unknown token with the API server’s reason, and asks again once the refusal expires', async () => {
    const reviewer = new TokenReviewer({ config, negativeTtlMs: 150 });
    const before = reviews();
    const refused = await reviewer.review('stolen');
    assert.equal(refused.authenticated, false);
    assert.match(refused.authenticated ? '' : refused.error, /token lookup failed/);
    await reviewer.review('stolen');
    assert.equal(reviews() - before, 1, 'the refusal is remembered');
    await new Promise((resolve) => setTimeout(resolve, 300));
    await reviewer.review('stolen');
    assert.equal(reviews() - before, 2, 'and forgotten after its TTL');
  });

  it('rejects, with the status and message, when RBAC forbids the review, and caches nothing', async () => {
    const forbidden = await FakeApiServer.start({
      tokens: { weak: { user: 'system:serviceaccount:endpointd:weak', tokenReviews: false } },
    });
    try {
      const reviewer = new TokenReviewer({ config: configFor(forbidden.kubeconfigYaml('weak')) });
      for (let i = 0; i < 2; i += 1) {
        await assert.rejects(reviewer.review(REVIEWED_TOKEN), (error: Error) => {
          assert.match(error.message, /^TokenReview answered 403: .*cannot create resource "tokenreviews"/);
          return true;
        });
      }
      assert.equal(
        forbidden.requests.filter((r) => r.path === TOKEN_REVIEWS_PATH).length,
        2,
        'a failure is not cached',
      );
    } finally {
      await forbidden.close();
    }
  });
});

describe('TokenReviewer against an API server that never answers', () => {
  let server: Server;
  const sockets = new Set<Socket>();
  let requests = 0;
  let url: string;
  before(async () => {
    server = createServer((socket) => {
      sockets.add(socket);
      // Reads the request and says nothing back; counts each request line seen.
      socket.on('data', (chunk) => {
        requests += (chunk.toString('latin1').match(/^POST /gm) ?? []).length;
      });
      socket.on('close', () => sockets.delete(socket));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    assert.ok(address !== null && typeof address === 'object');
    url = `http://127.0.0.1:${address.port}`;
  });
  after(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  });

  it('fails a review that takes longer than its timeout, and asks again next time', async () => {
    const config = new KubeConfig();
    config.loadFromOptions({
      clusters: [{ name: 'silent', server: url, skipTLSVerify: true }],
      users: [{ name: 'reviewer', token: 'reviewer' }],
      contexts: [{ name: 'silent', cluster: 'silent', user: 'reviewer' }],
      currentContext: 'silent',
    });
    const reviewer = new TokenReviewer({ config, timeoutMs: 200 });
    const started = performance.now();
    await assert.rejects(reviewer.review(REVIEWED_TOKEN), (error: Error) => {
      assert.equal(error.name, 'TimeoutError');
      return true;
    });
    const elapsed = performance.now() - started;
    assert.ok(elapsed >= 150 && elapsed < 10_000, `failed after ${Math.round(elapsed)} ms`);
    await assert.rejects(reviewer.review(REVIEWED_TOKEN), { name: 'TimeoutError' });
    assert.equal(reviewer.reviews, 2, 'a timed-out review is not cached');
    assert.equal(requests, 2, 'both reached the server');
  });
});
