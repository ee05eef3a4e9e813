// Round 14 of the outside attacks, on this morning's changes: a named cluster's relist after an outage, the PEM
// check of the TLS files, the logger's error serializer, the source ranking, the TokenReview slots. Each test
// asserts what should happen (docs/ and the commits' own words), so each fails while its defect is there.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, symlink, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { PassThrough } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import type { ServiceBody } from '../src/api/rest/wire.ts';
import { parseCommandLine } from '../src/config/assemble.ts';
import { startEndpointd } from '../src/main.ts';
import { createLogger } from '../src/observability/logger.ts';
import { tlsMaterialProblem } from '../src/security/tls.ts';
import { getFrom, simultaneousGets } from './support/from-address.ts';
import { GrpcCaller } from './support/auth-clients.ts';
import { startTokenReviewApi } from './support/token-review-api.ts';
import { startFailingReviewApi } from './support/attack14-failing-reviews.ts';
import { sliceManifest, startTestEndpointd, TEST_CONFIG } from './support/endpointd.ts';
import { eventually, get } from './support/http.ts';
import { generatePki, type TestPki } from './support/tls-pki.ts';
import { FakeApiServer } from './support/fake-apiserver/index.ts';
import { startMulticlusterEndpointd, shopSlice } from './support/multicluster-endpointd.ts';

const NS = 'shop';
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

const slice = shopSlice;

describe('round 14: a named cluster whose reconnect began before it was marked stale', () => {
  // docs/multicluster.md: a stale cluster "relists when it answers again and is marked current" only with what the
  // lists found. A watch attempt that was already on its way when the cluster went stale resumes (the check is made
  // once, before the attempt); its open clears the failure, so the cluster is marked current with its pre-outage
  // shares — and when the resumed watch then gets 410 Gone, the relist that follows runs with the cluster current.
  it('is not marked current with its pre-outage endpoints while the relist after a 410 is still running', async () => {
    const west = await FakeApiServer.start();
    west.create('endpointslices', slice('web', ['10.2.0.1']));
    west.create('endpointslices', slice('solo', ['10.2.5.5']));
    const t = await startMulticlusterEndpointd([{ name: 'west', api: west }], {
      settings: { staleAfterMs: 800 },
    });
    try {
      await t.until(NS, 'solo', (b) => b !== undefined);
      // The API server stops answering watches (headers never come), and the open watch is cut: the reflector's
      // next attempt (≈100 ms later, before the cluster is stale) resumes its watch and hangs there.
      west.stall({ verb: 'watch', resource: 'endpointslices', phase: 'before-headers' });
      west.destroyWatchSockets();
      await t.until(NS, 'solo', (b) => b?.clusters?.[0]?.stale === true, { timeoutMs: 10_000 });
      // Meanwhile solo goes away, web moves, and the watch cache is compacted past the reflector's version.
      west.delete('endpointslices', NS, 'solo-a');
      west.update('endpointslices', slice('web', ['10.2.0.9']));
      west.compact();
      // The API server answers again, but its lists are slow (the relist after the 410 hangs).
      west.unstall();
      west.stall({ verb: 'list', resource: 'endpointslices', phase: 'before-headers' });
      const seen = new Set<string>();
      for (let i = 0; i < 8; i++) {
        await sleep(150);
        const solo = await t.lookup(NS, 'solo');
        const web = await t.lookup(NS, 'web');
        if (solo?.clusters?.[0]?.stale === false) seen.add('solo (deleted during the outage) as current');
        if (web?.clusters?.[0]?.stale === false && web.endpoints.some((e) => e.addresses[0] === '10.2.0.1')) {
          seen.add('web with its pre-outage 10.2.0.1 as current');
        }
      }
      west.unstall();
      await t.until(NS, 'solo', (b) => b === undefined, { timeoutMs: 10_000 });
      assert.deepEqual([...seen], [], 'pre-outage endpoints served as current');
    } finally {
      west.unstall();
      await t.stop();
      await west.close();
    }
  });
});

