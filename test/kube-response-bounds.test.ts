// What the API server (or a proxy in front of it) sends is bounded: one list page, one watch event, at most
// --kube-max-response-size. A body past the bound fails its list or watch as soon as the bytes pass it (the
// connection is closed, the rest never read), the source keeps serving what it had and says why in /readyz, and
// retries with backoff. An error answer's body is read no further than the bound either; its status stands. Below
// the bound nothing changes: however a watch stream is cut into chunks (inside a
// multi-byte character, between \r and \n, blank lines), the client reads exactly the events that were sent.
import assert from 'node:assert/strict';
import type { Server, ServerResponse } from 'node:http';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { KubeApiError, KubeClient, ResponseTooLargeError, type WatchEvent } from '../src/kube/kube-client.ts';
import { endpointSlice, FakeApiServer, service } from './support/fake-apiserver/index.ts';
import { plainHttpKubeConfig } from './support/fake-apiserver/kubeconfig.ts';
import { eventually, get, rawServer } from './support/http.ts';
import { ips, startKubeEndpointd, type KubeTestEndpointd } from './support/kube-endpointd.ts';

const MiB = 1024 * 1024;
const SLICES = '/apis/discovery.k8s.io/v1/endpointslices';

/** A KubeClient for the plain-HTTP server at `url`, as endpointd builds one from a kubeconfig. */
function clientFor(url: string, maxResponseBytes?: number): KubeClient {
  return new KubeClient(plainHttpKubeConfig(url), { maxResponseBytes });
}

/**
 * Writes `piece` again and again, after a `status` head, (respecting back-pressure) until `limitBytes` or until the client goes away;
 * resolves with the bytes written when the connection closed.
 */
function endlessBody(
  res: ServerResponse,
  head: string,
  piece: string,
  limitBytes: number,
  status = 200,
): Promise<number> {
  return new Promise((resolve) => {
    let written = 0;
    const write = (): void => {
      while (written < limitBytes && !res.destroyed) {
        written += Buffer.byteLength(piece);
        if (!res.write(piece)) return void res.once('drain', write);
      }
      res.end();
    };
    res.on('close', () => resolve(written));
    res.writeHead(status, { 'Content-Type': 'application/json' });
    res.write(head);
    write();
  });
}

describe('answers from the API server are bounded in size', () => {
  let server: Server;
  let url: string;
  let lastWritten: Promise<number> = Promise.resolve(0);
  let watchBody: Buffer[] = [];

  before(async () => {
    ({ server, url } = await rawServer((req, res) => {
      const query = new URL(req.url ?? '/', 'http://x').searchParams;
      if (query.get('watch') === 'true' && query.get('labelSelector') === 'pieces') {
        // The watch body of the property test, cut where it says.
        res.writeHead(200, { 'Content-Type': 'application/json' });
        const pieces = watchBody;
        const next = (i: number): void => {
          if (i === pieces.length) return void res.end();
          res.write(pieces[i], () => setImmediate(() => next(i + 1)));
        };
        next(0);
      } else if (query.get('labelSelector') === 'error') {
        // An error whose body never ends.
        lastWritten = endlessBody(res, '{"kind":"Status","message":"', 'e'.repeat(64 * 1024), 256 * MiB, 500);
      } else if (query.get('watch') === 'true') {
        // One event that never ends: no newline, ever.
        lastWritten = endlessBody(
          res,
          '{"type":"ADDED","object":{"metadata":{"name":"',
          'x'.repeat(64 * 1024),
          256 * MiB,
        );
      } else {
        // A list page that goes on and on inside its items.
        lastWritten = endlessBody(
          res,
          '{"kind":"EndpointSliceList","metadata":{"resourceVersion":"1"},"items":[',
          `${JSON.stringify({ metadata: { name: 'n'.repeat(1000) } })},`.repeat(60),
          256 * MiB,
        );
      }
    }));
  });
  after(() => {
    server.closeAllConnections();
    server.close();
  });

  it('refuses a list page past the bound as its bytes pass it, without reading the rest', async () => {
    const client = clientFor(url, 2 * MiB);
    await assert.rejects(client.list(SLICES, {}, AbortSignal.timeout(20_000)), (error: Error) => {
      assert.ok(error instanceof ResponseTooLargeError, String(error));
      assert.match(
        error.message,
        /^list \/apis\/discovery\.k8s\.io\/v1\/endpointslices: the page is larger than 2\.0 MiB/,
      );
      assert.match(error.message, /--kube-max-response-size/);
      return true;
    });
    const written = await lastWritten;
    // What the server wrote before it saw the connection close: the bound plus what sat in the socket buffers.
    assert.ok(
      written < 32 * MiB,
      `the server wrote ${(written / MiB).toFixed(1)} MiB before the client left`,
    );
  });

  it('refuses a watch event past the bound before it ends, and closes the stream', async () => {
    const client = clientFor(url, 2 * MiB);
    const events: WatchEvent[] = [];
    await assert.rejects(
      client.watch(SLICES, {}, AbortSignal.timeout(20_000), {
        onOpen: () => {},
        onData: () => {},
        onEvent: (event) => events.push(event),
      }),
      (error: Error) => {
        assert.ok(error instanceof ResponseTooLargeError, String(error));
        assert.match(
          error.message,
          /^watch \/apis\/discovery\.k8s\.io\/v1\/endpointslices: an event is larger than 2\.0 MiB/,
        );
        return true;
      },
    );
    assert.deepEqual(events, []);
    const written = await lastWritten;
    assert.ok(
      written < 32 * MiB,
      `the server wrote ${(written / MiB).toFixed(1)} MiB before the client left`,
    );
  });

  it('reads an error answer no further than the bound, and keeps its status', async () => {
    const client = clientFor(url, 2 * MiB);
    await assert.rejects(
      client.list(SLICES, { labelSelector: 'error' }, AbortSignal.timeout(20_000)),
      (error: Error) => {
        assert.ok(error instanceof KubeApiError, String(error));
        assert.equal(error.status, 500);
        return true;
      },
    );
    const written = await lastWritten;
    assert.ok(
      written < 32 * MiB,
      `the server wrote ${(written / MiB).toFixed(1)} MiB before the client left`,
    );
  });

  it('reads exactly the events sent, however the stream is cut, and a line of exactly the bound passes', async () => {
    const bound = 4096;
    const client = clientFor(url, bound);
    // Events whose names mix ASCII, two-, three- and four-byte characters; lines end in \n or \r\n; blank lines.
    const name = fc.string({ unit: fc.constantFrom('a', 'é', '€', '𝄞', '"', '\\'), maxLength: 40 });
    const line = fc.record({ name, crlf: fc.boolean(), blank: fc.boolean() });
    await fc.assert(
      fc.asyncProperty(
        fc.array(line, { minLength: 1, maxLength: 12 }),
        fc.array(fc.integer({ min: 1, max: 5000 }), { maxLength: 10 }),
        fc.boolean(),
        async (lines, cuts, padToBound) => {
          const sent = lines.map((l) => ({ type: 'ADDED', object: { metadata: { name: l.name } } }));
          const texts = sent.map((event) => JSON.stringify(event));
          if (padToBound) {
            // The first event padded to exactly `bound` bytes (its \r, if any, counts: it is part of the line).
            const first = texts[0]!;
            const room = bound - Buffer.byteLength(first) - (lines[0]!.crlf ? 1 : 0);
            texts[0] = `${first.slice(0, -1)},"pad":"${'p'.repeat(room - ',"pad":""'.length)}"}`;
            assert.equal(Buffer.byteLength(texts[0]) + (lines[0]!.crlf ? 1 : 0), bound);
          }
          const body = Buffer.from(
            texts
              .map((text, i) => `${text}${lines[i]!.crlf ? '\r\n' : '\n'}${lines[i]!.blank ? '\n' : ''}`)
              .join(''),
          );
          const offsets = [...new Set(cuts.map((c) => c % body.length))].sort((a, b) => a - b);
          watchBody = [0, ...offsets].map((start, i) => body.subarray(start, offsets[i] ?? body.length));
          const events: WatchEvent[] = [];
          await client.watch(SLICES, { labelSelector: 'pieces' }, AbortSignal.timeout(20_000), {
            onOpen: () => {},
            onData: () => {},
            onEvent: (event) => events.push(event),
          });
          // What the client hands on of each line: its type and object (the padding is beside them).
          const expected = texts.map((text) => {
            const { type, object } = JSON.parse(text) as WatchEvent;
            return { type, object };
          });
          assert.deepEqual(events, expected);
        },
      ),
      { numRuns: 150 },
    );
    // One byte more than the bound is refused.
    watchBody = [Buffer.from(`{"type":"ADDED","object":{"pad":"${'p'.repeat(bound)}"}}\n`)];
    await assert.rejects(
      client.watch(SLICES, { labelSelector: 'pieces' }, AbortSignal.timeout(20_000), {
        onOpen: () => {},
        onData: () => {},
        onEvent: () => {},
      }),
      ResponseTooLargeError,
    );
  });
});

