// How one change fans out to many Watch streams: written in turns of the event loop, the first streams at once and
// in subscription order, the rest in later turns, where whatever changed meanwhile has merged into the latest state.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FanOutTurns } from '../src/api/grpc/watch-stream.ts';
import { startTestGrpc, summarize, TestClient, type DecodedWatchResponse } from './support/grpc-discovery.ts';
import { service } from './support/services.ts';

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('FanOutTurns', () => {
  it('runs flushes at once up to its budget, the rest in later turns, each once and in order', async () => {
    const turns = new FanOutTurns(3);
    const ran: number[] = [];
    for (let i = 0; i < 8; i++) turns.run(() => ran.push(i));
    assert.deepEqual(ran, [0, 1, 2]);
    await nextTurn();
    assert.deepEqual(ran, [0, 1, 2, 3, 4, 5]);
    await nextTurn();
    assert.deepEqual(ran, [0, 1, 2, 3, 4, 5, 6, 7]);
    await nextTurn();
    await nextTurn();
    assert.deepEqual(ran, [0, 1, 2, 3, 4, 5, 6, 7]);
  });

  it('gives each new turn a whole budget, and queues behind what waits rather than overtaking it', async () => {
    const turns = new FanOutTurns(2);
    const ran: string[] = [];
    turns.run(() => ran.push('a'));
    await nextTurn();
    // A budget only partly used in an earlier turn is whole again.
    turns.run(() => ran.push('b'));
    turns.run(() => ran.push('c'));
    assert.deepEqual(ran, ['a', 'b', 'c']);
    turns.run(() => ran.push('d')); // over budget: next turn
    await nextTurn();
    // The turn that runs `d` has spent one of its two; `e` arrives while `f` would still fit, in order.
    turns.run(() => ran.push('e'));
    turns.run(() => ran.push('f'));
    assert.deepEqual(ran, ['a', 'b', 'c', 'd', 'e']);
    await nextTurn();
    assert.deepEqual(ran, ['a', 'b', 'c', 'd', 'e', 'f']);
  });
});

describe('a change fanned out to 2,000 Watch streams', () => {
  it('reaches the first streams at once, and every stream ends at the latest state without going back', async () => {
    const t = await startTestGrpc();
    const key = { namespace: 'shop', name: 'web' };
    t.store.upsert('test', service('shop', 'web', ['10.0.0.1']));
    // Four connections (a distinct option each, or grpc-js would share one): under the server's 1,000 streams each.
    const clients = Array.from({ length: 4 }, (_, i) => new TestClient(t.address, { 'test.connection': i }));
    const streams = Array.from({ length: 2000 }, (_, i) =>
      clients[i % clients.length]!.watch({ services: [key] }),
    );
    try {
      await Promise.all(streams.map((s) => s.until((m) => m.event === 'synced', 30_000)));
      const coalescedBefore = t.store.stats().coalescedUpdates;
      // Five changes in one turn of the loop: faster than 2,000 streams can be written.
      const versions: string[] = [];
      for (let generation = 2; generation <= 6; generation++) {
        const ips = Array.from({ length: generation }, (_, i) => `10.0.0.${i + 1}`);
        t.store.upsert('test', service('shop', 'web', ips));
        versions.push(t.store.get(key)?.version ?? '');
      }
      const latest = versions.at(-1);
      const received = await Promise.all(
        streams.map(async (stream) => {
          const seen: number[] = [];
          const modified = await stream.until(
            (m: DecodedWatchResponse) => m.event === 'modified' && m.modified.version === latest,
            30_000,
          );
          for (const message of modified) {
            assert.equal(message.event, 'modified', 'a stream received something else than the changes');
            if (message.event === 'modified') seen.push(versions.indexOf(message.modified.version));
          }
          return seen;
        }),
      );
      for (const seen of received) {
        assert.ok(!seen.includes(-1), 'a stream received a version that never existed');
        for (let i = 1; i < seen.length; i++)
          assert.ok(seen[i]! > seen[i - 1]!, `a stream went back: ${seen.join(' → ')}`);
      }
      // The first streams of the fan-out had the first change written at once, while the store was still changing;
      // the later ones were still waiting their turn when newer changes came, and got the latest only.
      assert.ok(
        received.some((seen) => seen[0] === 0),
        'no stream received the first change: the fan-out waited for the store to settle',
      );
      assert.ok(
        received.some((seen) => seen.length === 1),
        'every stream received every change: nothing was coalesced for streams still waiting their turn',
      );
      assert.ok(t.store.stats().coalescedUpdates > coalescedBefore);
    } finally {
      for (const stream of streams) stream.cancel();
      for (const client of clients) client.close();
      await t.stop();
    }
  });
});

