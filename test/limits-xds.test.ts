// Attacks on the xDS door from outside, through real ADS streams on loopback: a delta stream that keeps
// subscribing (20 requests of 50,000 names), its SotW twin, a stream that creeps up to the bound, and NACK floods.
// Each is refused or absorbed with bounded memory and log, with an exact count, while honest streams are served.
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import fc from 'fast-check';
import { pino } from 'pino';
import { DEFAULT_MAX_NAMES_PER_STREAM } from '../src/api/xds/index.ts';
import { VersionSet } from '../src/api/xds/version-set.ts';
import { TYPE_URL } from '../src/api/xds/wire.ts';
import { LogLines } from './support/log-lines.ts';
import { retainedBytes } from './support/memory.ts';
import {
  eventually,
  newStore,
  rawDelta,
  rawSotw,
  service,
  SOURCE,
  startXdsServer,
  type RawStream,
  type TestXdsServer,
  endpointAt,
} from './support/xds-harness.ts';

const NODE = { id: 'attacker', locality: {} };
/** `count` distinct, well-formed resource names of Services that do not exist, from `from` on. */
const bogusNames = (count: number, from = 0, prefix = 'x'): string[] =>
  Array.from({ length: count }, (_, i) => `${prefix}${from + i}.nowhere:8080`);

async function endedWith(
  stream: { readonly error: grpc.ServiceError | undefined },
  timeoutMs = 10_000,
): Promise<grpc.ServiceError> {
  await eventually('the stream ends with a status', timeoutMs, () => stream.error !== undefined);
  return stream.error as grpc.ServiceError;
}

/** A well-behaved SotW client gets its assignment: the server is still serving. */
async function honestClientServed(port: number): Promise<void> {
  const ads = rawSotw(port);
  try {
    ads.send({ node: NODE, type_url: TYPE_URL.endpoint, resource_names: ['web.shop:8080'] });
    const response = await ads.next(5000);
    assert.equal(response.resources.length, 1);
  } finally {
    ads.close();
  }
}

