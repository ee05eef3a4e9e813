// The Kubernetes reflector's fault timing, driven by a fake clock: the real Reflector and KubeClient (client-node's
// credentials, undici) list and watch the fake kube-apiserver on loopback, and every wait they make — backoff
// sleeps, the idle-watch timer, the list deadline, the once-a-minute failure log — is a timer on the fake clock that
// the test inspects and runs. No test here sleeps for the delays it checks.
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, describe, it } from 'node:test';
import { KubeConfig } from '@kubernetes/client-node';
import fc from 'fast-check';
import { createLogger } from '../src/observability/logger.ts';
import { DEFAULT_BACKOFF, retryDelay, type FailureKind } from '../src/sources/kubernetes/backoff.ts';
import { FailureLog, type FailureReport } from '../src/sources/kubernetes/failure-log.ts';
import { failureSignature } from '../src/sources/kubernetes/failures.ts';
import { KubeApiError, KubeClient } from '../src/kube/kube-client.ts';
import { KubernetesSource } from '../src/sources/kubernetes/kubernetes-source.ts';
import { Reflector, type WatchEventType } from '../src/sources/kubernetes/reflector.ts';
import { EndpointStore } from '../src/store/endpoint-store.ts';
import { endpointSlice, FakeApiServer, service } from './support/fake-apiserver/index.ts';
import { FakeClock, type PendingTimer } from './support/fake-clock.ts';

const SLICES = '/apis/discovery.k8s.io/v1/endpointslices';
/** The reflector's own defaults: every other timer it sets is a backoff sleep. */
const LIST_TIMEOUT_MS = 60_000;
const IDLE_TIMEOUT_MS = 90_000;
const isSleep = (t: PendingTimer): boolean => t.delayMs !== LIST_TIMEOUT_MS && t.delayMs !== IDLE_TIMEOUT_MS;
/** Just below 1: Math.random's largest values. */
const TOP = 1 - 2 ** -52;

interface LogLine {
  readonly level: number;
  readonly msg: string;
  readonly [field: string]: unknown;
  /** Fake-clock time the line was written at. */
  readonly at: number;
}

/** A logger at info whose lines land in `lines`, stamped with the fake clock's time. */
function captureLogs(clock: FakeClock): { logger: ReturnType<typeof createLogger>; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const text of chunk.toString().split('\n'))
        if (text !== '') lines.push({ ...(JSON.parse(text) as LogLine), at: clock.now() });
      done();
    },
  });
  return { logger: createLogger('info', sink), lines };
}

/** Values for random(), in order; the last one repeats. */
function randomFrom(values: readonly number[]): () => number {
  let i = 0;
  return () => values[Math.min(i++, values.length - 1)] ?? 0;
}

/** The real client, counting the watches it opens, so that a test can tell when the latest one is open. */
class CountingKubeClient extends KubeClient {
  watches = 0;
  override watch(...args: Parameters<KubeClient['watch']>): ReturnType<KubeClient['watch']> {
    this.watches += 1;
    return super.watch(...args);
  }
}

interface Harness {
  readonly api: FakeApiServer;
  readonly client: CountingKubeClient;
  readonly clock: FakeClock;
  readonly reflector: Reflector;
  readonly lines: LogLine[];
  readonly replaces: Array<readonly unknown[]>;
  readonly applied: WatchEventType[];
  readonly relists: string[];
  /** Waits until the reflector is sleeping its backoff (its only timer), and returns the sleep's delay. */
  backoff(): Promise<number>;
  /** Runs the backoff sleep: the next attempt starts. */
  wake(): void;
  requests(verb: 'list' | 'watch'): number;
  stop(): Promise<void>;
}

