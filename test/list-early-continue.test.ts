// A paged list asks for the next page as soon as the start of the current one says its continue token
// (src/kube/list-metadata.ts), not after the whole page has arrived: shown with the real KubeClient and pager
// against a loopback server that holds the rest of a page until the next page is asked for. The early reading
// never follows a token from anywhere but the list's own top-level metadata (property test over every prefix).
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { KubeConfig } from '@kubernetes/client-node';
import { KubeClient } from '../src/kube/kube-client.ts';
import { leadingListMetadata } from '../src/kube/list-metadata.ts';
import { listAllPages } from '../src/sources/kubernetes/list-pager.ts';
import { kubeconfigYaml, plainHttpKubeConfig } from './support/fake-apiserver/kubeconfig.ts';

const PATH = '/apis/discovery.k8s.io/v1/endpointslices';

function item(name: string): object {
  return { metadata: { name, namespace: 'shop', labels: { 'kubernetes.io/service-name': name } } };
}

/** A list body as the API server writes it: kind, apiVersion, metadata, items. */
function listBody(names: readonly string[], token: string | undefined): string {
  return JSON.stringify({
    kind: 'EndpointSliceList',
    apiVersion: 'discovery.k8s.io/v1',
    metadata: { resourceVersion: '42', ...(token === undefined ? {} : { continue: token }) },
    items: names.map(item),
  });
}

/**
 * Serves three pages; the body of each page but the last is sent in two parts, and the second part waits until
 * the next page has been asked for (or 2 s have passed): `early` says, per page, whether it was.
 */
async function holdingServer(split: (body: string) => [string, string]) {
  const early: boolean[] = [];
  let nextAsked: (() => void) | undefined;
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const token = new URL(req.url ?? '/', 'http://x').searchParams.get('continue');
    nextAsked?.();
    const page = token === null ? 0 : Number(token.slice('page-'.length));
    const last = page === 2;
    const body = listBody([`s${page}-a`, `s${page}-b`], last ? undefined : `page-${page + 1}`);
    res.writeHead(200, { 'Content-Type': 'application/json' });
    if (last) {
      res.end(body);
      return;
    }
    const [head, rest] = split(body);
    res.write(head);
    const asked = new Promise<boolean>((resolve) => {
      nextAsked = () => resolve(true);
      setTimeout(() => resolve(false), 2000).unref();
    });
    void asked.then((wasAsked) => {
      early[page] = wasAsked;
      res.end(rest);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { client: new KubeClient(plainHttpKubeConfig(url)), early, close: () => server.close() };
}

const list = (client: KubeClient) =>
  listAllPages({
    client,
    path: PATH,
    pageSize: 2,
    transform: (raw) => (raw as { metadata: { name: string } }).metadata.name,
    signal: new AbortController().signal,
  });

describe('a paged list asks for the next page early', () => {
  it('as soon as the start of a page holds its continue token, while the rest of the page is still on its way', async () => {
    // The first part ends right after the metadata: the items are held back.
    const { client, early, close } = await holdingServer((body) => {
      const at = body.indexOf('"items"');
      return [body.slice(0, at), body.slice(at)];
    });
    try {
      const listed = await list(client);
      assert.deepEqual(listed.items, ['s0-a', 's0-b', 's1-a', 's1-b', 's2-a', 's2-b']);
      assert.equal(listed.resourceVersion, '42');
      assert.deepEqual(
        early,
        [true, true],
        'each next page was asked for before the current one had arrived',
      );
    } finally {
      close();
    }
  });

  it('only once the page is complete when its start does not tell (items before metadata)', async () => {
    const { client, early, close } = await holdingServer((body) => {
      const parsed = JSON.parse(body) as Record<string, unknown>;
      const reordered = JSON.stringify({ items: parsed['items'], metadata: parsed['metadata'] });
      const at = reordered.indexOf('"metadata"');
      return [reordered.slice(0, at), reordered.slice(at)];
    });
    try {
      const listed = await list(client);
      assert.equal(listed.items.length, 6, 'the list is still complete and in order');
      assert.deepEqual(early, [false, false]);
    } finally {
      close();
    }
  });
});

describe('a paged list follows the token its page confirms', () => {
  it('drops an early request whose token the whole page does not confirm (a body with two metadata keys)', async () => {
    const asked: string[] = [];
    const server = createServer((req, res) => {
      const token = new URL(req.url ?? '/', 'http://x').searchParams.get('continue');
      asked.push(token ?? '');
      res.writeHead(token === 'decoy' ? 400 : 200, { 'Content-Type': 'application/json' });
      if (token === 'decoy') {
        res.end('{"kind":"Status","apiVersion":"v1","status":"Failure","message":"bad continue","code":400}');
        return;
      }
      if (token === 'page-1') {
        res.end(listBody(['b'], undefined));
        return;
      }
      // JSON.parse keeps the last of two equal keys: the page's token is page-1, the first bytes say decoy.
      const body = listBody(['a'], 'page-1');
      res.end(
        body.replace('"metadata":', '"metadata":{"resourceVersion":"42","continue":"decoy"},"metadata":'),
      );
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const config = new KubeConfig();
    config.loadFromString(
      kubeconfigYaml(
        {
          url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
          caPem: undefined,
          namespace: 'x',
        },
        undefined,
      ),
    );
    try {
      const listed = await list(new KubeClient(config));
      assert.deepEqual(listed.items, ['a', 'b']);
      // The early request for `decoy` is cancelled once the page says page-1, often before it reaches the server
      // (test/attack-round5.test.ts holds the page until it has, and shows it cancelled).
      assert.ok(asked.includes('page-1'), asked.join(', '));
    } finally {
      server.close();
    }
  });
});

describe('leadingListMetadata', () => {
  const token = fc.option(fc.string({ minLength: 1 }), { nil: undefined });
  const names = fc.array(fc.string(), { maxLength: 5 });

  it('reads the metadata from any prefix that holds it, and never anything else', () => {
    fc.assert(
      fc.property(token, names, fc.boolean(), (continueToken, itemNames, itemsFirst) => {
        // Items whose own metadata says `continue`, to catch a reader that does not keep to the top level.
        const items = itemNames.map((name) => ({ metadata: { name, continue: 'not-this-one' } }));
        const metadata = {
          resourceVersion: '7',
          ...(continueToken === undefined ? {} : { continue: continueToken }),
        };
        const body = JSON.stringify(
          itemsFirst
            ? { items, kind: 'List', metadata }
            : { kind: 'List', apiVersion: 'v1', metadata, items },
        );
        for (let end = 0; end <= body.length; end++) {
          const seen = leadingListMetadata(body.slice(0, end));
          if (seen === 'incomplete') continue;
          if (itemsFirst) {
            assert.equal(seen, 'absent');
            return;
          }
          assert.notEqual(seen, 'absent', `prefix ${end} of ${body}`);
          assert.deepEqual(seen, { continueToken, resourceVersion: '7' });
          assert.ok(end >= body.indexOf(',"items"'), 'found only once the metadata is complete');
          return;
        }
        assert.fail(`never decided on ${body}`);
      }),
      { numRuns: 300 },
    );
  });

  it('says absent for what is not a list object', () => {
    for (const text of ['[1,2]', '"text"', '{}', '{"kind":"List"}', 'null'])
      assert.equal(leadingListMetadata(text), 'absent', text);
  });
});
