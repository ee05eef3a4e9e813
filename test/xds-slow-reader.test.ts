// An ADS client that stops reading, through a real stream: the server stops writing once the call is full (HTTP/2
// flow control), keeps only the latest state of what changes meanwhile, and sends it when the client reads again.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TYPE_URL } from '../src/api/xds/wire.ts';
import { bigService } from './support/memory.ts';
import { assignmentAddresses, newStore, rawSotw, SOURCE, startXdsServer } from './support/xds-harness.ts';

const CHANGES = 1000;

describe('an ADS client that stops reading', () => {
  // Mutations: drop `this.#blocked = true` in StreamPump.write (writes go on into a full call), or drop the
  // `schedule()` of its 'drain' handler (the latest state is never sent).
  it('gets far fewer responses than changes while it does not read, then the latest state', async () => {
    const store = newStore();
    store.upsert(SOURCE, bigService(0));
    const xds = await startXdsServer({ store, instanceId: 'slow' });
    const ads = rawSotw(xds.port);
    try {
      ads.send({
        node: { id: 'slow-reader', locality: {} },
        type_url: TYPE_URL.endpoint,
        resource_names: ['big.shop:8080'],
      });
      await ads.next();
      ads.call.pause();
      const before = xds.plane.stats().responses;
      for (let generation = 1; generation <= CHANGES; generation += 1) {
        store.upsert(SOURCE, bigService(generation));
        // One change per turn of the event loop: each one reaches the stream on its own, none is merged upstream.
        await new Promise((resolve) => setImmediate(resolve));
      }
      const written = xds.plane.stats().responses - before;
      assert.ok(
        written < CHANGES / 2,
        `${written} responses written for ${CHANGES} changes to a client not reading`,
      );

      const expected = bigService(CHANGES)
        .endpoints.map((e) => `${e.addresses[0]}:8080`)
        .sort();
      ads.call.resume();
      for (;;) {
        const response = await ads.next(20_000);
        const got = response.resources[0];
        if (got !== undefined && JSON.stringify(assignmentAddresses(got)) === JSON.stringify(expected)) break;
      }
      assert.ok(
        xds.plane.stats().responses - before < CHANGES / 2 + 10,
        'the backlog was the latest state, not a queue',
      );
    } finally {
      ads.close();
      await xds.stop();
    }
  });
});