describe('xDS: names per stream are bounded', () => {
  const store = newStore();
  let xds: TestXdsServer;
  let small: TestXdsServer;
  before(async () => {
    store.upsert(SOURCE, service('shop', 'web', [endpointAt('10.0.0.1')]));
    xds = await startXdsServer({ store, instanceId: 'bound' });
    small = await startXdsServer({ store, instanceId: 'small', maxNamesPerStream: 100 });
  });
  after(async () => {
    await xds.stop();
    await small.stop();
  });

  it('refuses the 20 × 50,000-name delta attack with RESOURCE_EXHAUSTED, in bounded memory', async () => {
    await honestClientServed(xds.port); // loads the client's protos before the baseline is taken
    const baseline = retainedBytes();
    // In a function of its own, so that the attacker's call (holding its 20 MB of writes) can be collected.
    const attack = async (): Promise<grpc.ServiceError> => {
      const ads = rawDelta(xds.port);
      for (let i = 0; i < 20; i += 1) {
        ads.send({
          node: NODE,
          type_url: TYPE_URL.endpoint,
          resource_names_subscribe: bogusNames(50_000, i * 50_000),
        });
      }
      const error = await endedWith(ads, 30_000);
      ads.close();
      return error;
    };
    const error = await attack();
    assert.equal(error.code, grpc.status.RESOURCE_EXHAUSTED);
    assert.match(error.details, /more than the 10000 allowed per stream/);
    assert.match(error.details, /--xds-max-names-per-stream/);
    await eventually('the refused stream is gone', 5000, () => xds.plane.stats().deltaStreams === 0);
    assert.equal(xds.plane.stats().watchedServices, 0, 'nothing of the refused subscription is kept');
    // Unbounded, this attack took the server from 131 MB to 1.16 GB. The client's own buffered writes (20 MB, in
    // this same process) are let go once its call is closed.
    let grownMiB = Number.POSITIVE_INFINITY;
    await eventually('retained memory settles', 5000, () => {
      grownMiB = (retainedBytes() - baseline) / 2 ** 20;
      return grownMiB < 10;
    }).catch(() => assert.fail(`retained memory grew by ${grownMiB.toFixed(1)} MiB`));
    await honestClientServed(xds.port);
  });

  it('refuses the same attack over state of the world', async () => {
    const ads = rawSotw(xds.port);
    ads.send({ node: NODE, type_url: TYPE_URL.endpoint, resource_names: bogusNames(50_000) });
    const error = await endedWith(ads);
    ads.close();
    assert.equal(error.code, grpc.status.RESOURCE_EXHAUSTED);
    assert.match(error.details, /50000 resource names, more than the 10000 allowed/);
    await honestClientServed(xds.port);
  });

  it("counts a delta reconnect's initial versions only beyond its own names and its wildcard", async () => {
    const many = newStore();
    for (let i = 0; i < 8; i++)
      many.upsert(SOURCE, service('shop', `s${i}`, [endpointAt(`10.0.1.${i + 1}`)]));
    const tiny = await startXdsServer({ store: many, instanceId: 'tiny', maxNamesPerStream: 5 });
    const versionsOf = (
      resources: ReadonlyArray<{ name: string; version: string }>,
    ): Record<string, string> => Object.fromEntries(resources.map((r) => [r.name, r.version]));
    try {
      // A wildcard CDS stream gets all 8 Clusters, more than 5 names: a wildcard is bounded by the catalog.
      const first = rawDelta(tiny.port);
      first.send({ node: NODE, type_url: TYPE_URL.cluster, resource_names_subscribe: [] });
      const clusters = (await first.next()).resources;
      assert.equal(clusters.length, 8);
      first.close();
      // Reconnecting, it says it holds them (as Envoy does): served, with nothing to send again.
      const again = rawDelta(tiny.port);
      again.send({
        node: NODE,
        type_url: TYPE_URL.cluster,
        resource_names_subscribe: [],
        initial_resource_versions: versionsOf(clusters),
      });
      assert.equal((await again.next()).resources.length, 0);
      assert.equal(again.error, undefined, 'a wildcard reconnect is not refused');
      again.close();
      // Four names subscribed with a version each: four names held, not eight.
      const four = clusters.slice(0, 4);
      const named = rawDelta(tiny.port);
      named.send({
        node: NODE,
        type_url: TYPE_URL.endpoint,
        resource_names_subscribe: four.map((r) => r.name),
        initial_resource_versions: versionsOf(four),
      });
      assert.equal((await named.next()).resources.length, 4);
      assert.equal(named.error, undefined, 'names with their own versions count once');
      named.close();
      // Versions of names it neither subscribes to nor covers are held until answered: they count.
      const stale = rawDelta(tiny.port);
      stale.send({
        node: NODE,
        type_url: TYPE_URL.endpoint,
        resource_names_subscribe: [four[0]?.name],
        initial_resource_versions: Object.fromEntries(bogusNames(5).map((name) => [name, 'v1'])),
      });
      const error = await endedWith(stale);
      stale.close();
      assert.equal(error.code, grpc.status.RESOURCE_EXHAUSTED);
      assert.match(error.details, /6 resource names, more than the 5 allowed/);
    } finally {
      await tiny.stop();
    }
  });

  it('serves a stream up to the bound, all types together, and refuses the request that crosses it', async () => {
    assert.equal(DEFAULT_MAX_NAMES_PER_STREAM, 10_000);
    for (const variant of ['sotw', 'delta'] as const) {
      const ads: Pick<RawStream<{ nonce: string }>, 'send' | 'next' | 'close' | 'error'> = variant === 'sotw'
        ? rawSotw(small.port)
        : rawDelta(small.port);
      const nonces = new Map<string, string>();
      const subscribe = (typeUrl: string, names: string[], all: string[]): void =>
        ads.send(
          variant === 'sotw'
            ? {
                node: NODE,
                type_url: typeUrl,
                resource_names: all,
                response_nonce: nonces.get(typeUrl) ?? '',
              }
            : { node: NODE, type_url: typeUrl, resource_names_subscribe: names },
        );
      // 60 cluster names + 40 assignment names = the bound: served.
      const clusters = bogusNames(60, 0, 'c');
      subscribe(TYPE_URL.cluster, clusters, clusters);
      nonces.set(TYPE_URL.cluster, (await ads.next()).nonce);
      const assignments = bogusNames(40, 0, 'e');
      subscribe(TYPE_URL.endpoint, assignments, assignments);
      nonces.set(TYPE_URL.endpoint, (await ads.next()).nonce);
      assert.equal(ads.error, undefined, `${variant}: a stream at the bound is served`);
      // One name more, on either type, ends it.
      const more = bogusNames(1, 40, 'e');
      subscribe(TYPE_URL.endpoint, more, [...assignments, ...more]);
      const error = await endedWith(ads);
      ads.close();
      assert.equal(error.code, grpc.status.RESOURCE_EXHAUSTED, variant);
      assert.match(error.details, /101 resource names, more than the 100 allowed per stream/, variant);
    }
  });

  it('counts names a delta request drops as free, once each however often it repeats them', async () => {
    const ads = rawDelta(small.port);
    const first = bogusNames(100);
    ads.send({ node: NODE, type_url: TYPE_URL.endpoint, resource_names_subscribe: first });
    await ads.next();
    // Swap 10 names for 10 others at the bound: allowed.
    ads.send({
      type_url: TYPE_URL.endpoint,
      resource_names_unsubscribe: first.slice(0, 10),
      resource_names_subscribe: bogusNames(10, 100),
    });
    const swapped = await ads.next();
    assert.deepEqual([...swapped.removed_resources].sort(), bogusNames(10, 100).sort());
    // Repeating one held name in the unsubscribe list does not buy room for more.
    const held = first[50] ?? '';
    ads.send({
      type_url: TYPE_URL.endpoint,
      resource_names_unsubscribe: Array.from({ length: 50 }, () => held),
      resource_names_subscribe: bogusNames(2, 200),
    });
    const error = await endedWith(ads);
    ads.close();
    assert.equal(error.code, grpc.status.RESOURCE_EXHAUSTED);
    assert.match(error.details, /101 resource names/);
  });

  it('answers each delta request with what it changed, whatever the stream already holds (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            subscribe: fc.uniqueArray(fc.nat(150), { maxLength: 30 }),
            unsubscribe: fc.uniqueArray(fc.nat(150), { maxLength: 30 }),
          }),
          { minLength: 1, maxLength: 8 },
        ),
        async (requests) => {
          const ads = rawDelta(small.port);
          try {
            // The first request names something: an empty one would be the legacy wildcard.
            ads.send({
              node: NODE,
              type_url: TYPE_URL.endpoint,
              resource_names_subscribe: ['x999.nowhere:8080'],
            });
            assert.deepEqual((await ads.next()).removed_resources, ['x999.nowhere:8080']);
            const held = new Set<number>([999]);
            for (const request of requests) {
              const added = request.subscribe.filter((n) => !held.has(n));
              const dropped = request.unsubscribe.filter((n) => held.has(n));
              const next = held.size + added.length - new Set(dropped).size;
              ads.send({
                node: NODE,
                type_url: TYPE_URL.endpoint,
                resource_names_subscribe: request.subscribe.map((n) => `x${n}.nowhere:8080`),
                resource_names_unsubscribe: request.unsubscribe.map((n) => `x${n}.nowhere:8080`),
              });
              if (next > 100) {
                const error = await endedWith(ads);
                assert.equal(error.code, grpc.status.RESOURCE_EXHAUSTED);
                return;
              }
              for (const n of added) held.add(n);
              for (const n of request.unsubscribe) held.delete(n);
              // Each name subscribed (and not dropped again) is reported absent — once per request that names it,
              // held already or not (the protocol: every name in resource_names_subscribe is answered); nothing
              // else is.
              const expected = [...new Set(request.subscribe)]
                .filter((n) => held.has(n))
                .map((n) => `x${n}.nowhere:8080`);
              if (expected.length === 0) continue;
              const response = await ads.next();
              assert.deepEqual([...response.removed_resources].sort(), expected.sort());
              assert.equal(response.resources.length, 0);
            }
            // A marker: a name of a Service that exists comes back as a resource, and only it.
            if (held.size + 1 > 100) return;
            ads.send({ type_url: TYPE_URL.endpoint, resource_names_subscribe: ['web.shop:8080'] });
            const marker = await ads.next();
            assert.deepEqual(
              marker.resources.map((r) => r.name),
              ['web.shop:8080'],
            );
            assert.deepEqual(marker.removed_resources, []);
          } finally {
            ads.close();
          }
        },
      ),
      { numRuns: 25 },
    );
  });
});