describe('round 14: the PEM check of the TLS files', () => {
  let pki: TestPki;
  before(async () => {
    pki = await generatePki();
  });
  after(() => pki.remove());

  // A PEM file holding the certificate chain and then the private key (what `cat cert.pem key.pem`, HAProxy-style
  // bundles and many ACME clients write; --tls-cert-file and --tls-key-file may name the same file): Node serves it
  // (OpenSSL's PEM reader skips the blocks of other types), and it is whole. certificatesProblem takes the key's
  // BEGIN line for a cut block and refuses it: at start endpointd exits, on reload the rotation is never applied.
  it('accepts a certificate file that also holds its private key, as Node does', () => {
    const { cert, key } = pki.server1;
    const both = Buffer.concat([cert, key]);
    assert.equal(tlsMaterialProblem({ cert: both, key: both, ca: pki.ca }), undefined);
    assert.equal(tlsMaterialProblem({ cert: Buffer.concat([key, cert]), key, ca: pki.ca }), undefined);
  });

  // Two CA files joined with `cat a.pem b.pem` where a.pem has no final newline give
  // "-----END CERTIFICATE----------BEGIN CERTIFICATE-----" on one line, or a comment after an END line: OpenSSL
  // stops at that line (bad end line) and the context trusts none of the bundle's CAs — the CA that trusts nobody
  // this check was made to keep out (every mTLS client refused) — yet both blocks match its pattern, so it passes.
  it('refuses a client CA bundle whose blocks OpenSSL cannot read (an END line with text after it)', () => {
    const { cert, key } = pki.server1;
    const ca = pki.ca.toString('latin1').trimEnd();
    const joined = Buffer.from(`${ca}${ca}\n`, 'latin1');
    assert.notEqual(
      tlsMaterialProblem({ cert, key, ca: joined }),
      undefined,
      'END----------BEGIN on one line',
    );
    const commented = Buffer.from(`${ca} # the root\n`, 'latin1');
    assert.notEqual(tlsMaterialProblem({ cert, key, ca: commented }), undefined, 'text after END');
  });

  // Text between the blocks is allowed (bundles carry comments), but a comment line that starts with a dash (a
  // "---- end of bundle ----" rule, "-- internal CA") is taken for a cut PEM boundary, and so is a
  // -----BEGIN TRUSTED CERTIFICATE----- block (`openssl x509 -trustout`), which Node reads and trusts.
  it('accepts whole CA files with a dashed comment line', () => {
    const { cert, key } = pki.server1;
    const ca = pki.ca.toString('latin1');
    const ruled = Buffer.from(`# internal CA\n${ca}---- end of bundle ----\n`, 'latin1');
    assert.equal(tlsMaterialProblem({ cert, key, ca: ruled }), undefined);
  });

  // `openssl x509 -trustout` writes -----BEGIN TRUSTED CERTIFICATE----- (a certificate with its trust settings);
  // Node's CA loader (PEM_read_bio_X509_AUX) reads it and the client certificates it signed are verified. The check
  // only knows "BEGIN CERTIFICATE": alone such a file "holds no PEM certificate", in a bundle it is a "cut" block.
  it('accepts a client CA in the TRUSTED CERTIFICATE form, which Node trusts', () => {
    const { cert, key } = pki.server1;
    const trusted = execFileSync('/usr/bin/openssl', [
      'x509',
      '-in',
      pki.caFile,
      '-trustout',
      '-addtrust',
      'clientAuth',
    ]);
    assert.equal(tlsMaterialProblem({ cert, key, ca: trusted }), undefined, 'alone');
    assert.equal(
      tlsMaterialProblem({ cert, key, ca: Buffer.concat([trusted, pki.ca]) }),
      undefined,
      'in a bundle',
    );
  });
});

describe('round 14: the logger never throws on an odd error, and keeps what pino kept', () => {
  const logged = (err: unknown): { message?: unknown } => {
    const out = new PassThrough();
    let text = '';
    out.on('data', (chunk: Buffer) => (text += chunk.toString()));
    const logger = createLogger('info', out);
    logger.error({ err }, 'failed');
    return (JSON.parse(text) as { err: { message?: unknown } }).err;
  };

  // pino's own serializer writes this line ("a"); serializeError's `message.includes(cause.message)` converts a
  // Symbol and throws, so the log call throws inside whatever was reporting the failure.
  it('writes an error whose cause has a non-string message instead of throwing', () => {
    const cause = Object.assign(new Error('x'), { message: Symbol('s') as unknown as string });
    assert.doesNotThrow(() => logged(new Error('outer', { cause })));
  });

  // pino appends an error-like cause's message ({ name, message, stack }: an error from another realm, a gRPC
  // status object, a rejection reason of a library's own shape): `cause instanceof Error` stops the walk, so the
  // line loses the one message that says why.
  it("keeps an error-like cause's message, as pino does", () => {
    const cause = {
      name: 'StatusError',
      message: 'connect ECONNREFUSED 10.0.0.1:6443',
      stack: 'StatusError: x',
    };
    assert.equal(
      logged(new Error('TokenReview failed', { cause })).message,
      'TokenReview failed: connect ECONNREFUSED 10.0.0.1:6443',
    );
  });
});

