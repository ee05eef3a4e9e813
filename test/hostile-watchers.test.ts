// 1,000 watch streams that never read — 500 REST streams on raw sockets that are paused, 500 gRPC Watch streams
// on raw HTTP/2 streams that are paused — while services churn. (Raw HTTP/2, not grpc-js: a grpc-js client call
// that is paused still reads and buffers everything the server sends, in the client, so it is not a client that
// stops reading as the server sees it.) endpointd must hold bounded memory for them (latest state
// wins; no per-change queue) and a client that does read must not notice them: its lookup p99 and the time a change
// takes to reach its watch stream stay within 2× (+2 ms of timer noise) of what they were before they came.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { describe, it } from 'node:test';
import { connect as connectHttp2, type ClientHttp2Session, type ClientHttp2Stream } from 'node:http2';
import { loadSync, type ServiceDefinition } from '@grpc/proto-loader';
import { Pool } from 'undici';
import { percentile } from '../bench/support/stats.ts';
import { LOADER_OPTIONS } from '../src/api/grpc/index.ts';
import type { ServiceEndpoints } from '../src/model.ts';
import { startTestEndpointd } from './support/endpointd.ts';
import { EventStream } from './support/http.ts';
import { retainedBytes } from './support/memory.ts';
import { readyEndpoint } from './support/services.ts';

const REST_HOSTILE = 500;
const GRPC_HOSTILE = 500;
const CHURNING = 20;
const RECEIPTS = 200;
const SOURCE = 'churn';

/** Service churn/s{i} with 40 endpoints (~12 KB of JSON), different for each generation. */
function churned(i: number, generation: number): ServiceEndpoints {
  return {
    namespace: 'churn',
    name: `s${i}`,
    ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
    endpoints: Array.from({ length: 40 }, (_, k) =>
      readyEndpoint(`10.${i}.${k}.${generation % 250}`, {
        nodeName: `node-${k}-${generation}`,
        zone: 'zone-a',
        targetRef: { kind: 'Pod', namespace: 'churn', name: `s${i}-${generation}-${k}` },
      }),
    ).sort((a, b) => ((a.addresses[0] ?? '') < (b.addresses[0] ?? '') ? -1 : 1)),
  };
}

/**
 * The lowest p99s of `rounds` measurements: another test file shares these two cores (CI runs two at once), and
 * its bursts inflate any single round; the best round shows what the hostile streams themselves cost.
 */
async function bestOf(
  rounds: number,
  measure: () => Promise<{ lookupP99: number; watchP99: number }>,
): Promise<{ lookupP99: number; watchP99: number }> {
  let best = { lookupP99: Infinity, watchP99: Infinity };
  for (let round = 0; round < rounds; round += 1) {
    const { lookupP99, watchP99 } = await measure();
    best = { lookupP99: Math.min(best.lookupP99, lookupP99), watchP99: Math.min(best.watchP99, watchP99) };
  }
  return best;
}

