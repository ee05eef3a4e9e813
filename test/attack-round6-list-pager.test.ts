// Attack on round 6's early continue (src/kube/list-metadata.ts, kube-client.ts list(onContinue), list-pager.ts)
// from a hostile or odd API server: generated chains of pages whose bodies put the metadata before or after the
// items, lead with a decoy `metadata` key whose token JSON.parse then overrides, pad the start past the 64 KiB the
// early reader looks at, carry tokens of any Unicode with JSON escapes, arrive cut into random pieces, and may
// answer one continue with 410 Gone (the list then starts over on a second snapshot). Property: the list gives
// exactly one snapshot's items, each once, in order; only the chain's own tokens (and decoys) are asked for; and
// once the list is done no request of it is still open at the server. Real KubeClient and pager, loopback server.
import assert from 'node:assert/strict';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { KubeClient } from '../src/kube/kube-client.ts';
import { listAllPages } from '../src/sources/kubernetes/list-pager.ts';
import { plainHttpKubeConfig } from './support/fake-apiserver/kubeconfig.ts';

/** Each run lists a collection of its own. */
const pathOf = (n: number): string => `/apis/discovery.k8s.io/v1/namespaces/run-${n}/endpointslices`;
let run = 0;

type Layout = 'metadata-first' | 'items-first' | 'decoy-first' | 'padded';

interface Plan {
  /** The continue tokens of pages 1.. (page 0 is asked without one); distinct. */
  readonly tokens: readonly string[];
  readonly layouts: readonly Layout[];
  /** Into how many writes each body is cut. */
  readonly pieces: readonly number[];
  /** The page (≥ 1) whose first request is answered 410, if any. */
  readonly goneAt: number | undefined;
}

/** Escapes every non-ASCII character and a few ASCII ones, as an encoder may: the same token to a JSON reader. */
function escapedJson(text: string): string {
  return JSON.stringify(text).replace(
    /[^\x20-\x7e]|[/<>&]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

function body(plan: Plan, snapshot: string, page: number): string {
  const layout = plan.layouts[page] ?? 'metadata-first';
  const token = plan.tokens[page];
  const metadata = `{"resourceVersion":"${snapshot}"${token === undefined ? '' : `,"continue":${escapedJson(token)}`}}`;
  const items = `[${JSON.stringify({ metadata: { name: `${snapshot}-${page}`, continue: 'never-this' } })},${JSON.stringify({ metadata: { name: `${snapshot}-${page}b` } })}]`;
  const head = '"kind":"EndpointSliceList","apiVersion":"discovery.k8s.io/v1"';
  switch (layout) {
    case 'metadata-first':
      return `{${head},"metadata":${metadata},"items":${items}}`;
    case 'items-first':
      return `{"items":${items},${head},"metadata":${metadata}}`;
    case 'decoy-first':
      return `{${head},"metadata":{"resourceVersion":"0","continue":"decoy-${page}"},"metadata":${metadata},"items":${items}}`;
    case 'padded':
      return `{${head},"padding":"${'x'.repeat(70 * 1024)}","metadata":${metadata},"items":${items}}`;
  }
}

/** Cuts `text` into `n` pieces, at byte offsets that may fall inside a multi-byte character. */
function cut(text: string, n: number): Buffer[] {
  const bytes = Buffer.from(text);
  const out: Buffer[] = [];
  for (let i = 0; i < n; i++)
    out.push(bytes.subarray(Math.floor((bytes.length * i) / n), Math.floor((bytes.length * (i + 1)) / n)));
  return out;
}

let current: Plan | undefined;
let gone = false;
let asked: Array<string | null> = [];
let open = 0;
let url = '';
let closeServer: () => void = () => {};

before(async () => {
  const server = createServer((req, res: ServerResponse) => {
    open += 1;
    res.on('close', () => (open -= 1));
    const plan = current;
    const requestUrl = new URL(req.url ?? '/', 'http://x');
    // A request of an earlier run (aborted by its list, reaching the server late) is no part of this one.
    if (plan === undefined || requestUrl.pathname !== pathOf(run)) {
      res.writeHead(404).end();
      return;
    }
    const token = requestUrl.searchParams.get('continue');
    asked.push(token);
    if (token?.startsWith('decoy-') === true) {
      // Never more than its head: only the client can end it.
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.write(
        '{"kind":"EndpointSliceList","apiVersion":"discovery.k8s.io/v1","metadata":{"resourceVersion":"0"',
      );
      return;
    }
    const index = token === null ? -1 : plan.tokens.indexOf(token);
    const page = index + 1;
    if (token !== null && index === -1) {
      res.writeHead(400).end('unknown token');
      return;
    }
    if (page === plan.goneAt && !gone) {
      gone = true;
      res.writeHead(410, { 'Content-Type': 'application/json' });
      res.end(
        JSON.stringify({
          kind: 'Status',
          apiVersion: 'v1',
          status: 'Failure',
          reason: 'Expired',
          code: 410,
          message: 'continue expired',
        }),
      );
      return;
    }
    const snapshot = gone ? 'B' : 'A';
    res.writeHead(200, { 'Content-Type': 'application/json' });
    const parts = cut(body(plan, snapshot, page), plan.pieces[page] ?? 1);
    const send = (i: number): void => {
      if (res.destroyed) return;
      const part = parts[i];
      if (part === undefined) {
        res.end();
        return;
      }
      res.write(part);
      setImmediate(() => send(i + 1));
    };
    send(0);
  });
  url = await listening(server);
  closeServer = () => {
    server.closeAllConnections();
    server.close();
  };
});
after(() => closeServer());

const planArbitrary = fc
  .uniqueArray(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 12 }), { minLength: 0, maxLength: 4 })
  .filter((tokens) => tokens.every((t) => !t.startsWith('decoy-')))
  .chain((tokens) =>
    fc.record({
      tokens: fc.constant(tokens),
      layouts: fc.array(
        fc.constantFrom<Layout>('metadata-first', 'items-first', 'decoy-first', 'metadata-first', 'padded'),
        { minLength: tokens.length + 1, maxLength: tokens.length + 1 },
      ),
      pieces: fc.array(fc.integer({ min: 1, max: 7 }), {
        minLength: tokens.length + 1,
        maxLength: tokens.length + 1,
      }),
      goneAt:
        tokens.length === 0
          ? fc.constant(undefined)
          : fc.option(fc.integer({ min: 1, max: tokens.length }), { nil: undefined }),
    }),
  );

