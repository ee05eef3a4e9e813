// Watch under load: a stream whose client stops reading costs bounded memory however often its service changes,
// and gets the latest state once it reads again; a thousand streams all receive one change.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { startTestGrpc, TestClient, type DecodedWatchResponse } from './support/grpc-discovery.ts';
import { bigService, retainedBytes } from './support/memory.ts';
import { service } from './support/services.ts';

const isSynced = (m: DecodedWatchResponse): boolean => m.event === 'synced';

describe('gRPC Watch under load', () => {
  it('keeps memory bounded while a stream that does not read sees its service change 10,000 times, then sends the latest state', async () => {
    const t = await startTestGrpc();
    const client = new TestClient(t.address);
    t.store.upsert('test', bigService(0));
    const stream = client.watch({
      services: [{ namespace: 'shop', name: 'big' }],
      endpoints: 'ENDPOINT_SET_ALL',
    });
    try {
      await stream.until(isSynced);
      stream.call.pause(); // from here on grpc-js stops reading, HTTP/2 flow control fills, the server must stop writing

      const before = retainedBytes();
      for (let generation = 1; generation <= 10_000; generation += 1) {
        t.store.upsert('test', bigService(generation));
        if (generation % 50 === 0) await new Promise((resolve) => setImmediate(resolve));
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
      const growth = retainedBytes() - before;
      // Unbounded queueing would hold ~10,000 × 25 KB = 250 MB; the bound is a few buffered messages per side.
      assert.ok(growth < 40 * 1024 * 1024, `memory grew by ${(growth / 1048576).toFixed(1)} MiB`);
      assert.ok(t.store.stats().coalescedUpdates > 9_000, `coalesced ${t.store.stats().coalescedUpdates}`);

      const latest = t.store.get({ namespace: 'shop', name: 'big' })?.version;
      stream.call.resume();
      const received = await stream.until(
        (m) => m.event === 'modified' && m.modified.version === latest,
        10_000,
      );
      assert.ok(received.length < 100, `received ${received.length} messages, not one per change`);
    } finally {
      stream.cancel();
      client.close();
      await t.stop();
    }
  });

  it('delivers one change to each of 1,000 concurrent Watch streams', async () => {
    const t = await startTestGrpc();
    t.store.upsert('test', service('shop', 'web', ['10.0.0.1']));
    const clients = Array.from({ length: 10 }, () => new TestClient(t.address));
    const streams = Array.from({ length: 1000 }, (_, i) =>
      clients[i % clients.length]!.watch({ services: [{ namespace: 'shop', name: 'web' }] }),
    );
    try {
      await Promise.all(streams.map((s) => s.until(isSynced, 20_000)));
      assert.equal(t.grpc.openWatchStreams(), 1000);
      const missesBefore = t.store.encoded.stats().misses;
      t.store.upsert('test', service('shop', 'web', ['10.0.0.1', '10.0.0.2']));
      const version = t.store.get({ namespace: 'shop', name: 'web' })?.version;
      const changes = await Promise.all(streams.map((s) => s.next(20_000)));
      for (const change of changes) {
        assert.ok(change.event === 'modified' && change.modified.version === version);
      }
      assert.equal(
        t.store.encoded.stats().misses - missesBefore,
        1,
        'the change was encoded once for all streams',
      );
    } finally {
      for (const stream of streams) stream.cancel();
      for (const client of clients) client.close();
      await t.stop();
    }
  });
});