async function startReflector(
  options: { random?: () => number; token?: string; apiDown?: boolean } = {},
  setup: (api: FakeApiServer) => void = () => {},
): Promise<Harness> {
  const api = await FakeApiServer.start({ tokens: { good: {} } });
  setup(api);
  if (options.apiDown === true) await api.stopListening();
  const config = new KubeConfig();
  config.loadFromString(api.kubeconfigYaml(options.token ?? 'good'));
  const clock = new FakeClock();
  const { logger, lines } = captureLogs(clock);
  const replaces: Array<readonly unknown[]> = [];
  const applied: WatchEventType[] = [];
  const relists: string[] = [];
  const client = new CountingKubeClient(config);
  const reflector = new Reflector({
    client,
    path: SLICES,
    logger,
    clock,
    random: options.random ?? (() => 0),
    handler: {
      replace: (items) => replaces.push(items),
      apply: (type) => applied.push(type),
    },
    onRelist: (reason) => relists.push(reason),
  });
  void reflector.start();
  const sleeping = async (): Promise<PendingTimer> => {
    const [timer] = await clock.until((p) => p.length === 1 && isSleep(p[0]!), 'a backoff sleep');
    return timer!;
  };
  return {
    api,
    client,
    clock,
    reflector,
    lines,
    replaces,
    applied,
    relists,
    backoff: async () => (await sleeping()).delayMs,
    wake: () => {
      const [next] = clock.pending();
      assert.ok(next !== undefined && isSleep(next), 'the reflector is sleeping its backoff');
      clock.advanceToNext();
    },
    requests: (verb) => api.requests.filter((r) => r.verb === verb && r.resource === 'endpointslices').length,
    stop: async () => {
      await reflector.stop();
      await api.close();
    },
  };
}

/** Waits until the reflector watches: its only timer is the idle timer, and the API server answered its last watch. */
async function watching(h: Harness): Promise<PendingTimer> {
  const [idle] = await h.clock.until(
    (p) => p.length === 1 && p[0]!.delayMs === IDLE_TIMEOUT_MS,
    'the idle-watch timer',
  );
  await h.api.waitFor(
    () => {
      const watches = h.api.requests.filter((r) => r.verb === 'watch');
      return watches.length === h.client.watches && watches.at(-1)?.status === 200 && h.api.openWatches >= 1;
    },
    5000,
    'the watch open',
  );
  return idle!;
}

/** The delays of the next `count` backoff sleeps, each run as soon as it is set. */
async function schedule(h: Harness, count: number): Promise<number[]> {
  const delays: number[] = [];
  for (let i = 0; i < count; i += 1) {
    delays.push(await h.backoff());
    h.wake();
  }
  return delays;
}

/** What the reflector must wait before retry n (1-based) for `random` = r: a point in [cap/2, cap]. */
/** The documented bounds (docs/kubernetes-source.md), written out: the jittered delay for `random` = r under `cap`. */
const jittered = (cap: number, r: number): number => cap / 2 + (r * cap) / 2;
const NETWORK_CAPS = [100, 200, 400, 800, 1000, 1000, 1000];
const SERVER_CAPS = [250, 500, 1000, 1600, 1600, 1600];

const harnesses: Harness[] = [];
async function harness(...args: Parameters<typeof startReflector>): Promise<Harness> {
  const h = await startReflector(...args);
  harnesses.push(h);
  return h;
}
after(async () => {
  await Promise.all(harnesses.map((h) => h.stop()));
});

describe('backoff: the delay rule', () => {
  it('is a point in [cap/2, cap] for any random value, the cap doubling from initialMs to maxMs', () => {
    fc.assert(
      fc.property(
        fc.constantFrom<FailureKind>('network', 'server', 'auth'),
        fc.integer({ min: 1, max: 40 }),
        fc.double({ min: 0, max: TOP, noNaN: true }),
        (kind, attempt, r) => {
          const policy = DEFAULT_BACKOFF[kind];
          const cap = Math.min(policy.maxMs, policy.initialMs * 2 ** (attempt - 1));
          const delay = retryDelay(policy, attempt, () => r);
          assert.ok(
            delay >= cap / 2 && delay <= cap,
            `${kind} #${attempt} r=${r}: ${delay} ∉ [${cap / 2}, ${cap}]`,
          );
          assert.ok(cap <= policy.maxMs);
        },
      ),
    );
  });

  it('waits at least a Retry-After the server gave, whatever the jitter', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 20 }),
        fc.double({ min: 0, max: TOP, noNaN: true }),
        (attempt, r) => {
          assert.equal(
            retryDelay(DEFAULT_BACKOFF.server, attempt, () => r, 5000),
            5000,
          );
        },
      ),
    );
  });
});

