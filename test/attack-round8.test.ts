// Attack from outside (round 8): topology answers, named clusters, the command line and the REST seams, each case
// against the real endpointd on loopback. Each case is a defect the earlier tests missed.
import assert from 'node:assert/strict';
import { Metadata } from '@grpc/grpc-js';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer as createHttpServer } from 'node:http';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { runClient } from '../src/cli/index.ts';
import { UNLIMITED } from '../src/config/index.ts';
import { sliceManifest, startTestEndpointd, TEST_CONFIG } from './support/endpointd.ts';
import { endpoints, endpointSlice, truncatedEndpoints } from './support/fake-apiserver/fixtures.ts';
import { FakeApiServer } from './support/fake-apiserver/index.ts';
import { kubeconfigYaml } from './support/fake-apiserver/kubeconfig.ts';
import { startKubeEndpointd } from './support/kube-endpointd.ts';
import { StreamReader, TestClient, type DecodedWatchResponse } from './support/grpc-discovery.ts';
import { launchBrowser } from './support/browser.ts';
import { EventStream, eventually, get } from './support/http.ts';
import { startMulticlusterEndpointd } from './support/multicluster-endpointd.ts';

/** A loopback TCP proxy that can cut its connections and refuse new ones for a while (a server out of reach). */
async function startGate(targetPort: number): Promise<{
  url: string;
  /** Cuts every open connection and refuses new ones until open(). */
  block(): void;
  open(): void;
  close(): Promise<void>;
}> {
  const sockets = new Set<Socket>();
  let blocked = false;
  const server: Server = createServer((client) => {
    if (blocked) {
      client.destroy();
      return;
    }
    const upstream = connect(targetPort, '127.0.0.1');
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => {});
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    block: () => {
      blocked = true;
      for (const s of sockets) s.destroy();
    },
    open: () => {
      blocked = false;
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A client command run in this process against a real server, its output collected as it comes. */
function startClient(
  command: string,
  argv: string[],
): {
  stdout: () => string;
  stderr: () => string;
  /** The exit code, once the command ends by itself. */
  exit: Promise<number>;
  stop: () => Promise<number>;
} {
  let out = '';
  let err = '';
  const sink = (append: (text: string) => void): Writable =>
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        append(chunk.toString());
        done();
      },
    });
  const abort = new AbortController();
  const running = runClient(command, argv, {
    stdout: sink((t) => (out += t)),
    stderr: sink((t) => (err += t)),
    env: {},
    signal: abort.signal,
  });
  return {
    stdout: () => out,
    stderr: () => err,
    exit: running,
    stop: async () => {
      abort.abort();
      return running;
    },
  };
}

/**
 * A TokenReview API that answers each review only when the test says (a slow API server); it vouches for every
 * token. `kubeconfig` is endpointd's way to it.
 */
async function startHeldTokenReviews(): Promise<{
  kubeconfig: string;
  /** The reviews asked and not answered yet: call one to answer it. */
  pending: Array<() => void>;
  close: () => Promise<void>;
}> {
  const pending: Array<() => void> = [];
  const api = createHttpServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      pending.push(() => {
        const { spec } = JSON.parse(body) as { spec: { token: string } };
        res.writeHead(201, { 'Content-Type': 'application/json' });
        res.end(
          JSON.stringify({
            apiVersion: 'authentication.k8s.io/v1',
            kind: 'TokenReview',
            status: { authenticated: true, user: { username: `user-${spec.token}`, groups: [] } },
          }),
        );
      });
    });
  });
  await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', resolve));
  const dir = await mkdtemp(join(tmpdir(), 'endpointd-round8-'));
  const kubeconfig = join(dir, 'kubeconfig');
  const url = `http://127.0.0.1:${(api.address() as AddressInfo).port}`;
  await writeFile(kubeconfig, kubeconfigYaml({ url, caPem: undefined, namespace: 'default' }, 'reviewer'));
  return {
    kubeconfig,
    pending,
    close: async () => {
      for (const answer of pending.splice(0)) answer();
      api.closeAllConnections();
      await new Promise<void>((resolve) => api.close(() => resolve()));
      await rm(dir, { recursive: true, force: true });
    },
  };
}

