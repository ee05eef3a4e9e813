// A watch client that stops reading must cost bounded memory however often its service changes, and must get the
// latest state once it reads again.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect } from 'node:net';
import { describe, it } from 'node:test';
import { startTestEndpointd } from './support/endpointd.ts';
import { bigService, retainedBytes } from './support/memory.ts';
import { subscribersReach } from './support/http.ts';

describe('a watch client that never reads', () => {
  it('keeps memory bounded while its service changes 10,000 times, then receives the latest state', async () => {
    const t = await startTestEndpointd({});
    const { store } = t.endpointd;
    store.upsert('test', bigService(0));
    const socket = connect(t.endpointd.httpAddress.port, '127.0.0.1');
    try {
      await once(socket, 'connect');
      socket.write('GET /v1/namespaces/shop/services/big/watch?endpoints=all HTTP/1.1\r\nHost: test\r\n\r\n');
      await subscribersReach(t.url, 'rest', 1); // the watch is open before anything changes
      socket.pause(); // from here on the kernel buffers fill up and the server must stop writing

      const before = retainedBytes();
      for (let generation = 1; generation <= 10_000; generation += 1) {
        store.upsert('test', bigService(generation));
        if (generation % 50 === 0) await new Promise((resolve) => setImmediate(resolve));
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
      const growth = retainedBytes() - before;
      // Unbounded queueing would hold ~10,000 × 60 KB = 600 MB; the bound is the socket buffers plus one event.
      assert.ok(growth < 40 * 1024 * 1024, `memory grew by ${(growth / 1048576).toFixed(1)} MiB`);
      assert.ok(store.stats().coalescedUpdates > 9_000, `coalesced ${store.stats().coalescedUpdates}`);

      const latest = store.get({ namespace: 'shop', name: 'big' })?.version;
      assert.ok(latest);
      let text = '';
      socket.setEncoding('utf8');
      socket.on('data', (chunk: string) => (text += chunk));
      socket.resume();
      const deadline = Date.now() + 10_000;
      while (!text.includes(`"version":"${latest}"`)) {
        if (Date.now() > deadline) assert.fail('the latest state never arrived');
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      const events = text.split('\n').filter((line) => line.startsWith('{"type"'));
      assert.ok(events.length < 200, `received ${events.length} events, not one per change`);
    } finally {
      socket.destroy();
      await t.stop();
    }
  });
});