describe('Reflector: backoff schedule per kind of failure', () => {
  it('retries a refused connection after 50–100 ms, doubling to at most 0.5–1 s, jittered inside [cap/2, cap]', async () => {
    const randoms = [0, TOP, 0.5, 0, TOP, 0.25, 0.75];
    const h = await harness({ random: randomFrom(randoms), apiDown: true });
    const delays = await schedule(h, randoms.length);
    assert.deepEqual(
      delays,
      randoms.map((r, i) => jittered(NETWORK_CAPS[i]!, r)),
    );
    await h.backoff(); // the eighth attempt failed too
    assert.match(h.reflector.status().error ?? '', /ECONNREFUSED/);
    assert.equal(h.reflector.status().listed, false);
    await h.api.resumeListening();
    h.wake();
    await watching(h);
    assert.equal(h.replaces.length, 1, 'listed once the API server listens again');
    assert.equal(h.reflector.status().error, undefined);
    // The first attempt and the seven schedule() ran failed (eight in all), the ninth listed.
    assert.deepEqual(h.relists, ['initial', ...Array<string>(8).fill('retry')]);
  });

  it('retries 5xx after 125–250 ms, doubling to at most 0.8–1.6 s', async () => {
    const randoms = [0, TOP, 0, TOP, 0.5, 0];
    const h = await harness({ random: randomFrom(randoms) }, (api) =>
      api.failNext({ verb: 'list', resource: 'endpointslices', status: 503, times: randoms.length }),
    );
    assert.deepEqual(
      await schedule(h, randoms.length),
      randoms.map((r, i) => jittered(SERVER_CAPS[i]!, r)),
    );
    assert.match(h.reflector.status().error ?? '', /^HTTP 503/);
    await watching(h);
    assert.equal(h.requests('list'), randoms.length + 1);
  });

  it('waits the Retry-After of a 429, and not a moment less', async () => {
    const h = await harness({ random: () => 0 }, (api) =>
      api.failNext({ verb: 'list', resource: 'endpointslices', status: 429, times: 1, retryAfterSeconds: 5 }),
    );
    assert.equal(await h.backoff(), 5000);
    h.clock.advance(4999);
    const [still] = h.clock.pending();
    assert.equal(still?.dueAt, h.clock.now() + 1, 'still sleeping 1 ms before the Retry-After');
    assert.equal(h.requests('list'), 1, 'no retry before it');
    h.clock.advance(1);
    await watching(h);
    assert.equal(h.requests('list'), 2);
    const warning = h.lines.find((l) => l.level === 40);
    assert.match(warning?.msg ?? '', /retrying in 5 s/);
  });

  it('retries 401/403 slowly — 1–2 s doubling to at most 15–30 s — logged at error level once a minute', async () => {
    const h = await harness({ token: 'limited', random: () => 0 }, (api) =>
      api.setTokens({ limited: { resources: ['services'] } }),
    );
    const delays = await schedule(h, 7);
    assert.deepEqual(delays, [1000, 2000, 4000, 8000, 15_000, 15_000, 15_000]);
    assert.match(h.reflector.status().error ?? '', /^HTTP 403: .*forbidden/);
    // 7 attempts over 45 s, then the 8th at 60 s: the first is logged, and the one a minute later.
    await h.backoff();
    const errors = h.lines.filter((l) => l.level === 50);
    assert.equal(errors.length, 2, errors.map((l) => l.msg).join('\n'));
    assert.match(
      errors[0]!.msg,
      /refuses endpointd .*: no state yet; retrying in 1 s, then backing off to at most 30 s/,
    );
    assert.match(
      errors[1]!.msg,
      /still failing after 60 s \(7 attempts since the last report\): no state yet/,
    );
    h.api.setTokens({ limited: {} });
    h.wake();
    await watching(h);
    const recovered = h.lines.filter((l) => /answers again/.test(l.msg));
    assert.equal(recovered.length, 1);
    assert.equal(recovered[0]?.level, 30);
    assert.match(recovered[0].msg, /after 75 s of failures \(8 failed attempts\)/);
  });
});