describe('a Kubernetes object larger than --kube-max-response-size', () => {
  let api: FakeApiServer;
  let t: KubeTestEndpointd;

  before(async () => {
    api = await FakeApiServer.start({ bookmarkIntervalMs: 200 });
    api.create('services', service({ name: 'web', namespace: 'shop' }));
    api.create(
      'endpointslices',
      endpointSlice({
        service: 'web',
        namespace: 'shop',
        name: 'web-a',
        endpoints: [{ addresses: '10.0.0.1' }],
      }),
    );
    t = await startKubeEndpointd(api, { maxResponseBytes: 1 * MiB });
  });
  after(async () => {
    await t.stop();
    await api.close();
  });

  it('fails the watch that carries it, with the reason in /readyz; what was served stays served', async () => {
    assert.deepEqual(ips(await t.lookup('shop', 'web')), ['10.0.0.1']);
    const huge = endpointSlice({
      service: 'web',
      namespace: 'shop',
      name: 'web-huge',
      endpoints: [{ addresses: '10.0.0.2' }],
    });
    huge.metadata.annotations = { ...huge.metadata.annotations, 'example.com/blob': 'b'.repeat(2 * MiB) };
    api.create('endpointslices', huge);

    const reason = await eventually(async () => {
      const readyz = (await get(`${t.url}/readyz`)).json<{ sources: Array<{ error: string | null }> }>();
      return readyz.sources.map((s) => s.error ?? '').find((e) => e.includes('larger than 1.0 MiB'));
    }, 10_000);
    assert.match(
      reason,
      /watch \/apis\/discovery\.k8s\.io\/v1\/endpointslices: an event is larger than 1\.0 MiB/,
    );
    assert.match(reason, /--kube-max-response-size/);
    // Still served as before, and still ready (stale beats nothing).
    assert.deepEqual(ips(await t.lookup('shop', 'web')), ['10.0.0.1']);
    assert.equal((await get(`${t.url}/readyz`)).status, 200);
    // Retried with backoff, not in a tight loop: a few watches of slices in a second, not hundreds.
    const watches = (): number =>
      api.requests.filter((r) => r.verb === 'watch' && r.resource === 'endpointslices').length;
    const before = watches();
    await new Promise((resolve) => setTimeout(resolve, 1000));
    assert.ok(watches() - before <= 5, `${watches() - before} watches of endpointslices in one second`);
  });
});
