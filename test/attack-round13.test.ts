// Round 13 of the outside attacks: authentication through every door (mTLS, TokenReview) and a named cluster that
// comes back after an outage under open streams. Each test asserts what docs/ say should happen.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { status } from '@grpc/grpc-js';
import type { ServiceBody } from '../src/api/rest/wire.ts';
import { fetchWith, GrpcCaller } from './support/auth-clients.ts';
import { getFrom, simultaneousGets } from './support/from-address.ts';
import { sliceManifest, startTestEndpointd, TEST_CONFIG, type TestEndpointd } from './support/endpointd.ts';
import { FakeApiServer } from './support/fake-apiserver/index.ts';
import { TestClient } from './support/grpc-discovery.ts';
import { EventStream } from './support/http.ts';
import { startMulticlusterEndpointd, taggedAddresses, shopSlice } from './support/multicluster-endpointd.ts';
import { generatePki, type TestPki } from './support/tls-pki.ts';
import { REVIEWED_TOKEN, startTokenReviewApi } from './support/token-review-api.ts';

const WEB = sliceManifest('demo', 'web', ['10.0.0.1']);

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'endpointd-round13-'));
});
after(() => rm(dir, { recursive: true, force: true }));

/** endpointd with --auth-token-review against a fake API server that answers reviews `delayMs` late. */
interface SlowReviewDoor {
  readonly e: TestEndpointd;
  readonly reviews: () => number;
  stop(): Promise<void>;
}

async function startSlowReviewDoor(delayMs: number, name: string): Promise<SlowReviewDoor> {
  const reviewApi = await startTokenReviewApi(dir, { answerDelayMs: delayMs, name: `${name}-kubeconfig` });
  const e = await startTestEndpointd(
    { 'web.yaml': WEB },
    {
      security: { ...TEST_CONFIG.security, auth: { ...TEST_CONFIG.security.auth, tokenReview: true } },
      // One failure every 100 s after a burst of 10: no refill blurs a count within a test.
      limits: { ...TEST_CONFIG.limits, failedAuthRate: { perSecond: 0.01, burst: 10 } },
      tokenReviewApi: { ...TEST_CONFIG.tokenReviewApi, kubeconfig: reviewApi.kubeconfig },
    },
  );
  return {
    e,
    reviews: reviewApi.reviews,
    stop: async () => {
      await e.stop();
      await reviewApi.close();
    },
  };
}

describe('round 13: random bearer tokens sent concurrently from one address', () => {
  let door: SlowReviewDoor;
  let e: TestEndpointd;
  let reviews: () => number;
  before(async () => {
    door = await startSlowReviewDoor(300, 'slow');
    ({ e, reviews } = door);
  });
  after(() => door.stop());

  // docs/security.md: "a client sending random tokens costs the API server at most 10 reviews, then one per 2 s".
  it('REST: cost the API server at most the burst of TokenReviews, however many are in flight at once', async () => {
    const before = reviews();
    const tokens = Array.from({ length: 60 }, () => randomBytes(16).toString('hex'));
    const statuses = await simultaneousGets(
      e.endpointd.httpAddress.port,
      '/v1/namespaces/demo/services/web',
      '127.0.13.1',
      tokens,
    );
    const sent = reviews() - before;
    assert.ok(sent <= 10, `${sent} TokenReviews for 60 concurrent random tokens from one address`);
    assert.ok(
      statuses.every((s) => s === 401 || s === 429),
      statuses.join(' '),
    );
  });

  // What the allowance must not cost a real client: one vouched token sent many times at once shares one review,
  // so it holds one of the address's slots, not one per request; a refused burst then still leaves it served.
  it('serves a vouched token sent 40 times at once from one address, with one review', async () => {
    const before = reviews();
    const statuses = await simultaneousGets(
      e.endpointd.httpAddress.port,
      '/v1/namespaces/demo/services/web',
      '127.0.13.2',
      Array.from({ length: 40 }, () => REVIEWED_TOKEN),
    );
    assert.deepEqual(new Set(statuses), new Set([200]), statuses.join(' '));
    assert.equal(reviews() - before, 1);
  });

  it('gRPC: many calls in flight at once cost at most the burst of TokenReviews too', async () => {
    const before = reviews();
    const callers = Array.from(
      { length: 60 },
      () => new GrpcCaller(e.endpointd.grpcPort, { token: randomBytes(16).toString('hex') }),
    );
    try {
      const codes = await Promise.all(
        callers.map((c) =>
          c.resolve('demo', 'web').then(
            () => status.OK,
            (error: { code: status }) => error.code,
          ),
        ),
      );
      const sent = reviews() - before;
      assert.ok(sent <= 10, `${sent} TokenReviews for 60 concurrent random tokens from one address`);
      assert.ok(codes.every((c) => c === status.UNAUTHENTICATED || c === status.RESOURCE_EXHAUSTED));
    } finally {
      for (const c of callers) c.close();
    }
  });
});

const NS = 'shop';
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

const slice = shopSlice;