describe('xDS: version sets', () => {
  it('keep the version of what they hold up to date entry by entry, equal to one built from scratch (property)', () => {
    const op = fc.record({
      name: fc.constantFrom('a', 'b', 'c', 'd', 'e'),
      version: fc.option(fc.constantFrom('1', '2', '3'), { nil: undefined }),
    });
    fc.assert(
      fc.property(fc.array(op, { maxLength: 40 }), (ops) => {
        const incremental = new VersionSet('i');
        const model = new Map<string, string>();
        for (const { name, version } of ops) {
          const predicted = incremental.versionWith(version === undefined ? [] : [{ name, version }]);
          if (version === undefined) {
            incremental.delete(name);
            model.delete(name);
          } else {
            incremental.set(name, version);
            model.set(name, version);
            assert.equal(incremental.version(), predicted, 'versionWith predicts the version after set');
          }
        }
        const fresh = new VersionSet('i', [...model].reverse());
        assert.equal(incremental.version(), fresh.version());
        assert.equal(incremental.size, model.size);
      }),
    );
  });
});

describe('xDS: NACK floods', () => {
  it('logs a bounded line per client and type per period, however many streams NACK, counting every NACK', async () => {
    const store = newStore();
    store.upsert(SOURCE, service('shop', 'web', [endpointAt('10.0.0.1')]));
    let logged = '';
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        logged += chunk.toString();
        done();
      },
    });
    const xds = await startXdsServer({ store, instanceId: 'nack', logger: pino({ level: 'warn' }, sink) });
    try {
      const ads = rawSotw(xds.port);
      ads.send({ node: NODE, type_url: TYPE_URL.endpoint, resource_names: ['web.shop:8080'] });
      const response = await ads.next();
      const huge = 'n'.repeat(100_000);
      for (let i = 0; i < 200; i += 1) {
        ads.send({
          type_url: TYPE_URL.endpoint,
          resource_names: ['web.shop:8080'],
          response_nonce: response.nonce,
          version_info: '',
          error_detail: { code: 3, message: huge },
        });
      }
      await eventually('every NACK is counted', 10_000, () => xds.plane.stats().nacks === 200);
      // A marker after the flood: a change still reaches the client, so the flood was fully processed.
      store.upsert(SOURCE, service('shop', 'web', [endpointAt('10.0.0.2')]));
      await ads.next(5000);
      ads.close();
      // The same client NACKing on ten more streams adds no line within the period either.
      for (let i = 0; i < 10; i += 1) {
        const more = rawSotw(xds.port);
        more.send({ node: NODE, type_url: TYPE_URL.endpoint, resource_names: ['web.shop:8080'] });
        const first = await more.next();
        more.send({
          type_url: TYPE_URL.endpoint,
          resource_names: ['web.shop:8080'],
          response_nonce: first.nonce,
          error_detail: { code: 3, message: huge },
        });
        await eventually('the NACK is counted', 5000, () => xds.plane.stats().nacks === 201 + i);
        more.close();
      }
      assert.equal(xds.plane.stats().nacks, 210);
      const lines = logged.split('\n').filter((l) => l.includes('NACK'));
      assert.equal(lines.length, 1, 'one line per client and type per throttle period');
      assert.ok(logged.length < 4096, `${logged.length} bytes of log for 20 MB of NACK text`);
      assert.match(lines[0] ?? '', /100000 characters/);
    } finally {
      await xds.stop();
    }
  });

  it('warns of an unusable node locality once per client and fields wrong a period, whatever its node ids', async () => {
    const store = newStore();
    store.upsert(SOURCE, service('shop', 'web', [endpointAt('10.0.0.1')]));
    const sink = new LogLines();
    const xds = await startXdsServer({ store, instanceId: 'place', logger: pino({ level: 'warn' }, sink) });
    const open = async (id: string, locality: Record<string, string>): Promise<void> => {
      const ads = rawSotw(xds.port);
      ads.send({ node: { id, locality }, type_url: TYPE_URL.endpoint, resource_names: ['web.shop:8080'] });
      // Answered as if no locality were said.
      assert.equal((await ads.next(5000)).resources.length, 1);
      ads.close();
    };
    try {
      // One client looping, with the same id and with a new one each time: one line.
      for (let i = 0; i < 10; i += 1) await open('looping', { zone: 'Not A Zone!' });
      for (let i = 0; i < 10; i += 1) await open(`looping-${i}`, { zone: 'Not A Zone!' });
      // Another field wrong is another warning.
      await open('elsewhere', { sub_zone: 'Not_A_Node!' });
      const lines = sink.withMessage(/^xDS node locality ignored/);
      assert.deepEqual(
        lines.map((l) => (l.problems as Array<{ field: string }>).map((p) => p.field)),
        [['locality.zone'], ['locality.sub_zone']],
        'one line per client and fields wrong within the period',
      );
      assert.equal(lines[0]?.node, 'looping');
    } finally {
      await xds.stop();
    }
  });
});