describe('Reflector: incidents, watches and lists', () => {
  it('starts the backoff afresh after a watch that delivered, whether it then ended or failed', async () => {
    const h = await harness({ random: () => 0 }, (api) =>
      api.create(
        'endpointslices',
        endpointSlice({ service: 'web', namespace: 'shop', endpoints: [{ addresses: '10.0.0.1' }] }),
      ),
    );
    await watching(h);
    // Incident 1: three 500s on the re-watch after a watch that delivered an event and ended.
    h.api.failNext({ verb: 'watch', resource: 'endpointslices', status: 500, times: 3 });
    h.api.create(
      'endpointslices',
      endpointSlice({ service: 'web', namespace: 'shop', name: 'b', endpoints: [{ addresses: '10.0.0.2' }] }),
    );
    await h.api.waitFor(() => h.applied.length === 1, 5000, 'the ADDED event');
    h.api.endAllWatches();
    assert.deepEqual(await schedule(h, 3), [125, 250, 500]);
    await watching(h);
    // Incident 2: the watch delivers, then its socket is cut: back to the first step of the network policy.
    h.api.create(
      'endpointslices',
      endpointSlice({ service: 'web', namespace: 'shop', name: 'c', endpoints: [{ addresses: '10.0.0.3' }] }),
    );
    await h.api.waitFor(() => h.applied.length === 2, 5000, 'the second ADDED event');
    h.api.destroyWatchSockets();
    assert.equal(await h.backoff(), 50);
    h.wake();
    await watching(h);
    assert.equal(h.requests('list'), 1, 'resumed from the resourceVersion each time: no relist');
  });

  it('reopens a watch that sent nothing for the idle timeout (90 s), not before, each event restarting the timer', async () => {
    const h = await harness();
    const first = await watching(h);
    h.clock.advance(IDLE_TIMEOUT_MS - 1000);
    h.api.create(
      'endpointslices',
      endpointSlice({ service: 'web', namespace: 'shop', endpoints: [{ addresses: '10.0.0.1' }] }),
    );
    const [restarted] = await h.clock.until(
      (p) => p.length === 1 && p[0]!.id !== first.id,
      'the idle timer restarted by the event',
    );
    assert.equal(restarted!.dueAt, h.clock.now() + IDLE_TIMEOUT_MS);
    const watchesBefore = h.requests('watch');
    h.clock.advance(IDLE_TIMEOUT_MS - 1);
    assert.equal(
      h.clock.pending()[0]?.id,
      restarted!.id,
      'the watch is still trusted 1 ms before the timeout',
    );
    assert.equal(h.requests('watch'), watchesBefore);
    h.clock.advance(1);
    assert.equal(await h.backoff(), 50, 'a dead connection is a network failure, retried fast');
    assert.match(h.reflector.status().error ?? '', /no data for 90000 ms/);
    h.wake();
    await watching(h);
    assert.equal(h.requests('watch'), watchesBefore + 1);
    assert.equal(h.requests('list'), 1, 'reopened from the last resourceVersion, without a relist');
    const reopened = h.api.requests.filter((r) => r.verb === 'watch').at(-1);
    assert.equal(reopened?.query.get('resourceVersion'), String(h.api.resourceVersion));
  });

  it('gives up a list that has not completed after the list timeout (60 s), and retries it', async () => {
    const h = await harness({}, (api) =>
      api.stall({ verb: 'list', resource: 'endpointslices', phase: 'before-headers' }),
    );
    await h.api.waitForRequest((r) => r.verb === 'list');
    const [timer] = await h.clock.until(
      (p) => p.length === 1 && p[0]!.delayMs === LIST_TIMEOUT_MS,
      'the list deadline',
    );
    h.clock.advance(LIST_TIMEOUT_MS - 1);
    assert.equal(h.clock.pending()[0]?.id, timer!.id, 'still waiting 1 ms before the deadline');
    h.clock.advance(1);
    assert.equal(await h.backoff(), 50);
    assert.match(h.reflector.status().error ?? '', /did not complete within 60000 ms/);
    h.api.unstall();
    h.wake();
    await watching(h);
    assert.equal(h.replaces.length, 1);
  });

  it('relists at once on a 410, and backs off like server trouble when 410s come in a row', async () => {
    const h = await harness({ random: () => 0 });
    await watching(h);
    h.api.failNext({ verb: 'watch', resource: 'endpointslices', status: 410, times: 3 });
    h.api.sendExpiredOnWatches();
    // The ERROR event: relisted without any wait; then three HTTP 410s on the watch, each after a relist.
    assert.deepEqual(await schedule(h, 3), [125, 250, 500]);
    await watching(h);
    assert.deepEqual(h.relists, ['initial', 'expired', 'expired', 'expired', 'expired']);
    assert.equal(h.replaces.length, 5);
    assert.equal(h.requests('list'), 5);
    assert.equal(h.lines.filter((l) => /410 Gone/.test(l.msg)).length, 4);
  });
});

