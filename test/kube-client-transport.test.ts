// What the client's transport does between endpointd and the API server (undici's fetch() under client-node's
// credentials): list pages and Status bodies a real API server (or a proxy) compresses are asked for and decoded, the
// bound on an answer counts its decoded bytes, and redirects are followed, the bearer token only to its own origin.
import assert from 'node:assert/strict';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { gzipSync } from 'node:zlib';
import { after, describe, it } from 'node:test';
import { KubeConfig } from '@kubernetes/client-node';
import { KubeApiError, KubeClient, ResponseTooLargeError } from '../src/kube/kube-client.ts';
import { kubeconfigYaml } from './support/fake-apiserver/kubeconfig.ts';
import { rawServer } from './support/http.ts';

const SLICES = '/apis/discovery.k8s.io/v1/endpointslices';
const TOKEN = 'transport-test-token';

function clientFor(url: string, maxResponseBytes?: number): KubeClient {
  const config = new KubeConfig();
  config.loadFromString(kubeconfigYaml({ url, caPem: undefined, namespace: 'default' }, TOKEN));
  return new KubeClient(config, { maxResponseBytes });
}

const servers: Server[] = [];
after(() => {
  for (const server of servers) server.close();
});

/** A loopback server of the test's (closed after it), with its URL. */
async function serverAt(answer: (req: IncomingMessage, res: ServerResponse) => void): Promise<string> {
  const { url, server } = await rawServer(answer);
  servers.push(server);
  return url;
}

function listBody(names: readonly string[]): string {
  return JSON.stringify({
    kind: 'EndpointSliceList',
    metadata: { resourceVersion: '42' },
    items: names.map((name) => ({ metadata: { name, namespace: 'default' }, addressType: 'IPv4' })),
  });
}

/** Answers as the API server does with compression on: gzip when the request accepts it. */
function gzipWhenAsked(req: IncomingMessage, res: ServerResponse, status: number, text: string): void {
  const accepts = /\bgzip\b/.test(req.headers['accept-encoding'] ?? '');
  res.writeHead(status, {
    'Content-Type': 'application/json',
    ...(accepts ? { 'Content-Encoding': 'gzip' } : {}),
  });
  res.end(accepts ? gzipSync(text) : text);
}

describe('the Kubernetes client transport', () => {
  it('asks for gzip and reads a compressed list page', async () => {
    const encodings: (string | undefined)[] = [];
    const url = await serverAt((req, res) => {
      encodings.push(req.headers['accept-encoding']);
      gzipWhenAsked(req, res, 200, listBody(['a', 'b', 'c']));
    });
    const page = await clientFor(url).list(SLICES, { limit: '500' }, AbortSignal.timeout(10_000));
    assert.deepEqual(
      page.items.map((item) => (item as { metadata: { name: string } }).metadata.name),
      ['a', 'b', 'c'],
    );
    assert.equal(page.resourceVersion, '42');
    assert.match(encodings[0] ?? '', /\bgzip\b/);
  });

  it("reads a compressed error's Status: its message and reason reach the error", async () => {
    const url = await serverAt((req, res) =>
      gzipWhenAsked(
        req,
        res,
        403,
        JSON.stringify({
          kind: 'Status',
          status: 'Failure',
          message: 'endpointslices.discovery.k8s.io is forbidden: no list for you',
          reason: 'Forbidden',
          code: 403,
        }),
      ),
    );
    const failure = await clientFor(url)
      .list(SLICES, {}, AbortSignal.timeout(10_000))
      .then(
        () => undefined,
        (error: unknown) => error,
      );
    assert.ok(failure instanceof KubeApiError, String(failure));
    assert.equal(failure.status, 403);
    assert.equal(failure.reason, 'Forbidden');
    assert.match(failure.message, /no list for you/);
  });

  it('bounds a compressed page by its decoded bytes: a small gzip of a huge body is refused', async () => {
    // ~8 MB of JSON that compresses to a few KB: the bound is on what is decoded, not on what crossed the wire.
    const huge = listBody(Array.from({ length: 200_000 }, (_, i) => `slice-${i}`));
    const compressed = gzipSync(huge);
    assert.ok(compressed.byteLength < 1024 * 1024, 'the page compresses below the bound');
    const url = await serverAt((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Encoding': 'gzip' });
      res.end(compressed);
    });
    await assert.rejects(
      clientFor(url, 1024 * 1024).list(SLICES, {}, AbortSignal.timeout(10_000)),
      ResponseTooLargeError,
    );
  });

  it('follows a redirect on the same origin with the token, and to another origin without it', async () => {
    const seen: { where: string; authorization: string | undefined }[] = [];
    const other = await serverAt((req, res) => {
      seen.push({ where: `other ${req.url ?? ''}`, authorization: req.headers.authorization });
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(listBody(['elsewhere']));
    });
    const url = await serverAt((req, res) => {
      seen.push({ where: `first ${req.url ?? ''}`, authorization: req.headers.authorization });
      if (req.url?.startsWith('/moved') === true) {
        res.writeHead(307, { Location: `${other}/final` });
        res.end();
        return;
      }
      res.writeHead(307, { Location: '/moved' });
      res.end();
    });
    const page = await clientFor(url).list(SLICES, {}, AbortSignal.timeout(10_000));
    assert.deepEqual(
      page.items.map((item) => (item as { metadata: { name: string } }).metadata.name),
      ['elsewhere'],
    );
    assert.deepEqual(
      seen.map((s) => [s.where.split('?')[0], s.authorization]),
      [
        [`first ${SLICES}`, `Bearer ${TOKEN}`],
        ['first /moved', `Bearer ${TOKEN}`],
        ['other /final', undefined],
      ],
    );
  });
});
