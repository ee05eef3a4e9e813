// Authentication on both doors: bearer tokens from a file (reloaded), Kubernetes TokenReview against the fake
// API server (cached; an unreachable one is an outage to retry, not a refusal), which routes stay open per flag, and
// UNAUTHENTICATED for every gRPC service but health.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { status, type ServiceError } from '@grpc/grpc-js';
import type { ProblemBody } from '../src/api/rest/wire.ts';
import { fetchWith, GrpcCaller } from './support/auth-clients.ts';
import { eventually } from './support/http.ts';
import { sliceManifest, startTestEndpointd, TEST_CONFIG, type TestEndpointd } from './support/endpointd.ts';
import { FakeApiServer, TOKEN_REVIEWS_PATH } from './support/fake-apiserver/index.ts';
import { TOKEN_REVIEW_RETRY_AFTER_MS } from '../src/security/authenticator.ts';
import type { AuthConfig } from '../src/security/guards.ts';
import { startTokenReviewApi } from './support/token-review-api.ts';

const WEB = sliceManifest('demo', 'web', ['10.0.0.1']);
const CLI = fileURLToPath(new URL('../bin/endpointd.cjs', import.meta.url));

function withAuth(auth: Partial<AuthConfig>): Partial<typeof TEST_CONFIG> {
  return {
    security: {
      ...TEST_CONFIG.security,
      auth: { ...TEST_CONFIG.security.auth, ...auth },
      reloadIntervalMs: 100,
    },
  };
}

function expectCode(code: status): (error: { code: number }) => boolean {
  return (error) => {
    assert.equal(error.code, code);
    return true;
  };
}

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'endpointd-auth-'));
});
after(() => rm(dir, { recursive: true, force: true }));

describe('bearer tokens from a file', () => {
  let e: TestEndpointd;
  let tokensFile: string;
  let url: string;
  before(async () => {
    tokensFile = join(dir, 'tokens');
    await writeFile(tokensFile, '# clients\nalpha-token,alpha\n\nbeta-token\n');
    e = await startTestEndpointd({ 'web.yaml': WEB }, withAuth({ tokensFile }));
    url = e.url;
  });
  after(() => e.stop());

  it('answers REST 401 problem+json with a Bearer challenge without a token or with a wrong one, 200 with a good one', async () => {
    const lookup = `${url}/v1/namespaces/demo/services/web`;
    const none = await fetchWith(lookup);
    assert.equal(none.status, 401);
    assert.equal(none.headers['www-authenticate'], 'Bearer realm="endpointd"');
    assert.match(String(none.headers['content-type']), /^application\/problem\+json/);
    const body = JSON.parse(none.text) as ProblemBody;
    assert.equal(body.status, 401);
    assert.match(body.detail, /bearer token/);
    const wrong = await fetchWith(lookup, { token: 'alpha-tokeN' });
    assert.equal(wrong.status, 401);
    assert.equal(wrong.headers['www-authenticate'], 'Bearer realm="endpointd", error="invalid_token"');
    assert.equal((await fetchWith(lookup, { token: 'alpha-token' })).status, 200);
    assert.equal((await fetchWith(lookup, { token: 'beta-token' })).status, 200, 'a token without a name');
    assert.equal((await fetchWith(`${url}/no/such/route`)).status, 401, 'unknown paths are not revealed');
  });

  it('leaves /healthz and /readyz open and closes /metrics by default, where refusals are counted', async () => {
    assert.equal((await fetchWith(`${url}/healthz`)).status, 200);
    assert.equal((await fetchWith(`${url}/readyz`)).status, 200);
    assert.equal((await fetchWith(`${url}/metrics`)).status, 401);
    const metrics = await fetchWith(`${url}/metrics`, { token: 'alpha-token' });
    assert.equal(metrics.status, 200);
    assert.match(
      metrics.text,
      /endpointd_rejected_requests_total\{door="rest",reason="missing_credentials"\} [1-9]/,
    );
    assert.match(
      metrics.text,
      /endpointd_rejected_requests_total\{door="rest",reason="invalid_token"\} [1-9]/,
    );
  });

  it('answers gRPC UNAUTHENTICATED on Discovery and ADS without a token, serves them with one, and leaves health open', async () => {
    const anonymous = new GrpcCaller(e.endpointd.grpcPort);
    const wrong = new GrpcCaller(e.endpointd.grpcPort, { token: 'nope' });
    const alpha = new GrpcCaller(e.endpointd.grpcPort, { token: 'alpha-token' });
    try {
      await assert.rejects(anonymous.resolve('demo', 'web'), expectCode(status.UNAUTHENTICATED));
      await assert.rejects(wrong.resolve('demo', 'web'), expectCode(status.UNAUTHENTICATED));
      await assert.rejects(anonymous.watch().first, expectCode(status.UNAUTHENTICATED));
      const ads = await anonymous.adsStatus();
      assert.notEqual(ads, 'open');
      assert.equal(ads !== 'open' && ads.code, status.UNAUTHENTICATED);
      assert.equal((await anonymous.healthCheck()).status, 'SERVING');

      assert.equal((await alpha.resolve('demo', 'web')).service.name, 'web');
      await alpha.watch().first;
      assert.equal(await alpha.adsStatus(300), 'open');
    } finally {
      for (const c of [anonymous, wrong, alpha]) c.close();
    }
  });

  it('re-reads the file: a removed token is refused and an added one accepted', async () => {
    await writeFile(tokensFile, 'gamma-token,gamma\n');
    const lookup = `${url}/v1/namespaces/demo/services/web`;
    await eventually(async () =>
      (await fetchWith(lookup, { token: 'gamma-token' })).status === 200 ? true : undefined,
    );
    assert.equal((await fetchWith(lookup, { token: 'alpha-token' })).status, 401);
    // A malformed edit keeps the tokens in force.
    await writeFile(tokensFile, 'broken token with spaces\n');
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal((await fetchWith(lookup, { token: 'gamma-token' })).status, 200);
  });
});