/** A KubeClient for the plain-HTTP server at `url`, as endpointd builds one from a kubeconfig. */
function clientFor(url: string): KubeClient {
  return new KubeClient(plainHttpKubeConfig(url));
}

/** Listens on a free loopback port; resolves with the server's URL. */
async function listening(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('a paged list against odd and hostile list bodies', () => {
  it('gives one snapshot exactly, asks only for its tokens, and leaves nothing open', async () => {
    const client = clientFor(url);
    await fc.assert(
      fc.asyncProperty(planArbitrary, async (plan) => {
        run += 1;
        current = plan;
        gone = false;
        asked = [];
        const listed = await listAllPages({
          client,
          path: pathOf(run),
          pageSize: 2,
          transform: (raw) => (raw as { metadata: { name: string } }).metadata.name,
          signal: new AbortController().signal,
        });
        const snapshot = plan.goneAt === undefined ? 'A' : 'B';
        const pages = plan.tokens.length + 1;
        assert.deepEqual(
          listed.items,
          Array.from({ length: pages }, (_, page) => [`${snapshot}-${page}`, `${snapshot}-${page}b`]).flat(),
        );
        assert.equal(listed.resourceVersion, snapshot);
        const known = new Set<string | null>([
          null,
          ...plan.tokens,
          ...plan.tokens.map((_, i) => `decoy-${i}`),
          'decoy-' + String(plan.tokens.length),
        ]);
        for (const token of asked)
          assert.ok(known.has(token), `asked for a token of no page: ${String(token)}`);
        // The server learns of each request's end as its socket closes or its answer ends: a bounded wait.
        const deadline = Date.now() + 5000;
        while (open > 0) {
          assert.ok(Date.now() < deadline, `${open} request(s) still open after the list`);
          await new Promise((resolve) => setTimeout(resolve, 5));
        }
      }),
      { numRuns: 60 },
    );
  });
});

describe('a paged list its caller gives up on (the reflector stopping)', () => {
  it('rejects with the abort at once, and the server sees every request of it closed', async () => {
    let opened = 0;
    let closed = 0;
    const server = createServer((req, res) => {
      opened += 1;
      res.on('close', () => (closed += 1));
      const token = new URL(req.url ?? '/', 'http://x').searchParams.get('continue');
      res.writeHead(200, { 'Content-Type': 'application/json' });
      // Every page names the next at once and then never finishes: page 1 is asked for early, both stay open.
      res.write(
        `{"kind":"EndpointSliceList","apiVersion":"discovery.k8s.io/v1","metadata":{"resourceVersion":"1","continue":"${token === null ? 'p1' : `${token}x`}"},"items":[`,
      );
    });
    const local = await listening(server);
    try {
      const stop = new AbortController();
      const listing = listAllPages({
        client: clientFor(local),
        path: '/apis/discovery.k8s.io/v1/endpointslices',
        pageSize: 1,
        transform: (item) => item,
        signal: stop.signal,
      });
      listing.catch(() => undefined);
      const deadline = Date.now() + 5000;
      while (opened < 2) {
        assert.ok(Date.now() < deadline, 'the next page is asked for early');
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      const reason = new Error('reflector stopped');
      stop.abort(reason);
      await assert.rejects(
        listing,
        (error) =>
          error === reason || (error as Error).cause === reason || (error as Error).name === 'AbortError',
      );
      while (closed < opened) {
        assert.ok(Date.now() < deadline, `${opened - closed} request(s) still open after the abort`);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      assert.equal(opened, 2, 'no request after the abort');
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });
});

describe('a paged list from a server that makes no progress', () => {
  it('fails with a clear error when a page hands back the continue token it was asked with', async () => {
    // A caching proxy that ignores the query string: every request gets the first page, which says "continue: T".
    let requests = 0;
    const server = createServer((_req, res) => {
      requests += 1;
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(
        JSON.stringify({
          kind: 'EndpointSliceList',
          apiVersion: 'discovery.k8s.io/v1',
          metadata: { resourceVersion: '1', continue: 'T' },
          items: [{ metadata: { name: 'a' } }],
        }),
      );
    });
    const local = await listening(server);
    try {
      // The bound of this test, not of the pager: without a check the list never ends and keeps every item.
      const signal = AbortSignal.timeout(3000);
      await assert.rejects(
        listAllPages({
          client: clientFor(local),
          path: '/apis/discovery.k8s.io/v1/endpointslices',
          pageSize: 1,
          transform: (item) => item,
          signal,
        }),
        (error: Error) => {
          assert.ok(!signal.aborted, `still listing after 3 s and ${requests} requests`);
          assert.match(error.message, /continue token/);
          return true;
        },
      );
      assert.ok(requests <= 4, `${requests} requests`);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });
});