describe('Kubernetes source: failure log over simulated minutes', () => {
  it('logs an unreachable API server once, then about once a minute, "no state yet"; its recovery once at info', async () => {
    const api = await FakeApiServer.start();
    api.create('services', service({ name: 'web', namespace: 'shop' }));
    await api.stopListening();
    const config = new KubeConfig();
    config.loadFromString(api.kubeconfigYaml());
    const clock = new FakeClock();
    const { logger, lines } = captureLogs(clock);
    const source = new KubernetesSource({
      config,
      store: new EndpointStore({ encodedCacheBytes: 1 << 20 }),
      logger,
      namespaces: [],
      resource: 'endpointslices',
      reflector: { clock },
    });
    const started = source.start();
    const bothSleeping = (p: PendingTimer[]): boolean => p.length === 2 && p.every(isSleep);
    const runFor = async (ms: number): Promise<number> => {
      const until = clock.now() + ms;
      let attempts = 0;
      while (clock.now() < until) {
        await clock.until(bothSleeping, 'both reflectors sleeping their backoff');
        clock.advanceToNext();
        attempts += 1;
      }
      return attempts;
    };
    try {
      const t0 = clock.now();
      const minutes = 5;
      const attempts = await runFor(minutes * 60_000);
      const warnings = lines.filter((l) => l.level === 40);
      // Each of the two reflectors retries at least once a second.
      assert.ok(attempts >= 2 * minutes * 60 - 2, `${attempts} attempts in ${minutes} simulated minutes`);
      assert.ok(
        warnings.length >= minutes && warnings.length <= minutes + 1,
        `${warnings.length} warnings in ${minutes} simulated minutes:\n${warnings.map((l) => l.msg).join('\n')}`,
      );
      assert.equal(warnings[0]?.at, t0, 'the first failure is logged at once');
      assert.match(
        warnings[0].msg,
        /^list\/watch failed: no state yet; retrying in 0\.\d s, then backing off to at most 1 s$/,
      );
      assert.match(String(warnings[0].error), /ECONNREFUSED/);
      for (const [i, w] of warnings.entries()) {
        assert.match(w.msg, /no state yet/);
        if (i > 0) {
          assert.ok(w.at - warnings[i - 1]!.at >= 60_000, 'at most once a minute');
          assert.ok(w.at - warnings[i - 1]!.at <= 62_000, 'about once a minute');
          assert.match(w.msg, /^still failing after \d+ s \(\d+ attempts since the last report\)/);
          assert.equal((w.failingPaths as string[]).length, 2, 'one line for both collections');
        }
      }
      // A different failure is news: logged at once.
      api.failNext({ verb: 'any', status: 503, times: 2 });
      await api.resumeListening();
      clock.advanceToNext();
      await clock.until(bothSleeping, 'a backoff after the 503');
      assert.match(lines.at(-1)?.msg ?? '', /^list\/watch failed: no state yet; retrying in/);
      assert.match(String(lines.at(-1)?.error), /HTTP 503/);
      // Then the API server answers: the recovery, once, and the sync.
      while (clock.pending().some(isSleep)) {
        clock.advanceToNext();
        // Settled: each reflector either sleeps its backoff or watches (no list in flight).
        await clock.until(
          (p) => p.length === 2 && p.every((t) => t.delayMs !== LIST_TIMEOUT_MS),
          'both reflectors sleeping or watching',
        );
      }
      await started;
      assert.equal(source.status().synced, true);
      const recoveries = lines.filter((l) => /answers again/.test(l.msg));
      assert.equal(recoveries.length, 1, recoveries.map((l) => l.msg).join('\n'));
      assert.equal(recoveries[0]?.level, 30);
      assert.ok(
        lines.at(-1)?.msg === 'Kubernetes synced',
        'the recovery came before the sync, and nothing after',
      );
      // Now there is a state: a failure says what is served and since when.
      const syncedAt = new Date(source.status().lastSyncAt ?? 0).toISOString();
      await api.stopListening();
      await clock.until((p) => p.length === 2 && p.every(isSleep), 'both reflectors failing again');
      const stale = lines.filter((l) => l.level === 40).at(-1);
      assert.match(
        stale?.msg ?? '',
        new RegExp(`serving last known state from ${syncedAt.replace(/\./g, '\\.')}`),
      );
      assert.equal(stale?.servingStateFrom, syncedAt);
    } finally {
      await source.stop();
      await api.close();
    }
  });
});