describe('one change fanned out to streams of different views', () => {
  it('gives each stream its own view of every version, in order, whatever the streams beside it asked for', async () => {
    const t = await startTestGrpc();
    const key = { namespace: 'shop', name: 'web' };
    t.store.upsert('test', service('shop', 'web', ['10.0.0.1']));
    const client = new TestClient(t.address);
    // Interleaved in subscription order, so that consecutive writes of one fan-out alternate between the views:
    // the message encoded for one view must never reach a stream of the other.
    const withTargets = (i: number): boolean => i % 2 === 1;
    const streams = Array.from({ length: 600 }, (_, i) =>
      client.watch({ services: [key], ...(withTargets(i) ? { port: { name: 'http' } } : {}) }),
    );
    try {
      await Promise.all(streams.map((s) => s.until((m) => m.event === 'synced', 30_000)));
      const versions: string[] = [];
      for (const ips of [
        ['10.0.0.1', '10.0.0.2'],
        ['10.0.0.1', '10.0.0.2', '10.0.0.3'],
      ]) {
        t.store.upsert('test', service('shop', 'web', ips));
        versions.push(t.store.get(key)?.version ?? '');
        // Each version reaches every stream before the next is made: none may be coalesced away.
        await Promise.all(
          streams.map(async (stream, i) => {
            const [message, ...rest] = await stream.until(() => true, 30_000);
            assert.equal(rest.length, 0);
            assert.ok(message?.event === 'modified', `stream ${i} received ${message?.event}`);
            assert.equal(message.modified.version, versions.at(-1));
            assert.deepEqual(
              message.modified.targets.map((target) => target.address),
              withTargets(i) ? ips : [],
              `stream ${i} received another view's message`,
            );
          }),
        );
      }
    } finally {
      for (const stream of streams) stream.cancel();
      client.close();
      await t.stop();
    }
  });
});

describe('deletions fanned out to 300 Watch streams', () => {
  it('tell every stream of each deletion in turn, each with its own service', async () => {
    const t = await startTestGrpc();
    const names = ['web', 'api', 'db'];
    for (const name of names) t.store.upsert('test', service('shop', name, ['10.0.0.1']));
    const client = new TestClient(t.address);
    const streams = Array.from({ length: 300 }, () => client.watch({ namespace: 'shop' }));
    try {
      await Promise.all(streams.map((s) => s.until((m) => m.event === 'synced', 30_000)));
      // Two deletions in one turn (the second fans out while the first is still being written), then one more.
      t.store.delete('test', { namespace: 'shop', name: 'web' });
      t.store.delete('test', { namespace: 'shop', name: 'api' });
      await Promise.all(
        streams.map(async (stream) => {
          const got = await stream.until((m) => m.event === 'deleted' && m.deleted.name === 'api', 30_000);
          assert.deepEqual(got.map(summarize), ['deleted web', 'deleted api']);
        }),
      );
      t.store.delete('test', { namespace: 'shop', name: 'db' });
      await Promise.all(
        streams.map(async (stream) => {
          const got = await stream.until((m) => m.event === 'deleted', 30_000);
          assert.deepEqual(got.map(summarize), ['deleted db']);
        }),
      );
    } finally {
      for (const stream of streams) stream.cancel();
      client.close();
      await t.stop();
    }
  });
});
