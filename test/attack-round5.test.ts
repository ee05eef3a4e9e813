// Defects found by attacking round 5's paged lists from outside (early continue requests, list answers), with the
// real KubeClient and pager against loopback servers: each test here failed before the fix committed with it.
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { KubeClient } from '../src/kube/kube-client.ts';
import { listAllPages } from '../src/sources/kubernetes/list-pager.ts';
import { plainHttpKubeConfig } from './support/fake-apiserver/kubeconfig.ts';

const PATH = '/apis/discovery.k8s.io/v1/endpointslices';

/** The head of a list body as the API server writes it, up to and including `"items":[`. */
function listHead(metadata: string): string {
  return `{"kind":"EndpointSliceList","apiVersion":"discovery.k8s.io/v1","metadata":${metadata},"items":[`;
}

function listBody(names: readonly string[], token: string | undefined): string {
  const metadata = JSON.stringify({
    resourceVersion: '42',
    ...(token === undefined ? {} : { continue: token }),
  });
  return `${listHead(metadata)}${names.map((name) => JSON.stringify({ metadata: { name } })).join(',')}]}`;
}

type Handler = (token: string | null, req: IncomingMessage, res: ServerResponse) => void;

/** A loopback API server answering lists with `handler` (by continue token), and a KubeClient for it. */
async function listServer(handler: Handler) {
  const server = createServer((req, res) => {
    const token = new URL(req.url ?? '/', 'http://x').searchParams.get('continue');
    res.writeHead(200, { 'Content-Type': 'application/json' });
    handler(token, req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const config = plainHttpKubeConfig(url);
  return {
    client: new KubeClient(config),
    close: () => {
      server.closeAllConnections();
      server.close();
    },
  };
}

const list = (client: KubeClient, signal = new AbortController().signal) =>
  listAllPages({
    client,
    path: PATH,
    pageSize: 1,
    transform: (raw) => (raw as { metadata: { name: string } }).metadata.name,
    signal,
  });

/** Resolves once the client has closed `req` (it is never answered in full); rejects after a generous bound. */
function closedByClient(req: IncomingMessage, what: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what}: still open after 10 s`)), 10_000);
    req.socket.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

describe('a paged list leaves none of its requests open once it is done with them', () => {
  it('a list that fails while a page ahead is on the wire cancels that page', async () => {
    let aheadClosed: Promise<void> | undefined;
    let cutPage1: (() => void) | undefined;
    const { client, close } = await listServer((token, req, res) => {
      if (token === null) res.end(listBody(['a'], 'page-1'));
      else if (token === 'page-1') {
        // Its start names page-2; once page-2 is asked for, the connection breaks mid-body.
        res.write(listHead('{"resourceVersion":"42","continue":"page-2"}'));
        cutPage1 = () => res.destroy();
      } else {
        // Page 2 never finishes: only the client can end it.
        aheadClosed = closedByClient(req, 'the request for page-2');
        res.write(listHead('{"resourceVersion":"42","continue":"page-3"}'));
        cutPage1?.();
      }
    });
    try {
      await assert.rejects(list(client));
      assert.ok(aheadClosed !== undefined, 'page-2 was asked for early');
      await aheadClosed;
    } finally {
      close();
    }
  });

  for (const [title, realToken] of [
    ['to follow another token', 'page-1'],
    ['that is the last', undefined],
  ] as const) {
    it(`an early request the page does not confirm is cancelled (page ${title})`, async () => {
      let decoyClosed: Promise<void> | undefined;
      let finishPage0: (() => void) | undefined;
      const { client, close } = await listServer((token, req, res) => {
        if (token === null) {
          // JSON.parse keeps the last of two equal keys: the first bytes say decoy, the page says realToken. The
          // rest of the page waits until the early request has arrived.
          const body = listBody(['a'], realToken);
          const decoy = '"metadata":{"resourceVersion":"42","continue":"decoy"},';
          const at = body.indexOf('"metadata":');
          res.write(body.slice(0, at) + decoy);
          finishPage0 = () => res.end(body.slice(at));
        } else if (token === 'decoy') {
          decoyClosed = closedByClient(req, 'the dropped request');
          res.write(listHead('{"resourceVersion":"42"}')); // and never more
          finishPage0?.();
        } else res.end(listBody(['b'], undefined));
      });
      try {
        const listed = await list(client);
        assert.deepEqual(listed.items, realToken === undefined ? ['a'] : ['a', 'b']);
        assert.ok(decoyClosed !== undefined, 'the early request was made');
        await decoyClosed;
      } finally {
        close();
      }
    });
  }
});

describe('a list answer that is not a Kubernetes list', () => {
  it('fails the page with an error that says so and names the collection, whatever the 200 body is', async () => {
    // An authenticating proxy's login page, a body of JSON null, and other shapes that are no list.
    const bodies = [
      'null',
      '<!DOCTYPE html><html>sign in</html>',
      '',
      '[]',
      '"text"',
      '7',
      '{}',
      '{"items":[]}',
    ];
    let body = '';
    const { client, close } = await listServer((_token, _req, res) => res.end(body));
    try {
      for (body of bodies)
        for (const onContinue of [undefined, () => undefined]) {
          await assert.rejects(
            client.list(PATH, { limit: '1' }, new AbortController().signal, onContinue),
            (error: Error) => {
              assert.match(
                error.message,
                /^list \/apis\/discovery\.k8s\.io\/v1\/endpointslices: .*not a Kubernetes list/,
              );
              return true;
            },
            JSON.stringify(body),
          );
        }
    } finally {
      close();
    }
  });
});
