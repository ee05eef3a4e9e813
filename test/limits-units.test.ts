// The pieces of the limits and of token authentication on their own, with time injected: token buckets, stream
// slots, rate parsing, the tokens file format, and the flags that configure them.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseCommandLine } from '../src/config/index.ts';
import { parseRate, RateLimiter } from '../src/limits/rate-limiter.ts';
import { StreamSlots } from '../src/limits/stream-slots.ts';
import { matchToken, parseTokensFile } from '../src/security/tokens-file.ts';

describe('RateLimiter', () => {
  it('allows the burst at once, then one request per 1/rate, per client, and says how long to wait', () => {
    let now = 1_000_000;
    const limiter = new RateLimiter({ perSecond: 4, burst: 2 }, { now: () => now });
    assert.deepEqual([limiter.take('a'), limiter.take('a')], [0, 0]);
    assert.equal(limiter.take('a'), 250);
    assert.equal(limiter.take('b'), 0, 'another client has its own bucket');
    now += 100;
    assert.equal(limiter.take('a'), 150, 'a refusal takes nothing');
    now += 150;
    assert.equal(limiter.take('a'), 0);
    now += 10_000;
    assert.deepEqual(
      [limiter.take('a'), limiter.take('a'), limiter.take('a') > 0],
      [0, 0, true],
      'never above burst',
    );
  });

  it('parses N/s, N/m and off', () => {
    assert.equal(parseRate('50/s'), 50);
    assert.equal(parseRate('600/m'), 10);
    assert.equal(parseRate('7'), 7);
    assert.equal(parseRate('off'), undefined);
    assert.equal(parseRate('0'), undefined);
    assert.ok(Number.isNaN(parseRate('fast')));
  });
});

describe('StreamSlots', () => {
  it('caps per client and in total, and frees a slot once however often it is released', () => {
    const slots = new StreamSlots({ total: 3, perClient: 2 });
    const a1 = slots.acquire('a');
    const a2 = slots.acquire('a');
    assert.deepEqual(slots.acquire('a'), { admitted: false, reason: 'too_many_client_streams', limit: 2 });
    assert.equal(slots.acquire('b').admitted, true);
    assert.deepEqual(slots.acquire('c'), { admitted: false, reason: 'too_many_streams', limit: 3 });
    assert.ok(a1.admitted && a2.admitted);
    a1.release();
    a1.release();
    assert.equal(slots.open, 2);
    assert.equal(slots.acquire('c').admitted, true);
    assert.equal(new StreamSlots({ total: 0, perClient: 0 }).acquire('x').admitted, true, '0 = no cap');
  });
});

describe('tokens file', () => {
  it('reads tokens with optional names, skipping comments and blank lines, and matches only exact tokens', () => {
    const entries = parseTokensFile('# ops\nsecret-1,alice\n\n  secret-2  \n', 'tokens');
    assert.equal(entries.length, 2);
    assert.equal(matchToken(entries, 'secret-1'), 'alice');
    assert.match(matchToken(entries, 'secret-2') ?? '', /^token-[0-9a-f]{8}$/);
    assert.equal(matchToken(entries, 'secret-'), undefined);
    assert.equal(matchToken(entries, 'secret-1 '), undefined);
  });

  it('names the line of a malformed token', () => {
    assert.throws(() => parseTokensFile('ok\nnot ok\n', '/etc/tokens'), /\/etc\/tokens:2:/);
  });
});