describe('failure log: what counts as the same failure', () => {
  const report = (path: string, error: Error, attempt = 1): FailureReport => ({
    path,
    kind: error instanceof KubeApiError && error.status === 403 ? 'auth' : 'network',
    signature: failureSignature(error, path),
    error: error.message,
    attempt,
    retryInMs: 100,
    maxRetryMs: 1000,
  });
  const refused = (): Error => new TypeError('fetch failed', { cause: { code: 'ECONNREFUSED' } });

  it('folds a failure that comes back within a minute of its last line into that incident (flapping)', () => {
    const clock = new FakeClock();
    const { logger, lines } = captureLogs(clock);
    const log = new FailureLog({ logger, clock, servingStateFrom: () => undefined });
    log.failed(report(SLICES, refused()));
    for (let flap = 0; flap < 20; flap += 1) {
      clock.advance(2000);
      log.recovered(SLICES);
      clock.advance(500);
      log.failed(report(SLICES, refused(), flap + 2));
    }
    // 20 flaps in 50 s: the failure, one recovery, and nothing else.
    assert.deepEqual(
      lines.map((l) => l.level),
      [40, 30],
    );
    clock.advance(10_000); // 60 s after the failure's line: the next one is told
    log.failed(report(SLICES, refused(), 30));
    assert.equal(lines.length, 3);
    assert.match(lines[2]!.msg, /^still failing after 60 s \(21 attempts since the last report\)/);
    log.recovered(SLICES);
    assert.equal(lines.at(-1)?.level, 30, 'and its end once more');
    clock.advance(60_000);
    log.failed(report(SLICES, refused()));
    assert.match(
      lines.at(-1)?.msg ?? '',
      /^list\/watch failed: no state yet/,
      'a minute later: a new incident',
    );
  });

  it('tells each collection refused (403) apart, and one unreachable API server as one failure', () => {
    const clock = new FakeClock();
    const { logger, lines } = captureLogs(clock);
    const log = new FailureLog({ logger, clock, servingStateFrom: () => undefined });
    const services = '/api/v1/services';
    log.failed(report(SLICES, refused()));
    log.failed(report(services, refused()));
    assert.equal(lines.length, 1, 'the same refused connection for both collections');
    const forbidden = (what: string): Error => new KubeApiError(403, `${what} is forbidden`, 'Forbidden');
    log.failed(report(SLICES, forbidden('endpointslices')));
    log.failed(report(services, forbidden('services')));
    assert.deepEqual(
      lines.slice(1).map((l) => [l.level, l.path]),
      [
        [50, SLICES],
        [50, services],
      ],
    );
  });
});
