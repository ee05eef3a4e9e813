// Attack on round 6's connection reuse to the API server (src/kube/dispatcher-reuse.ts): what a reused connection
// meets that a connection per request never did — a server (or a proxy, a load balancer in front of it) that
// closes a kept-alive connection without saying so, where the next request then finds the socket closed before any
// answer; and a kubeconfig's proxy-url, whose CONNECT tunnels must be reused as the direct connections are. Real
// client-node KubeConfig and undici against loopback servers (a raw list server, the fake API server over TLS
// behind a real CONNECT proxy).
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { after, describe, it } from 'node:test';
import { KubeConfig } from '@kubernetes/client-node';
import { KubeClient } from '../src/kube/kube-client.ts';
import { TokenReviewer } from '../src/security/token-review.ts';
import { listAllPages } from '../src/sources/kubernetes/list-pager.ts';
import { endpointSlice, FakeApiServer } from './support/fake-apiserver/index.ts';
import { plainHttpKubeConfig } from './support/fake-apiserver/kubeconfig.ts';

const SLICES = '/apis/discovery.k8s.io/v1/endpointslices';
const closers: Array<() => Promise<void> | void> = [];
after(async () => {
  for (const close of closers) await close();
});

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return (server.address() as AddressInfo).port;
}

/**
 * A server that answers one request per connection and then, on the next request that connection brings, closes it
 * without a word (no `Connection: close` on the answer before).
 */
function servingOnePerConnection(handle: (req: IncomingMessage, res: ServerResponse) => void): Server {
  const served = new WeakSet<Socket>();
  return createServer((req, res) => {
    if (served.has(req.socket)) {
      req.socket.destroy();
      return;
    }
    served.add(req.socket);
    handle(req, res);
  });
}

/** One request per connection, as below, for TokenReviews: each token is reviewed as `user-<token>`. */
async function reviewerOnePerConnection(): Promise<{ url: string; reviews: () => number }> {
  let reviews = 0;
  const server = servingOnePerConnection((req, res) => {
    let text = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (text += chunk));
    req.on('end', () => {
      reviews += 1;
      const review = JSON.parse(text) as { spec: { token: string } };
      res.writeHead(201, { 'Content-Type': 'application/json' });
      res.end(
        JSON.stringify({
          kind: 'TokenReview',
          apiVersion: 'authentication.k8s.io/v1',
          status: { authenticated: true, user: { username: `user-${review.spec.token}` } },
        }),
      );
    });
  });
  const port = await listen(server);
  return { url: `http://127.0.0.1:${port}`, reviews: () => reviews };
}

/**
 * A list server of ten one-item pages that answers one request per connection and then, on the next request that
 * connection brings, closes it without a word (no `Connection: close` on the answer before): the race of a server's
 * or a load balancer's idle timeout against a reused connection, made certain.
 */
async function oneRequestPerConnection(): Promise<{ url: string; connections: () => number }> {
  let connections = 0;
  const server = servingOnePerConnection((req, res) => {
    const token = new URL(req.url ?? '/', 'http://x').searchParams.get('continue');
    const page = token === null ? 0 : Number(token);
    const metadata = { resourceVersion: '7', ...(page < 9 ? { continue: String(page + 1) } : {}) };
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(
      JSON.stringify({
        kind: 'EndpointSliceList',
        apiVersion: 'discovery.k8s.io/v1',
        metadata,
        items: [page],
      }),
    );
  });
  server.on('connection', () => (connections += 1));
  const port = await listen(server);
  return { url: `http://127.0.0.1:${port}`, connections: () => connections };
}

describe('Kubernetes client: a reused connection the server has closed', () => {
  it('a paged list completes when each connection is closed silently after one answer', async () => {
    const { url, connections } = await oneRequestPerConnection();
    const config = plainHttpKubeConfig(url);
    const client = new KubeClient(config);
    for (let round = 0; round < 3; round++) {
      const listed = await listAllPages({
        client,
        path: SLICES,
        pageSize: 1,
        transform: (item) => item,
        signal: new AbortController().signal,
      });
      assert.deepEqual(listed.items, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    }
    // Each page answered once on a connection of its own, plus at most one closed connection tried per page.
    assert.ok(connections() <= 60, `${connections()} connections for 30 pages`);
  });
});

describe('TokenReview: a reused connection the server has closed', () => {
  it('each review is answered when each connection is closed silently after one answer', async () => {
    const { url, reviews } = await reviewerOnePerConnection();
    const config = plainHttpKubeConfig(url);
    const reviewer = new TokenReviewer({ config });
    for (let i = 0; i < 10; i++)
      assert.deepEqual(await reviewer.review(`t${i}`), { authenticated: true, username: `user-t${i}` });
    assert.equal(reviews(), 10);
  });
});

/** A CONNECT proxy on loopback: it counts the tunnels it opens, and where to. */
async function connectProxy(): Promise<{ url: string; tunnels: string[] }> {
  const tunnels: string[] = [];
  const proxy = createServer((_req, res) => res.writeHead(405).end());
  proxy.on('connect', (req: IncomingMessage, client: Socket, head: Buffer) => {
    const [host, port] = (req.url ?? '').split(':');
    tunnels.push(req.url ?? '');
    const upstream = connect(Number(port), host ?? '127.0.0.1', () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    const cut = (): void => {
      upstream.destroy();
      client.destroy();
    };
    upstream.on('error', cut);
    client.on('error', cut);
    upstream.on('close', cut);
    client.on('close', cut);
  });
  const port = await listen(proxy);
  return { url: `http://127.0.0.1:${port}`, tunnels };
}

describe("Kubernetes client: the kubeconfig's proxy-url", () => {
  it('reaches an HTTPS API server through the proxy, on one or two tunnels for any number of pages', async () => {
    const api = await FakeApiServer.start({ tls: true });
    closers.push(() => api.close());
    for (let i = 0; i < 30; i++) api.create('endpointslices', endpointSlice({ service: `s${i}` }));
    const proxy = await connectProxy();
    const config = new KubeConfig();
    config.loadFromString(
      api.kubeconfigYaml().replace(/^(\s+)server: (.*)$/m, `$1server: $2\n$1proxy-url: ${proxy.url}`),
    );
    assert.equal(config.getCurrentCluster()?.proxyUrl, proxy.url, 'the kubeconfig names the proxy');
    const listed = await listAllPages({
      client: new KubeClient(config),
      path: SLICES,
      pageSize: 2,
      transform: (item) => item,
      signal: new AbortController().signal,
    });
    assert.equal(listed.items.length, 30);
    const host = new URL(api.url).host;
    assert.ok(proxy.tunnels.length >= 1 && proxy.tunnels.length <= 2, `${proxy.tunnels.length} tunnels`);
    assert.deepEqual(new Set(proxy.tunnels), new Set([host]), 'every tunnel leads to the API server');
    assert.equal(api.connectionsAccepted, proxy.tunnels.length, 'no connection around the proxy');
  });
});