describe('endpointd watch SERVICE across a lost connection', () => {
  it('prints <deleted> for a service deleted while the server was out of reach', async () => {
    const server = await startTestEndpointd({ 'web.yaml': sliceManifest('shop', 'web', ['10.0.0.1']) });
    const gate = await startGate(Number(new URL(server.url).port));
    const watch = startClient('watch', ['-s', gate.url, 'shop/web']);
    try {
      await eventually(() => (watch.stdout().includes('10.0.0.1:8080') ? true : undefined), 10_000);
      gate.block();
      await eventually(() => (watch.stderr().includes('reconnecting') ? true : undefined), 10_000);
      await server.remove('web.yaml');
      await eventually(
        async () =>
          (await get(`${server.url}/v1/namespaces/shop/services/web`)).status === 404 ? true : undefined,
        10_000,
      );
      gate.open();
      await eventually(() => (watch.stderr().includes('does not exist') ? true : undefined), 15_000);
      const rows = watch.stdout().trim().split('\n');
      assert.match(
        rows.at(-1) ?? '',
        /^web\s+<deleted>\s+0s$/,
        `the table ends with the deletion:\n${watch.stdout()}`,
      );
    } finally {
      assert.equal(await watch.stop(), 0);
      await gate.close();
      await server.stop();
    }
  });
});

describe('endpointd watch refused for a while on reconnecting (429)', () => {
  it('waits and reconnects instead of ending, as it does for any lost connection', async () => {
    const server = await startTestEndpointd(
      { 'web.yaml': sliceManifest('shop', 'web', ['10.0.0.1']) },
      { limits: { ...UNLIMITED, restStreams: { total: 0, perClient: 2 } } },
    );
    const gate = await startGate(Number(new URL(server.url).port));
    const watch = startClient('watch', ['-s', gate.url, 'shop/web']);
    const held: AbortController[] = [];
    try {
      await eventually(() => (watch.stdout().includes('10.0.0.1:8080') ? true : undefined), 10_000);
      gate.block();
      await eventually(() => (watch.stderr().includes('reconnecting') ? true : undefined), 10_000);
      // Every stream slot of this address taken by others while the watch is away: its reconnection gets 429.
      await eventually(async () => {
        const other = new AbortController();
        const answer = await fetch(`${server.url}/v1/namespaces/shop/services/web/watch`, {
          signal: other.signal,
        });
        if (answer.status === 200) held.push(other);
        else other.abort();
        return held.length === 2 ? true : undefined;
      }, 10_000);
      gate.open();
      await eventually(() => (watch.stderr().includes('429') ? true : undefined), 15_000);
      held.pop()?.abort();
      await server.write('web.yaml', sliceManifest('shop', 'web', ['10.0.0.1', '10.0.0.2']));
      await eventually(() => (watch.stdout().includes('10.0.0.2:8080') ? true : undefined), 20_000);
    } finally {
      for (const other of held) other.abort();
      assert.equal(await watch.stop(), 0, `the watch ended by itself:\n${watch.stderr()}`);
      await gate.close();
      await server.stop();
    }
  });
});

describe('endpointd get (every service) against a server that stalls mid-answer', () => {
  it('gives up after --request-timeout, as for any answer', async () => {
    // Answers the head of the watch stream the list is read from, then nothing (a stalled server, or a proxy
    // that buffers the stream).
    const stalled = createHttpServer((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/x-ndjson' });
      res.flushHeaders();
    });
    await new Promise<void>((resolve) => stalled.listen(0, '127.0.0.1', resolve));
    const { port } = stalled.address() as AddressInfo;
    const started = performance.now();
    const get = startClient('get', ['-s', `http://127.0.0.1:${port}`, '--request-timeout', '1s']);
    let timer: NodeJS.Timeout | undefined;
    try {
      const code = await Promise.race([
        get.exit,
        new Promise<string>((resolve) => (timer = setTimeout(() => resolve('still running'), 10_000))),
      ]);
      assert.equal(code, 3, get.stderr());
      assert.ok(performance.now() - started < 10_000);
    } finally {
      clearTimeout(timer);
      await get.stop();
      stalled.closeAllConnections();
      await new Promise<void>((resolve) => stalled.close(() => resolve()));
    }
  });
});