interface SeenState {
  readonly door: string;
  readonly name: string;
  /** `cluster:stale|current` of each cluster, as the message says. */
  readonly clusters: string[];
  readonly addresses: string[];
}

const clustersOf = (list: ReadonlyArray<{ name: string; stale?: boolean }> | undefined): string[] =>
  (list ?? []).map((c) => `${c.name}:${c.stale === true ? 'stale' : 'current'}`);

describe('round 13: a cluster that comes back after changes made while it was unreachable', () => {
  // docs/multicluster.md: "When it answers again, it relists (deletes that happened meanwhile are applied: nothing
  // is lost) and is marked current." So no door may ever say a cluster is current while serving, as its share,
  // what that cluster deleted during the outage.
  it('is never shown current with its pre-outage endpoints: REST lookup, REST watch, gRPC Watch', async () => {
    const [east, west] = await Promise.all([FakeApiServer.start(), FakeApiServer.start()]);
    east.create('endpointslices', slice('web', ['10.1.0.1']));
    west.create('endpointslices', slice('web', ['10.2.0.1']));
    west.create('endpointslices', slice('solo', ['10.2.5.5']));
    const t = await startMulticlusterEndpointd(
      [
        { name: 'east', api: east },
        { name: 'west', api: west },
      ],
      { settings: { staleAfterMs: 300 } },
    );
    const grpc = new TestClient(`127.0.0.1:${t.endpointd.grpcPort}`);
    const watch = grpc.watch({
      services: [
        { namespace: NS, name: 'web' },
        { namespace: NS, name: 'solo' },
      ],
      endpoints: 'ENDPOINT_SET_ALL',
    });
    const rest = await EventStream.open(`${t.url}/v1/watch?endpoints=all`);
    const seen: SeenState[] = [];
    let outage = false;
    const afterOutage: SeenState[] = [];
    const note = (state: SeenState): void => {
      seen.push(state);
      if (outage) afterOutage.push(state);
    };
    const reading = [
      (async () => {
        for (;;) {
          const m = await watch.next(15_000).catch(() => undefined);
          if (m === undefined) return;
          if (m.event === 'added' || m.event === 'modified') {
            const s = m.event === 'added' ? m.added : m.modified;
            note({
              door: 'grpc',
              name: s.name,
              clusters: clustersOf(s.clusters),
              addresses: s.endpoints.map((e) => e.addresses[0] ?? ''),
            });
          }
        }
      })(),
      (async () => {
        for (;;) {
          const event = await rest.next(15_000).catch(() => undefined);
          if (event === undefined) return;
          const body = (event.data as unknown as { service: ServiceBody }).service;
          if (event.data.type === 'ADDED' || event.data.type === 'MODIFIED') {
            note({
              door: 'rest',
              name: body.name,
              clusters: clustersOf(body.clusters),
              addresses: body.endpoints.map((e) => e.addresses[0] ?? ''),
            });
          }
        }
      })(),
    ];
    try {
      await t.until(NS, 'solo', (b) => b !== undefined);
      await sleep(300);
      await west.stopListening();
      await t.until(NS, 'web', (b) => b?.clusters?.find((c) => c.name === 'west')?.stale === true);
      outage = true;
      // While west is unreachable, its Service solo goes away and web's endpoint moves.
      west.delete('endpointslices', NS, 'solo-a');
      west.update('endpointslices', slice('web', ['10.2.0.9']));
      // The API server takes the watches back but is slow to send what they missed (a busy watch cache): what
      // endpointd serves meanwhile is what it knew before the outage, which must not be called current.
      west.stall({ verb: 'watch', resource: 'endpointslices', phase: 'after-headers' });
      await west.resumeListening();
      await sleep(1500);
      const meanwhile = await t.lookup(NS, 'web');
      const soloMeanwhile = await t.lookup(NS, 'solo');
      west.unstall();
      await t.until(
        NS,
        'web',
        (b) =>
          b?.clusters?.every((c) => c.stale !== true) === true &&
          taggedAddresses(b).includes('west 10.2.0.9'),
      );
      await t.until(NS, 'solo', (b) => b === undefined);
      await sleep(500);
      if (meanwhile?.clusters?.find((c) => c.name === 'west')?.stale === false) {
        assert.deepEqual(
          taggedAddresses(meanwhile),
          ['east 10.1.0.1', 'west 10.2.0.9'],
          'west current: its now',
        );
      }
      if (soloMeanwhile !== undefined) {
        assert.deepEqual(soloMeanwhile.clusters, [{ name: 'west', stale: true }], 'solo: only as last known');
      }
      const lies = afterOutage.filter(
        (s) =>
          (s.name === 'solo' && s.clusters.includes('west:current')) ||
          (s.name === 'web' && s.clusters.includes('west:current') && s.addresses.includes('10.2.0.1')),
      );
      assert.deepEqual(
        lies,
        [],
        `served as current after the outage: ${JSON.stringify(lies)}; everything seen: ${JSON.stringify(seen)}`,
      );
    } finally {
      watch.cancel();
      rest.close();
      grpc.close();
      await Promise.all(reading);
      await t.stop();
      await Promise.all([east.close(), west.close()]);
    }
  });
});

