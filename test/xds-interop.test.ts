// Real @grpc/grpc-js-xds channels against endpointd's ADS on loopback: round robin over real gRPC backends, and
// every change of the store (scale, readiness, all gone, back) followed by the clients' calls within 1 s.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setImmediate } from 'node:timers/promises';
import * as grpc from '@grpc/grpc-js';
import { register } from '@grpc/grpc-js-xds';
import './support/xds-client-timers.ts';
import {
  callCode,
  eventually,
  newStore,
  service,
  SOURCE,
  startBackend,
  startBackends,
  startXdsServer,
  who,
  xdsChannel,
  type Backend,
  type EndpointSpec,
  type TestXdsServer,
} from './support/xds-harness.ts';

/** How long a change may take to reach the clients: a generous bound, so that a loaded machine cannot fail it.
 * How fast changes arrive is measured by the benchmark (npm run bench), not here. */
const BOUND_MS = 15_000;

register();

/** How many of `n` calls each backend answered. */
async function spread(client: grpc.Client, n: number): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const id = await who(client);
    counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  return counts;
}

/** `n` calls in a row answered only by `ids` (and each of them at least once). */
async function servedExactlyBy(client: grpc.Client, ids: readonly string[], n = 12): Promise<boolean> {
  const counts = await spread(client, n).catch(() => new Map<string, number>());
  return counts.size === ids.length && ids.every((id) => (counts.get(id) ?? 0) > 0);
}

describe('grpc-js-xds clients following endpointd', () => {
  const store = newStore();
  let xds: TestXdsServer;
  let backends: Backend[];
  const endpoints = (list: readonly Backend[], extra: Partial<EndpointSpec> = {}): EndpointSpec[] =>
    list.map((b) => ({ address: b.address, port: b.port, ...extra }));

  before(async () => {
    backends = await Promise.all([startBackends(3)]).then(([b]) => b);
    xds = await startXdsServer({ store });
  });
  after(async () => {
    await xds.stop();
    await Promise.all(backends.map((b) => b.stop()));
  });

  it('reaches every backend of xds:///{service}.{namespace}:{port} round robin', async () => {
    store.upsert(SOURCE, service('shop', 'web', endpoints(backends)));
    const [b1] = backends;
    assert.ok(b1 !== undefined);
    const client = xdsChannel(`xds:///web.shop:${b1.port}`, xds.port);
    try {
      await eventually('all three backends answer', BOUND_MS, () =>
        servedExactlyBy(client, ['b1', 'b2', 'b3']),
      );
      const counts = await spread(client, 30);
      assert.deepEqual([...counts.keys()].sort(), ['b1', 'b2', 'b3']);
      for (const [id, count] of counts) assert.ok(count >= 8 && count <= 12, `${id} answered ${count} of 30`);
    } finally {
      client.close();
    }
  });

  it('follows scale down, scale up and not-ready within 1 s', async () => {
    const [b1, b2, b3] = backends;
    assert.ok(b1 !== undefined && b2 !== undefined && b3 !== undefined);
    store.upsert(SOURCE, service('shop', 'scale', endpoints([b1, b2])));
    const client = xdsChannel(`xds:///scale.shop:${b1.port}`, xds.port);
    try {
      await eventually('b1 and b2 answer', BOUND_MS, () => servedExactlyBy(client, ['b1', 'b2']));

      store.upsert(SOURCE, service('shop', 'scale', endpoints([b1, b2, b3])));
      const up = await eventually('scaled up to b3', BOUND_MS, () =>
        servedExactlyBy(client, ['b1', 'b2', 'b3']),
      );

      store.upsert(SOURCE, service('shop', 'scale', endpoints([b2, b3])));
      const down = await eventually('scaled down: b1 gone', BOUND_MS, () =>
        servedExactlyBy(client, ['b2', 'b3']),
      );

      store.upsert(
        SOURCE,
        service('shop', 'scale', [...endpoints([b2]), ...endpoints([b3], { ready: false, serving: false })]),
      );
      const notReady = await eventually('b3 not ready: skipped', BOUND_MS, () =>
        servedExactlyBy(client, ['b2']),
      );

      // Terminating but still serving, while b2 is ready: DRAINING, which gRPC does not use.
      store.upsert(
        SOURCE,
        service('shop', 'scale', [
          ...endpoints([b2]),
          ...endpoints([b3], { ready: false, serving: true, terminating: true }),
        ]),
      );
      await eventually('b3 draining: skipped', BOUND_MS, () => servedExactlyBy(client, ['b2']));
      process.stderr.write(
        `followed: up ${up.toFixed(0)} ms, down ${down.toFixed(0)} ms, not ready ${notReady.toFixed(0)} ms\n`,
      );
    } finally {
      client.close();
    }
  });

  it('fails calls UNAVAILABLE when every endpoint is gone, and succeeds again when they are back', async () => {
    const [b1] = backends;
    assert.ok(b1 !== undefined);
    store.upsert(SOURCE, service('shop', 'gone', endpoints(backends)));
    const client = xdsChannel(`xds:///gone.shop:${b1.port}`, xds.port);
    try {
      await eventually('served', BOUND_MS, async () => (await callCode(client)) === grpc.status.OK);
      store.upsert(SOURCE, service('shop', 'gone', []));
      await eventually(
        'UNAVAILABLE',
        BOUND_MS,
        async () => (await callCode(client, 500)) === grpc.status.UNAVAILABLE,
      );
      store.upsert(SOURCE, service('shop', 'gone', endpoints(backends)));
      await eventually('served again', BOUND_MS, async () => (await callCode(client)) === grpc.status.OK);
      // A deleted Service: its assignment turns empty, the clients stop calling its old endpoints.
      store.delete(SOURCE, { namespace: 'shop', name: 'gone' });
      await eventually(
        'UNAVAILABLE once deleted',
        BOUND_MS,
        async () => (await callCode(client, 500)) === grpc.status.UNAVAILABLE,
      );
    } finally {
      client.close();
    }
  });

  it('is not broken by an endpoint listed twice (moving between slices)', async () => {
    const [b1, b2] = backends;
    assert.ok(b1 !== undefined && b2 !== undefined);
    store.upsert(
      SOURCE,
      service('shop', 'dup', [
        ...endpoints([b1, b2]),
        ...endpoints([b1]),
        ...endpoints([b2], { ready: false, serving: false }),
      ]),
    );
    const client = xdsChannel(`xds:///dup.shop:${b1.port}`, xds.port);
    try {
      await eventually('b1 and b2 answer', BOUND_MS, () => servedExactlyBy(client, ['b1', 'b2']));
    } finally {
      client.close();
    }
  });

  it('serves a port-less name: the only port, each endpoint on its own number', async () => {
    const odd = await Promise.all([startBackend('p1'), startBackend('p2')]);
    try {
      store.upsert(SOURCE, service('shop', 'named', endpoints(odd)));
      const client = xdsChannel('xds:///named.shop', xds.port);
      try {
        await eventually('p1 and p2 answer', BOUND_MS, () => servedExactlyBy(client, ['p1', 'p2']));
      } finally {
        client.close();
      }
    } finally {
      await Promise.all(odd.map((b) => b.stop()));
    }
  });

  it('serves 100 client channels at once', async () => {
    const [b1] = backends;
    assert.ok(b1 !== undefined);
    store.upsert(SOURCE, service('shop', 'many', endpoints(backends)));
    const clients = Array.from({ length: 100 }, () => xdsChannel(`xds:///many.shop:${b1.port}`, xds.port));
    try {
      // Every channel starts resolving before any deadline runs. Starting costs each channel ~60–100 ms of blocked
      // event loop (its own XdsClient loads the Envoy protos again: grpc-js-xds 1.14.1 xds-client.js,
      // loadAdsProtos() never keeps what it loaded), seconds for 100, which would otherwise count against the
      // deadlines of calls made at the same time — on a loaded machine, more than any of them.
      const started = performance.now();
      for (const client of clients) {
        client.getChannel().getConnectivityState(true);
        await setImmediate();
      }
      const resolving = performance.now();
      const answers = await Promise.all(clients.map((c) => who(c, BOUND_MS)));
      process.stderr.write(
        `100 channels: started in ${(resolving - started).toFixed(0)} ms, then all served in ${(performance.now() - resolving).toFixed(0)} ms\n`,
      );
      assert.equal(answers.length, 100);
      assert.equal(xds.plane.stats().sotwStreams, 100);
      assert.equal(xds.plane.stats().nacks, 0);
      // One change reaches all of them.
      store.upsert(SOURCE, service('shop', 'many', endpoints(backends.slice(0, 1))));
      await eventually('all 100 follow', BOUND_MS, async () =>
        (await Promise.all(clients.map((c) => who(c, BOUND_MS).catch(() => undefined)))).every(
          (id) => id === 'b1',
        ),
      );
    } finally {
      for (const c of clients) c.close();
    }
  });
});