describe('gRPC stream slots and a call cancelled while its token is reviewed', () => {
  it('does not keep the slot of a call that ended before it was admitted', async () => {
    const review = await startHeldTokenReviews();
    const server = await startTestEndpointd(
      { 'web.yaml': sliceManifest('shop', 'web', ['10.0.0.1']) },
      {
        security: { ...TEST_CONFIG.security, auth: { ...TEST_CONFIG.security.auth, tokenReview: true } },
        tokenReviewApi: { ...TEST_CONFIG.tokenReviewApi, kubeconfig: review.kubeconfig },
        limits: { ...UNLIMITED, grpcStreams: { total: 0, perClient: 2 } },
      },
    );
    const client = new TestClient(`127.0.0.1:${server.endpointd.grpcPort}`);
    const watchWith = (token: string): StreamReader<DecodedWatchResponse> => {
      const metadata = new Metadata();
      metadata.set('authorization', `Bearer ${token}`);
      return client.watch({ services: [{ namespace: 'shop', name: 'web' }] }, metadata);
    };
    try {
      // Two clients give up (cancel) while their new tokens are being reviewed; then the reviews answer.
      for (const token of ['first', 'second']) {
        const call = watchWith(token);
        await eventually(() => (review.pending.length > 0 ? true : undefined), 10_000);
        call.call.cancel();
        await new Promise((resolve) => setTimeout(resolve, 100));
        review.pending.shift()?.();
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
      // Nothing of theirs is open: this address's two slots are free for the next client.
      const next = watchWith('third');
      await eventually(() => (review.pending.length > 0 ? true : undefined), 10_000);
      review.pending.shift()?.();
      const answer = await Promise.race([
        next.next().then(
          (message) => `message ${JSON.stringify(message).slice(0, 40)}`,
          (error: Error) => `error ${error.message}`,
        ),
        new Promise<string>((resolve) => setTimeout(() => resolve('nothing'), 10_000)),
      ]);
      assert.match(answer, /^message/);
      next.call.cancel();
    } finally {
      client.close();
      await server.stop();
      await review.close();
    }
  });
});

describe('REST stream slots and a watch whose client left while its token was reviewed', () => {
  it('does not keep the slot (nor the stream) of a request whose client is gone', async () => {
    const review = await startHeldTokenReviews();
    const server = await startTestEndpointd(
      { 'web.yaml': sliceManifest('shop', 'web', ['10.0.0.1']) },
      {
        security: { ...TEST_CONFIG.security, auth: { ...TEST_CONFIG.security.auth, tokenReview: true } },
        tokenReviewApi: { ...TEST_CONFIG.tokenReviewApi, kubeconfig: review.kubeconfig },
        limits: { ...UNLIMITED, restStreams: { total: 0, perClient: 2 } },
      },
    );
    const watchUrl = `${server.url}/v1/namespaces/shop/services/web/watch`;
    const watchWith = (token: string, signal: AbortSignal): Promise<Response> =>
      fetch(watchUrl, { headers: { authorization: `Bearer ${token}` }, signal });
    try {
      // Two clients give up while their new tokens are being reviewed; then the reviews answer.
      for (const token of ['first', 'second']) {
        const gone = new AbortController();
        const answer = watchWith(token, gone.signal).catch(() => undefined);
        await eventually(() => (review.pending.length > 0 ? true : undefined), 10_000);
        gone.abort();
        await answer;
        await new Promise((resolve) => setTimeout(resolve, 100));
        review.pending.shift()?.();
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
      // Nothing of theirs is open: this address's two slots are free for the next client.
      const next = new AbortController();
      const answer = watchWith('third', next.signal);
      await eventually(() => (review.pending.length > 0 ? true : undefined), 10_000);
      review.pending.shift()?.();
      const status = (await answer).status;
      next.abort();
      assert.equal(status, 200);
    } finally {
      await server.stop();
      await review.close();
    }
  });
});

describe('Kubernetes source: a slice whose service-name label is no Service name', () => {
  it('is skipped, as the file source skips it: every Service listed can be looked up', async () => {
    const api = await FakeApiServer.start();
    // A label value the API server accepts (upper case, `_`, `.`) but no Service can be named: a hand-made slice.
    api.create(
      'endpointslices',
      endpointSlice({ service: 'Manual_Backends.v2', namespace: 'shop', name: 'manual-1' }),
    );
    api.create('endpointslices', endpointSlice({ service: 'web', namespace: 'shop' }));
    const t = await startKubeEndpointd(api);
    try {
      await t.until('shop', 'web', (b) => b !== undefined);
      const listed = (await get(`${t.url}/v1/services?namespace=shop`)).json<{
        services: Array<{ namespace: string; name: string }>;
      }>().services;
      for (const s of listed) {
        const answer = await get(
          `${t.url}/v1/namespaces/${s.namespace}/services/${encodeURIComponent(s.name)}`,
        );
        assert.equal(
          answer.status,
          200,
          `listed ${s.namespace}/${s.name}, but its lookup says ${answer.text}`,
        );
      }
      assert.deepEqual(
        listed.map((s) => s.name),
        ['web'],
      );
    } finally {
      await t.stop();
      await api.close();
    }
  });
});

describe('endpointd get and watch, and what a server sends them', () => {
  it('never writes a control character the server sent to the terminal (a hostile server, a proxy in between)', async () => {
    const evil = 'web\u001b]0;owned\u0007\u001b[2J';
    const service = {
      namespace: 'shop',
      name: evil,
      version: 'v1',
      ports: [{ name: 'http\u001b[31m', port: 80, protocol: 'TCP' }],
      endpoints: [
        {
          addresses: ['10.0.0.1\u001b[8m'],
          addressType: 'IPv4',
          ports: [{ name: 'http', port: 80, protocol: 'TCP' }],
          ready: true,
          serving: true,
          terminating: false,
          hostname: null,
          nodeName: null,
          zone: null,
          targetRef: null,
          hints: null,
        },
      ],
      service: null,
    };
    const hostile = createHttpServer((req, res) => {
      if (req.url?.startsWith('/v1/watch') === true) {
        res.writeHead(200, { 'Content-Type': 'application/x-ndjson' });
        res.end(
          `${JSON.stringify({ type: 'ADDED', namespace: 'shop', name: evil, version: 'v1', service })}\n${JSON.stringify({ type: 'SYNCED' })}\n`,
        );
        return;
      }
      res.writeHead(404, { 'Content-Type': 'application/problem+json' });
      res.end(JSON.stringify({ type: 'about:blank', title: 'Not Found', status: 404, detail: `no ${evil}` }));
    });
    await new Promise<void>((resolve) => hostile.listen(0, '127.0.0.1', resolve));
    const server = `http://127.0.0.1:${(hostile.address() as AddressInfo).port}`;
    try {
      for (const args of [['-o', 'wide'], ['shop/web']]) {
        const run = startClient('get', ['-s', server, ...args]);
        await run.exit;
        const written = run.stdout() + run.stderr();
        assert.ok(written.length > 0);
        // eslint-disable-next-line no-control-regex
        assert.doesNotMatch(written, /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/, JSON.stringify(written));
      }
    } finally {
      hostile.closeAllConnections();
      await new Promise<void>((resolve) => hostile.close(() => resolve()));
    }
  });
});

describe('a named cluster that joins after --cluster-ready-timeout', () => {
  it('shows its Services current (stale: false) from the moment they appear, with no flip behind', async () => {
    const api = await FakeApiServer.start();
    api.create('endpointslices', endpointSlice({ service: 'web', namespace: 'shop', name: 'web-1' }));
    // Its first list hangs: endpointd becomes ready without it, then it answers.
    api.stall({ verb: 'list', resource: 'endpointslices', phase: 'before-headers' });
    const t = await startMulticlusterEndpointd([{ name: 'east', api }], {
      settings: { readyTimeoutMs: 200 },
    });
    const watch = await EventStream.open(`${t.url}/v1/namespaces/shop/services/web/watch?endpoints=all`);
    try {
      assert.equal((await watch.next()).data.type, 'ABSENT');
      api.unstall();
      const added = (await watch.until('ADDED', 10_000)).at(-1)?.data as
        { service?: { clusters?: Array<{ name: string; stale: boolean }> } } | undefined;
      assert.deepEqual(added?.service?.clusters, [{ name: 'east', stale: false }]);
      // Nothing changed in the cluster: no second version of the Service follows.
      const next = await watch.next(1500).then(
        (event) => event.data,
        () => undefined,
      );
      assert.ok(next === undefined || next.type === 'HEARTBEAT', JSON.stringify(next));
    } finally {
      watch.close();
      await t.stop();
      await api.close();
    }
  });
});

describe("one cluster's share of a Service whose legacy Endpoints another cluster cut at 1,000", () => {
  it('says truncated only for the cluster that was cut', async () => {
    const [east, west] = await Promise.all([FakeApiServer.start(), FakeApiServer.start()]);
    west.create('endpoints', truncatedEndpoints({ service: 'big', namespace: 'shop', total: 1500 }));
    east.create('endpoints', endpoints({ service: 'big', namespace: 'shop', ready: [{ ip: '10.9.0.1' }] }));
    const t = await startMulticlusterEndpointd(
      [
        { name: 'east', api: east },
        { name: 'west', api: west },
      ],
      { kubernetes: { resource: 'endpoints' } },
    );
    try {
      const merged = await t.until('shop', 'big', (b) => (b?.clusters?.length ?? 0) === 2);
      assert.equal(merged?.truncated, true, 'the merged Service holds a cut part');
      const eastShare = await t.lookup('shop', 'big', 'east');
      assert.equal(eastShare?.endpoints.length, 1);
      assert.equal(eastShare?.truncated, undefined, "east's Endpoints were not cut");
      assert.equal((await t.lookup('shop', 'big', 'west'))?.truncated, true);
      assert.deepEqual(
        merged?.clusters?.map((c) => [c.name, c.truncated === true]),
        [
          ['east', false],
          ['west', true],
        ],
      );
      // gRPC says the same of each part.
      const grpc = new TestClient(`127.0.0.1:${t.endpointd.grpcPort}`);
      try {
        const { service } = await grpc.resolve({ namespace: 'shop', name: 'big' });
        assert.deepEqual(
          service.clusters.map((c) => [c.name, c.truncated]),
          [
            ['east', false],
            ['west', true],
          ],
        );
      } finally {
        grpc.close();
      }
    } finally {
      await t.stop();
      await Promise.all([east.close(), west.close()]);
    }
  });
});

describe('the dashboard’s service page across a lost connection', () => {
  it('says the service was deleted when it went away while the page was disconnected', async () => {
    const server = await startTestEndpointd({ 'web.yaml': sliceManifest('shop', 'web', ['10.0.0.1']) });
    const gate = await startGate(Number(new URL(server.url).port));
    const browser = await launchBrowser();
    try {
      const page = await browser.context.newPage();
      await page.goto(`${gate.url}/ui/#/services/shop/web`);
      await page.waitForSelector('#endpoints tbody tr[data-address="10.0.0.1"]');
      await page.waitForSelector('#detail-view[data-synced="true"]');
      gate.block();
      await page.waitForSelector('#detail-view[data-synced="false"]', { timeout: 10_000 });
      await server.remove('web.yaml');
      await eventually(
        async () =>
          (await get(`${server.url}/v1/namespaces/shop/services/web`)).status === 404 ? true : undefined,
        10_000,
      );
      gate.open();
      await page.waitForSelector('#detail-view[data-resumed="true"][data-synced="true"]', {
        timeout: 15_000,
      });
      const status = await page.evaluate(() => document.getElementById('detail-status')?.textContent ?? '');
      assert.match(status, /deleted/, 'it was shown, then deleted: not "no such service"');
      assert.equal(await page.locator('#endpoints tbody tr').count(), 0);
    } finally {
      await browser.close();
      await gate.close();
      await server.stop();
    }
  });
});