describe('round 13: a client CA file caught half-written by the reload', () => {
  // docs/security.md: the TLS files are re-read every --credentials-reload-interval, and "a half-finished rotation
  // … is never applied: the last good pair stays". A client CA file read while it is being rewritten in place (cp,
  // a config-management agent) holds half a PEM block: no CA at all. Applying it locks out every mTLS client.
  let pki: TestPki;
  let e: TestEndpointd;
  let caFile: string;
  before(async () => {
    pki = await generatePki();
    caFile = join(pki.dir, 'client-ca.crt');
    await copyFile(pki.caFile, caFile);
    e = await startTestEndpointd(
      { 'web.yaml': WEB },
      {
        security: {
          ...TEST_CONFIG.security,
          tls: {
            certFile: pki.server1.certFile,
            keyFile: pki.server1.keyFile,
            clientCaFile: caFile,
            clientAuth: 'require',
          },
          reloadIntervalMs: 100,
        },
      },
    );
  });
  after(async () => {
    await e.stop();
    await pki.remove();
  });

  it('keeps trusting the last good CA on both doors until the file holds a CA again', async () => {
    const url = `https://127.0.0.1:${e.endpointd.httpAddress.port}/v1/namespaces/demo/services/web`;
    assert.equal((await fetchWith(url, { ca: pki.ca, client: pki.client })).status, 200);
    const pem = await readFile(pki.caFile);
    await writeFile(caFile, pem.subarray(0, Math.floor(pem.length / 2)));
    await sleep(600); // several reload intervals
    const rest = await fetchWith(url, { ca: pki.ca, client: pki.client }).then(
      (a) => String(a.status),
      (error: Error) => error.message,
    );
    const caller = new GrpcCaller(e.endpointd.grpcPort, { ca: pki.ca, client: pki.client });
    try {
      const grpcAnswer = await caller.resolve('demo', 'web').then(
        (r) => r.service.name,
        (error: Error) => error.message,
      );
      assert.deepEqual(
        { rest, grpc: grpcAnswer },
        { rest: '200', grpc: 'web' },
        'a client of the CA is still served over REST and gRPC',
      );
    } finally {
      caller.close();
      await copyFile(pki.caFile, caFile);
    }
  });
});

describe('round 13: a TokenReview that times out, on every door', () => {
  let door: SlowReviewDoor;
  let e: TestEndpointd;
  let reviews: () => number;
  before(async () => {
    door = await startSlowReviewDoor(7000, 'hung');
    ({ e, reviews } = door);
  });
  after(() => door.stop());

  // docs/security.md: a token the API server cannot review now is an outage: REST 503 + Retry-After: 5, gRPC
  // UNAVAILABLE + grpc-retry-pushback-ms 5000 "on every service (Discovery, ADS, reflection)"; never cached.
  it('answers 503 / UNAVAILABLE on REST, Discovery Watch and ADS, one review for them all', async () => {
    const before = reviews();
    const rest = getFrom(`${e.url}/v1/namespaces/demo/services/web`, '127.0.0.1', 'sa-token', 15_000);
    const discovery = new GrpcCaller(e.endpointd.grpcPort, { token: 'sa-token' });
    const ads = new GrpcCaller(e.endpointd.grpcPort, { token: 'sa-token' });
    try {
      const [restAnswer, resolveCode, adsEnd] = await Promise.all([
        rest,
        // A Watch (no deadline of its own: the unary helper's 5 s would race the review's 5 s).
        discovery.watch({ services: [{ namespace: 'demo', name: 'web' }] }).first.then(
          () => status.OK,
          (error: { code: status }) => error.code,
        ),
        ads.adsStatus(12_000),
      ]);
      assert.equal(restAnswer.status, 503);
      assert.match(restAnswer.text, /could not be verified now/);
      assert.equal(resolveCode, status.UNAVAILABLE);
      assert.notEqual(adsEnd, 'open');
      assert.equal(typeof adsEnd === 'string' ? undefined : adsEnd.code, status.UNAVAILABLE);
      assert.ok(reviews() - before <= 1, 'the concurrent requests with one token shared one review');
    } finally {
      discovery.close();
      ads.close();
    }
  });

  // A review held for its failed-attempt slot while it is asked gives it back when the API server cannot answer:
  // an outage is not the client's failure (docs/security.md), so it must not run the address out of attempts.
  it('does not count reviews the API server could not answer against the address', async () => {
    const statuses = await simultaneousGets(
      e.endpointd.httpAddress.port,
      '/v1/namespaces/demo/services/web',
      '127.0.13.3',
      Array.from({ length: 10 }, () => randomBytes(16).toString('hex')),
      15_000,
    );
    assert.deepEqual(new Set(statuses), new Set([503]), statuses.join(' '));
    const again = await getFrom(`${e.url}/v1/namespaces/demo/services/web`, '127.0.13.3', 'another', 15_000);
    assert.equal(
      again.status,
      503,
      'the eleventh attempt after ten outages is answered as the outage (503), not refused as too many (429)',
    );
  });
});