describe('open routes per flag', () => {
  let e: TestEndpointd;
  before(async () => {
    const tokensFile = join(dir, 'flags-tokens');
    await writeFile(tokensFile, 't1\n');
    e = await startTestEndpointd(
      { 'web.yaml': WEB },
      withAuth({ tokensFile, openHealth: false, openMetrics: true }),
    );
  });
  after(() => e.stop());

  it('closes health on both doors with --auth-open-health=false and opens /metrics with --auth-open-metrics', async () => {
    assert.equal((await fetchWith(`${e.url}/healthz`)).status, 401);
    assert.equal((await fetchWith(`${e.url}/readyz`)).status, 401);
    assert.equal((await fetchWith(`${e.url}/healthz`, { token: 't1' })).status, 200);
    assert.equal((await fetchWith(`${e.url}/metrics`)).status, 200);
    const anonymous = new GrpcCaller(e.endpointd.grpcPort);
    try {
      await assert.rejects(anonymous.healthCheck(), expectCode(status.UNAUTHENTICATED));
    } finally {
      anonymous.close();
    }
  });
});

describe('Kubernetes TokenReview', () => {
  let api: FakeApiServer;
  let e: TestEndpointd;
  let reviews: () => number;
  before(async () => {
    const reviewApi = await startTokenReviewApi(dir);
    ({ api, reviews } = reviewApi);
    const { kubeconfig } = reviewApi;
    e = await startTestEndpointd(
      { 'web.yaml': WEB },
      {
        ...withAuth({ tokenReview: true }),
        tokenReviewApi: { ...TEST_CONFIG.tokenReviewApi, kubeconfig },
      },
    );
  });
  after(async () => {
    await e.stop();
    await api.close();
  });

  it('accepts a token the API server vouches for on both doors, asking once within the TTL', async () => {
    const lookup = `${e.url}/v1/namespaces/demo/services/web`;
    const first = await Promise.all([1, 2, 3].map(() => fetchWith(lookup, { token: 'sa-token' })));
    assert.deepEqual(
      first.map((a) => a.status),
      [200, 200, 200],
    );
    assert.equal((await fetchWith(lookup, { token: 'sa-token' })).status, 200);
    const caller = new GrpcCaller(e.endpointd.grpcPort, { token: 'sa-token' });
    try {
      assert.equal((await caller.resolve('demo', 'web')).service.name, 'web');
    } finally {
      caller.close();
    }
    assert.equal(reviews(), 1, 'one review for five requests on two doors');
    const request = api.requests.find((r) => r.path === TOKEN_REVIEWS_PATH);
    assert.equal(request?.token, 'reviewer', 'endpointd reviews with its own credentials');
  });

  it('refuses a token the API server does not know, and remembers the refusal briefly', async () => {
    const lookup = `${e.url}/v1/namespaces/demo/services/web`;
    const before = reviews();
    const refused = await fetchWith(lookup, { token: 'stolen' });
    assert.equal(refused.status, 401);
    assert.match((JSON.parse(refused.text) as ProblemBody).detail, /token lookup failed/);
    assert.equal((await fetchWith(lookup, { token: 'stolen' })).status, 401);
    assert.equal(reviews(), before + 1);
  });

  it('answers an outage to retry (503, UNAVAILABLE, CLI exit 3) when the API server cannot be asked, and keeps serving tokens it already knows', async () => {
    const lookup = `${e.url}/v1/namespaces/demo/services/web`;
    await api.stopListening();
    const caller = new GrpcCaller(e.endpointd.grpcPort, { token: 'fresh-grpc-token' });
    try {
      // Not a 401: nothing is known against the token, and a client takes a 401 for bad credentials and gives up.
      const answer = await fetchWith(lookup, { token: 'fresh-token' });
      assert.equal(answer.status, 503);
      assert.equal(answer.headers['retry-after'], String(TOKEN_REVIEW_RETRY_AFTER_MS / 1000));
      assert.equal(answer.headers['www-authenticate'], undefined);
      assert.match((JSON.parse(answer.text) as ProblemBody).detail, /could not be verified now/);
      await assert.rejects(caller.resolve('demo', 'web'), (error: ServiceError) => {
        assert.equal(error.code, status.UNAVAILABLE);
        assert.match(error.details, /could not be verified now/);
        assert.equal(error.metadata.get('grpc-retry-pushback-ms')[0], String(TOKEN_REVIEW_RETRY_AFTER_MS));
        return true;
      });
      // The command-line client tells a script "retry later" (3), not "credentials refused" (5).
      // (Run asynchronously: this endpointd is in this process, and must answer it.)
      const cli = await promisify(execFile)(
        process.execPath,
        [CLI, 'get', 'services', '-n', 'demo', '--server', e.url],
        { env: { ...process.env, ENDPOINTD_TOKEN: 'fresh-cli-token' } },
      ).then(
        () => ({ code: 0, stderr: '' }),
        (error: { code?: number; stderr?: string }) => ({ code: error.code, stderr: error.stderr ?? '' }),
      );
      assert.equal(cli.code, 3, cli.stderr);
      assert.match(cli.stderr, /could not be verified now/);
      assert.equal((await fetchWith(lookup, { token: 'sa-token' })).status, 200, 'cached answer');
    } finally {
      caller.close();
      await api.resumeListening();
    }
    // The outage's answer was not cached as the token's: once the API server answers, its review decides (it knows
    // only 'sa-token').
    const reviewed = await fetchWith(lookup, { token: 'fresh-token' });
    assert.equal(reviewed.status, 401, 'reviewed once it can be asked');
    assert.match((JSON.parse(reviewed.text) as ProblemBody).detail, /token was refused/);
  });
});