describe('security and limits flags', () => {
  it('are off by default: no TLS, no authentication, no rate limit; caps and timeouts have production defaults', () => {
    const parsed = parseCommandLine([], {});
    assert.equal(parsed.kind, 'run');
    if (parsed.kind !== 'run') return;
    const { security, limits } = parsed.config;
    assert.equal(security.tls, undefined);
    assert.deepEqual(security.auth, {
      tokensFile: undefined,
      tokenReview: false,
      openHealth: true,
      openMetrics: false,
    });
    assert.equal(limits.lookupRate, undefined);
    assert.deepEqual(limits.restStreams, { total: 10_000, perClient: 1000 });
    assert.deepEqual(limits.grpcStreams, { total: 10_000, perClient: 1000 });
    assert.deepEqual(limits.grpcUnauthenticatedStreams, { total: 100, perClient: 1000 });
    assert.deepEqual(limits.failedAuthRate, { perSecond: 0.5, burst: 10 });
    assert.equal(limits.xdsMaxNamesPerStream, 10_000);
    assert.equal(parsed.config.healthPort, undefined);
    assert.equal(parsed.config.healthPortMetrics, false);
    assert.deepEqual(limits.http, {
      maxHeaderBytes: 16 * 1024,
      headersTimeoutMs: 10_000,
      requestTimeoutMs: 30_000,
      keepAliveTimeoutMs: 65_000,
      idleTimeoutMs: 120_000,
    });
  });

  it('read TLS, authentication and limits from flags and variables', () => {
    const parsed = parseCommandLine(
      [
        '--tls-cert-file=/c.pem',
        '--tls-key-file=/k.pem',
        '--tls-client-ca-file=/ca.pem',
        '--tls-client-auth=optional',
        '--auth-tokens-file=/tokens',
        '--auth-open-metrics=true',
        '--rate-limit-lookups=600/m',
        '--rest-max-streams=0',
      ],
      { ENDPOINTD_AUTH_TOKEN_REVIEW: 'true', ENDPOINTD_RATE_LIMIT_BURST: '20' },
    );
    assert.equal(parsed.kind, 'run');
    if (parsed.kind !== 'run') return;
    assert.deepEqual(parsed.config.security.tls, {
      certFile: '/c.pem',
      keyFile: '/k.pem',
      clientCaFile: '/ca.pem',
      clientAuth: 'optional',
    });
    assert.equal(parsed.config.security.auth.tokenReview, true);
    assert.equal(parsed.config.security.auth.openMetrics, true);
    assert.deepEqual(parsed.config.limits.lookupRate, { perSecond: 10, burst: 20 });
    assert.equal(parsed.config.limits.restStreams.total, 0);
  });

  it('refuse inconsistent or malformed values, naming each', () => {
    const parsed = parseCommandLine(
      [
        '--tls-cert-file=/c.pem',
        '--tls-client-auth=maybe',
        '--auth-open-health=yes',
        '--rate-limit-lookups=fast',
        '--http-idle-timeout=10s',
        '--heartbeat-interval=15s',
      ],
      {},
    );
    assert.equal(parsed.kind, 'invalid');
    if (parsed.kind !== 'invalid') return;
    const text = parsed.problems.join('\n');
    assert.match(text, /--tls-cert-file .*needs --tls-key-file too/);
    assert.match(text, /--tls-client-auth .*must be require or optional/);
    assert.match(text, /--auth-open-health .*must be true or false/);
    assert.match(text, /--rate-limit-lookups .*must be off or a rate/);
    assert.match(text, /--http-idle-timeout .*must exceed --heartbeat-interval/);
  });

  it('read the new bounds: health port, unauthenticated streams, xDS names, failed attempts', () => {
    const parsed = parseCommandLine(
      [
        '--health-port=8081',
        '--health-port-metrics=true',
        '--grpc-max-unauthenticated-streams=5',
        '--xds-max-names-per-stream=500',
      ],
      { ENDPOINTD_AUTH_MAX_FAILURES: '6/s' },
    );
    assert.equal(parsed.kind, 'run', parsed.kind === 'invalid' ? parsed.problems.join('\n') : '');
    if (parsed.kind !== 'run') return;
    assert.equal(parsed.config.healthPort, 8081);
    assert.equal(parsed.config.healthPortMetrics, true);
    assert.equal(parsed.config.limits.grpcUnauthenticatedStreams.total, 5);
    assert.equal(parsed.config.limits.xdsMaxNamesPerStream, 500);
    assert.deepEqual(parsed.config.limits.failedAuthRate, { perSecond: 6, burst: 10 });
    const bad = parseCommandLine(['--xds-max-names-per-stream=0', '--auth-max-failures=off'], {});
    assert.equal(bad.kind, 'invalid');
    const text = bad.kind === 'invalid' ? bad.problems.join('\n') : '';
    assert.match(text, /--xds-max-names-per-stream .*whole number from 1/);
    assert.match(text, /--auth-max-failures .*must be a rate/);
  });

  it('refuse a bare number where a duration goes, from a flag or a variable, saying to add the unit', () => {
    for (const [args, env] of [
      [['--heartbeat-interval', '5'], {}],
      [[], { ENDPOINTD_HEARTBEAT_INTERVAL: '5' }],
      [['--heartbeat-interval=2.5'], {}],
    ] as const) {
      const parsed = parseCommandLine([...args], env);
      assert.equal(parsed.kind, 'invalid', JSON.stringify(args));
      assert.match(
        parsed.kind === 'invalid' ? parsed.problems.join('\n') : '',
        /--heartbeat-interval \(ENDPOINTD_HEARTBEAT_INTERVAL\): must be a duration with its unit \(ms, s, m, h\), e\.g\. (5|2\.5)s; a bare number is ambiguous/,
      );
    }
    // Go's own exception: a bare 0 is zero.
    const zero = parseCommandLine(['--shutdown-delay', '0'], {});
    assert.equal(zero.kind === 'run' && zero.config.shutdownDelayMs, 0);
    const unit = parseCommandLine(['--heartbeat-interval', '5s'], {});
    assert.equal(unit.kind === 'run' && unit.config.heartbeatIntervalMs, 5000);
  });
});
