// The repeated-lookup fast path's test door (test/rest-fast-path.test.ts, test/attack-round12.test.ts): one RestApi
// with the real guards (a tokens file, a rate limit), served twice — by its express app alone (every request routed)
// and by its listener (a repeat answered before express) — with the raw exchange and the metrics reading that
// compare the two.
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express from 'express';
import { createRestApi, type RestApi } from '../../src/api/rest/app.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { Metrics } from '../../src/observability/metrics.ts';
import { Readiness } from '../../src/observability/readiness.ts';
import { createGuards, type Guards, type LimitsConfig } from '../../src/security/guards.ts';
import { EndpointStore } from '../../src/store/endpoint-store.ts';
import { ManualSource } from './manual-source.ts';
import { readyEndpoint } from './services.ts';
import { TEST_CONFIG } from './endpointd.ts';

export const TOKEN = 'fast-path-token';
export const LOOKUP = '/v1/namespaces/shop/services/web';

/** Both ways of serving one RestApi, and what reached express. */
export interface Door {
  readonly routedPort: number;
  readonly fastPort: number;
  readonly metrics: Metrics;
  /** Requests that reached express's app through the fast server (the routed server's all do). */
  readonly reachedExpress: () => number;
  readonly api: RestApi;
  readonly tokensFile: string;
  readonly store: EndpointStore;
  stop(): Promise<void>;
}

export async function openDoor(
  limits: LimitsConfig,
  reloadIntervalMs = TEST_CONFIG.security.reloadIntervalMs,
): Promise<Door> {
  const dir = await mkdtemp(join(tmpdir(), 'endpointd-fast-path-'));
  const tokensFile = join(dir, 'tokens');
  await writeFile(tokensFile, `${TOKEN},ci\n`);
  const logger = createLogger('silent');
  const store = new EndpointStore({ encodedCacheBytes: 1 << 20 });
  const source = new ManualSource(true);
  const readiness = new Readiness([source]);
  store.upsert('manual', {
    namespace: 'shop',
    name: 'web',
    ports: [
      { name: 'http', port: 8080, protocol: 'TCP' },
      { name: 'metrics', port: 9100, protocol: 'TCP' },
    ],
    endpoints: [
      readyEndpoint('10.0.0.1', { zone: 'zone-a', nodeName: 'node-1' }),
      readyEndpoint('10.0.0.2', { zone: 'zone-b', nodeName: 'node-2' }),
      readyEndpoint('10.0.0.3', { ready: false, serving: true, terminating: true, zone: 'zone-a' }),
    ],
  });
  const metrics = new Metrics({ store, sources: [source] });
  const guards: Guards = await createGuards({
    security: {
      ...TEST_CONFIG.security,
      reloadIntervalMs,
      auth: { ...TEST_CONFIG.security.auth, tokensFile },
    },
    limits,
    kubeconfig: { kubeconfig: undefined, context: undefined },
    logger,
    metrics,
  });
  let reached = 0;
  let counting = false;
  // A public router (as the dashboard's is) that only sees what reaches express, and lets it through.
  const witness = express.Router();
  witness.use((_req, _res, next) => {
    if (counting) reached += 1;
    next();
  });
  const api = createRestApi({
    store,
    readiness,
    logger,
    metrics,
    heartbeatMs: 15_000,
    guards: [guards.restAuthenticate],
    limits: guards.restLimits,
    admitRepeat: guards.restAdmitRepeat,
    cors: { allowOrigins: ['https://dash.example.com'] },
    publicRouters: [witness],
  });
  const listen = async (server: Server): Promise<number> => {
    // As the composition root's drain does: a header set before the door runs, which the answer must keep.
    server.prependListener('request', (req, res) => {
      if (req.headers['x-drain'] !== undefined) res.setHeader('Connection', 'close');
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    return (server.address() as AddressInfo).port;
  };
  const routed = guards.createRestServer(api.app);
  const fast = guards.createRestServer((req, res) => {
    counting = true;
    try {
      api.listener(req, res);
    } finally {
      counting = false;
    }
  });
  const [routedPort, fastPort] = [await listen(routed), await listen(fast)];
  return {
    routedPort,
    fastPort,
    metrics,
    api,
    store,
    tokensFile,
    reachedExpress: () => reached,
    stop: async () => {
      for (const server of [routed, fast]) {
        server.closeAllConnections();
        server.close();
      }
      guards.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Writes `request` on a new connection and reads one answer: its head, then its body by Content-Length (none for
 * a 304 or a HEAD). The raw text, with the Date header taken out (the one thing that may differ).
 */
export function exchange(port: number, request: string, head: boolean): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(request));
    let received = Buffer.alloc(0);
    const done = (): void => {
      socket.destroy();
      resolve(received.toString('latin1').replace(/\r\nDate: [^\r]*/, ''));
    };
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      const end = received.indexOf('\r\n\r\n');
      if (end < 0) return;
      const headText = received.subarray(0, end).toString('latin1');
      const length = /\r\ncontent-length: (\d+)/i.exec(headText);
      const status = Number(headText.slice(9, 12));
      const bodyLength = head || status === 304 || length === null ? 0 : Number(length[1]);
      if (received.length >= end + 4 + bodyLength) done();
    });
    socket.on('close', done);
    socket.on('error', reject);
  });
}

/** Every request counted, by (route, method, code), from the registry (not over HTTP: that would count too). */
export async function counted(metrics: Metrics): Promise<Map<string, number>> {
  const series = new Map<string, number>();
  for (const line of (await metrics.registry.metrics()).split('\n')) {
    if (!line.startsWith('endpointd_http_requests_total{')) continue;
    const space = line.lastIndexOf(' ');
    series.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return series;
}

export function added(before: Map<string, number>, now: Map<string, number>): Map<string, number> {
  const diff = new Map<string, number>();
  for (const [name, value] of now) {
    const grown = value - (before.get(name) ?? 0);
    if (grown !== 0) diff.set(name, grown);
  }
  return diff;
}