describe('round 14: which source serves a Service that named clusters and a file both define', () => {
  // README: named clusters count as one source, ranked after every --source, whichever comes first on the command
  // line (their variables, ENDPOINTD_SOURCE and ENDPOINTD_CLUSTER, have no order between them either). Found by
  // this round: the README said "at the place of the first --cluster", which the Config (every --source, then every
  // --cluster) never did; the rule is now the one the README states, the same from flags and variables.
  it('ranks the named clusters after every --source, in either order of the flags', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'endpointd-round14-rank-'));
    const east = await FakeApiServer.start();
    east.create('endpointslices', slice('web', ['10.1.0.1']));
    const kubeconfig = join(dir, 'east.kubeconfig');
    await writeFile(kubeconfig, east.kubeconfigYaml());
    await writeFile(join(dir, 'web.yaml'), sliceManifest(NS, 'web', ['10.9.9.9']));
    const cluster = ['--cluster', `east=${kubeconfig}`];
    const file = ['--source', `file:${join(dir, 'web.yaml')}`];
    try {
      for (const argv of [
        [...cluster, ...file],
        [...file, ...cluster],
      ]) {
        const parsed = parseCommandLine(argv, {});
        assert.equal(parsed.kind, 'run', JSON.stringify(parsed));
        if (parsed.kind !== 'run') return;
        const endpointd = await startEndpointd(
          { ...TEST_CONFIG, sources: parsed.config.sources },
          createLogger('silent'),
        );
        try {
          await endpointd.synced;
          const answer = await get(
            `http://127.0.0.1:${endpointd.httpAddress.port}/v1/namespaces/${NS}/services/web?endpoints=all`,
          );
          assert.deepEqual(
            answer.json<ServiceBody>().endpoints.map((e) => `${e.cluster ?? 'file'} ${e.addresses[0] ?? ''}`),
            ['file 10.9.9.9'],
            argv.join(' '),
          );
        } finally {
          await endpointd.stop();
        }
      }
    } finally {
      await east.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('round 14: the command line around the bare switches and the repeated file source', () => {
  // Before the bare switches, `--hide-default-namespaces no` was refused naming the flag, its variable and what it
  // takes. withBareSwitches now rewrites it to `--hide-default-namespaces=true no`, and the refusal is parseArgs'
  // "Unexpected argument 'no'. This command does not take positional arguments", which names neither.
  it('refuses a switch followed by a word that is not true or false by naming the switch', () => {
    const parsed = parseCommandLine(['--source', 'file:/tmp/x', '--hide-default-namespaces', 'no'], {});
    assert.equal(parsed.kind, 'invalid');
    const problems = parsed.kind === 'invalid' ? parsed.problems.join('\n') : '';
    assert.match(problems, /--hide-default-namespaces/, problems);
  });

  // "The same files read twice would define every Service twice": the refusal compares path.resolve() strings, so
  // the same directory named through a symlink (a ConfigMap mount's ..data link, /etc/endpointd -> /srv/endpointd)
  // is read twice and every Service it holds is logged as a conflict with itself.
  it('refuses the same file source named through a symlink', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'endpointd-round14-dup-'));
    try {
      await mkdir(join(dir, 'real'));
      await symlink(join(dir, 'real'), join(dir, 'link'));
      const parsed = parseCommandLine(
        ['--source', `file:${join(dir, 'real')}`, '--source', `file:${join(dir, 'link')}`],
        {},
      );
      assert.equal(parsed.kind, 'invalid', JSON.stringify(parsed));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('round 14: random bearer tokens while the API server fails its TokenReviews', () => {
  // docs/security.md: "a client sending random tokens, one after the other or all together, costs the API server at
  // most 10 reviews, then one per 2 s". A review the API server fails (503: overloaded, or its priority and
  // fairness shedding load) gives its slot back and is not cached, so while the API server is failing each random
  // token costs it a review, without bound: one address keeps an API server that is already failing busy at the
  // rate it can send requests. (The client's 503 is right; asking the API server again for every new token is not.)
  it('costs the failing API server at most the burst of reviews from one address', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'endpointd-round14-reviews-'));
    const api = await startFailingReviewApi(dir);
    const e = await startTestEndpointd(
      { 'web.yaml': sliceManifest('demo', 'web', ['10.0.0.1']) },
      {
        security: { ...TEST_CONFIG.security, auth: { ...TEST_CONFIG.security.auth, tokenReview: true } },
        limits: { ...TEST_CONFIG.limits, failedAuthRate: { perSecond: 0.01, burst: 10 } },
        tokenReviewApi: { ...TEST_CONFIG.tokenReviewApi, kubeconfig: api.kubeconfig },
      },
    );
    try {
      const url = `http://127.0.0.1:${e.endpointd.httpAddress.port}/v1/namespaces/demo/services/web`;
      const statuses: number[] = [];
      for (let i = 0; i < 40; i++) {
        statuses.push((await getFrom(url, '127.0.14.1', randomBytes(16).toString('hex'))).status);
      }
      assert.ok(
        statuses.every((s) => s === 503 || s === 429),
        statuses.join(' '),
      );
      assert.ok(api.reviews() <= 10, `${api.reviews()} TokenReviews for 40 random tokens from one address`);
    } finally {
      await e.stop();
      await api.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('round 14: one allowance per address across the doors', () => {
  // One Authenticator serves REST and gRPC (Discovery and ADS), keyed by the remote address each door reads. Bound to
  // :: (dual stack, as --help suggests), an IPv4 client must be one key on both doors, or it gets the burst twice.
  it('REST and gRPC together, bound to ::, cost at most the burst of reviews from one address', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'endpointd-round14-doors-'));
    const reviewApi = await startTokenReviewApi(dir, { answerDelayMs: 300 });
    const { kubeconfig, reviews } = reviewApi;
    const e = await startTestEndpointd(
      { 'web.yaml': sliceManifest('demo', 'web', ['10.0.0.1']) },
      {
        bind: '::',
        security: { ...TEST_CONFIG.security, auth: { ...TEST_CONFIG.security.auth, tokenReview: true } },
        limits: { ...TEST_CONFIG.limits, failedAuthRate: { perSecond: 0.01, burst: 10 } },
        tokenReviewApi: { ...TEST_CONFIG.tokenReviewApi, kubeconfig },
      },
    );
    const callers = Array.from(
      { length: 20 },
      () => new GrpcCaller(e.endpointd.grpcPort, { token: randomBytes(16).toString('hex') }),
    );
    try {
      const before = reviews();
      await Promise.all([
        simultaneousGets(
          e.endpointd.httpAddress.port,
          '/v1/namespaces/demo/services/web',
          '127.0.0.1',
          Array.from({ length: 20 }, () => randomBytes(16).toString('hex')),
        ),
        ...callers.map((c) => c.resolve('demo', 'web').catch(() => undefined)),
      ]);
      const sent = reviews() - before;
      assert.ok(sent <= 10, `${sent} TokenReviews for 40 random tokens from 127.0.0.1 over REST and gRPC`);
    } finally {
      for (const c of callers) c.close();
      await e.stop();
      await reviewApi.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('round 14: two file sources defining one Service, the first one large', () => {
  // The first --source serves, whichever finishes reading first; when it drops the Service the other's definition
  // takes over, and when it defines it again it serves again. Each time the first source (re)gains it, one conflict
  // line names it as served and the other as ignored.
  it('serves the first --source through a slow first read, a delete and a re-add, logging each conflict once', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'endpointd-round14-two-files-'));
    const first = join(dir, 'first');
    const second = join(dir, 'second');
    await mkdir(first);
    await mkdir(second);
    const filler = Array.from({ length: 1500 }, (_, i) =>
      sliceManifest('bulk', `s${i}`, [`10.8.${i >> 8}.${i & 255}`]),
    );
    await writeFile(join(first, 'bulk.yaml'), filler.join('---\n'));
    await writeFile(join(first, 'web.yaml'), sliceManifest(NS, 'web', ['10.1.1.1']));
    await writeFile(join(second, 'web.yaml'), sliceManifest(NS, 'web', ['10.2.2.2']));
    const out = new PassThrough();
    const lines: Array<{ msg?: string; servedFrom?: string; ignoredFrom?: string }> = [];
    let pending = '';
    out.on('data', (chunk: Buffer) => {
      pending += chunk.toString();
      const parts = pending.split('\n');
      pending = parts.pop() ?? '';
      for (const part of parts) if (part !== '') lines.push(JSON.parse(part) as (typeof lines)[number]);
    });
    const endpointd = await startEndpointd(
      {
        ...TEST_CONFIG,
        logLevel: 'error',
        sources: [
          { kind: 'file', path: first },
          { kind: 'file', path: second },
        ],
      },
      createLogger('error', out),
    );
    const url = `http://127.0.0.1:${endpointd.httpAddress.port}/v1/namespaces/${NS}/services/web`;
    const served = async (): Promise<string | undefined> => {
      const answer = await get(url);
      return answer.status === 200 ? answer.json<ServiceBody>().endpoints[0]?.addresses[0] : undefined;
    };
    const conflicts = (): string[] =>
      lines
        .filter((l) => l.msg?.startsWith('service defined by two sources') === true)
        .map((l) => `${l.servedFrom ?? ''} over ${l.ignoredFrom ?? ''}`);
    const serving = (ip: string) =>
      eventually(async () => ((await served()) === ip ? true : undefined), 10_000);
    try {
      await endpointd.synced;
      assert.equal(await served(), '10.1.1.1');
      await unlink(join(first, 'web.yaml'));
      await serving('10.2.2.2');
      await writeFile(join(first, 'web.yaml'), sliceManifest(NS, 'web', ['10.1.1.1']));
      await serving('10.1.1.1');
      await sleep(300);
      assert.deepEqual(conflicts(), [
        `file:${first} over file:${second}`,
        `file:${first} over file:${second}`,
      ]);
    } finally {
      await endpointd.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