describe('grpc-js-xds clients across a control plane restart', () => {
  it('keep calling while it is down, and follow changes once it is back', async () => {
    const store = newStore();
    const backends = await startBackends(2, 'r');
    const [r1, r2] = backends;
    assert.ok(r1 !== undefined && r2 !== undefined);
    store.upsert(SOURCE, service('shop', 'web', [{ address: r1.address, port: r1.port }]));
    let xds = await startXdsServer({ store, instanceId: 'first' });
    const port = xds.port;
    const client = xdsChannel(`xds:///web.shop:${r1.port}`, port);
    try {
      await eventually('r1 answers', BOUND_MS, () => servedExactlyBy(client, ['r1'], 3));
      await xds.stop();
      // Down: the client keeps its last configuration.
      assert.equal(await who(client), 'r1');
      store.upsert(
        SOURCE,
        service(
          'shop',
          'web',
          backends.map((b) => ({ address: b.address, port: b.port })),
        ),
      );
      xds = await startXdsServer({ store, instanceId: 'second' }, port);
      // grpc-js-xds retries the ADS stream after ~1 s (backoff 1 s × 1.6, never reset): bounded by a few retries.
      const recovered = await eventually('r2 answers after the restart', 10_000, () =>
        servedExactlyBy(client, ['r1', 'r2'], 6),
      );
      process.stderr.write(`recovered ${recovered.toFixed(0)} ms after the restart\n`);
    } finally {
      client.close();
      await xds.stop();
      await Promise.all(backends.map((b) => b.stop()));
    }
  });
});