describe('1,000 watch streams that never read, while services churn', () => {
  it('cost bounded memory and leave a reading client’s lookup and watch latency within 2× of before', async () => {
    // The encoded-form cache legitimately fills up to its bound as versions churn; a small bound keeps that fill
    // out of what is measured as "growing with the changes" below.
    const t = await startTestEndpointd({}, { encodedCacheBytes: 2 * 1048576 });
    const { store } = t.endpointd;
    let generation = 0;
    for (let i = 0; i < CHURNING; i += 1) store.upsert(SOURCE, churned(i, generation));
    store.upsert(SOURCE, churned(99, 0)); // churn/s99: the probe the reading client follows
    const churn = setInterval(() => {
      generation += 1;
      store.upsert(SOURCE, churned(generation % CHURNING, generation));
    }, 20);

    const pool = new Pool(t.url, { connections: 1, pipelining: 1 });
    const probeStream = await EventStream.open(`${t.url}/v1/namespaces/churn/services/s99/watch`, {
      Accept: 'text/event-stream',
    });
    await probeStream.until('SYNCED');
    let probeGeneration = 1000;

    /**
     * Lookup p99 over 300 lookups, and p99 of the time from an upsert to the reading stream's event over RECEIPTS
     * changes: enough that the p99 is one, not the slowest of a handful (of 30, the p99 is the maximum).
     */
    const measure = async (): Promise<{ lookupP99: number; watchP99: number }> => {
      const lookups: number[] = [];
      for (let n = 0; n < 300; n += 1) {
        const started = performance.now();
        const answer = await pool.request({
          method: 'GET',
          path: `/v1/namespaces/churn/services/s${n % CHURNING}`,
        });
        await answer.body.text();
        assert.equal(answer.statusCode, 200);
        lookups.push(performance.now() - started);
      }
      const receipts: number[] = [];
      for (let n = 0; n < RECEIPTS; n += 1) {
        probeGeneration += 1;
        const started = performance.now();
        store.upsert(SOURCE, churned(99, probeGeneration));
        const version = store.get({ namespace: 'churn', name: 's99' })?.version;
        for (;;) {
          const event = await probeStream.next(5000);
          if (event.data.type === 'MODIFIED' && event.data.version === version) break;
        }
        receipts.push(performance.now() - started);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      return { lookupP99: percentile(lookups, 99), watchP99: percentile(receipts, 99) };
    };

    const sockets: Socket[] = [];
    const calls: ClientHttp2Stream[] = [];
    const discovery = loadSync('endpointd/v1/discovery.proto', LOADER_OPTIONS)[
      'endpointd.v1.Discovery'
    ] as ServiceDefinition;
    const sessions: ClientHttp2Session[] = Array.from({ length: 5 }, () =>
      connectHttp2(`http://127.0.0.1:${t.endpointd.grpcPort}`),
    );
    for (const session of sessions) session.on('error', () => {});
    try {
      await measure(); // warm-up
      const baseline = await bestOf(3, measure);
      const before = retainedBytes();

      for (let i = 0; i < REST_HOSTILE; i += 1) {
        const socket = connect(t.endpointd.httpAddress.port, '127.0.0.1');
        sockets.push(socket);
        socket.on('error', () => {});
        await once(socket, 'connect');
        const accept = i % 2 === 0 ? 'Accept: text/event-stream\r\n' : '';
        socket.write(`GET /v1/watch?namespace=churn&endpoints=all HTTP/1.1\r\nHost: x\r\n${accept}\r\n`);
        socket.pause(); // never read: the kernel buffers fill, then the server must stop writing
      }
      const watch = discovery.Watch!;
      const request = watch.requestSerialize({ namespace: 'churn', endpoints: 'ENDPOINT_SET_ALL' });
      const framed = Buffer.concat([Buffer.from([0, 0, 0, 0, 0]), request]);
      framed.writeUInt32BE(request.length, 1);
      for (let i = 0; i < GRPC_HOSTILE; i += 1) {
        const call = sessions[i % sessions.length]!.request({
          ':method': 'POST',
          ':path': watch.path,
          'content-type': 'application/grpc',
          te: 'trailers',
        });
        call.on('error', () => {});
        call.end(framed);
        call.pause(); // never read: HTTP/2 flow control fills, the server must stop writing
        calls.push(call);
      }
      // Let the churn run until every buffer is full — memory stops rising; on a busy machine (CI runs two test
      // files at once) that takes longer than on an idle one — then measure twice, 5 s apart: what the streams hold
      // must not grow with the changes (and the latency must settle).
      await new Promise((resolve) => setTimeout(resolve, 3000));
      // Full means three seconds in a row without 2 MiB more: on a loaded machine the server writes slowly and one
      // quiet second can fall inside the filling.
      let filled = retainedBytes();
      for (let second = 0, quiet = 0; second < 40 && quiet < 3; second += 1) {
        await new Promise((resolve) => setTimeout(resolve, 1000));
        const now = retainedBytes();
        quiet = now - filled > 2 * 1048576 ? 0 : quiet + 1;
        filled = now;
      }
      const filledAt = generation;
      const first = await measure();
      const coalescedBefore = store.stats().coalescedUpdates;
      await new Promise((resolve) => setTimeout(resolve, 5000));
      // Over the same span as before the receipts were 200 a round (a first round and 5 s, some 400 changes): on a
      // loaded machine the buffers may still be filling slowly, and a longer span would count that as creep.
      const creep = retainedBytes() - filled;
      const creepChanges = generation - filledAt;
      const during = await bestOf(3, measure);
      const growth = retainedBytes() - before;
      const coalesced = store.stats().coalescedUpdates - coalescedBefore;

      console.log(
        `hostile watchers: ${REST_HOSTILE} REST + ${GRPC_HOSTILE} gRPC never reading; ${generation} changes; ` +
          `retained growth ${(growth / 1048576).toFixed(1)} MiB (of which ${(creep / 1048576).toFixed(1)} MiB ` +
          `over ${creepChanges} changes once full); coalesced ${coalesced}; lookup p99 ${baseline.lookupP99.toFixed(2)} → ` +
          `${first.lookupP99.toFixed(2)} → ${during.lookupP99.toFixed(2)} ms; watch receipt p99 ` +
          `${baseline.watchP99.toFixed(2)} → ${first.watchP99.toFixed(2)} → ${during.watchP99.toFixed(2)} ms`,
      );
      // A queue per change would hold 1,000 streams × hundreds of changes × 12 KB: gigabytes. What is held is the
      // buffers of each stream (≈100 KB: the response's and HTTP/2's write buffers, the test's own clients' 64 KB
      // HTTP/2 windows, all in this process), once; later changes add nothing but the encoded-form cache filling up
      // to its bound (2 MiB here).
      assert.ok(growth < 160 * 1048576, `retained memory grew by ${(growth / 1048576).toFixed(1)} MiB`);
      assert.ok(
        creep < 24 * 1048576,
        `memory kept growing with the changes: +${(creep / 1048576).toFixed(1)} MiB`,
      );
      assert.ok(coalesced > 5_000, `the never-reading streams coalesced only ${coalesced} updates`);
      assert.ok(
        during.lookupP99 <= 2 * baseline.lookupP99 + 2,
        `lookup p99 ${during.lookupP99.toFixed(2)} ms vs ${baseline.lookupP99.toFixed(2)} ms before`,
      );
      assert.ok(
        during.watchP99 <= 2 * baseline.watchP99 + 2,
        `watch receipt p99 ${during.watchP99.toFixed(2)} ms vs ${baseline.watchP99.toFixed(2)} ms before`,
      );
    } finally {
      clearInterval(churn);
      for (const socket of sockets) socket.destroy();
      for (const call of calls) call.destroy();
      for (const session of sessions) session.destroy();
      probeStream.close();
      await pool.close();
      await t.stop();
    }
  });
});
