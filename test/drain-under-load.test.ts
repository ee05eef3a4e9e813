// SIGTERM while endpointd is busy: `node src/main.ts` under REST lookups on keep-alive connections, REST watch
// streams (SSE and NDJSON), gRPC Watch streams and gRPC Resolves. Every client must see a proper ending: each HTTP
// request answered with a status or its connection refused (never a reset of a request the server had taken), each
// watch stream ended cleanly (the chunked response completes), each gRPC call ended with a status (Watch streams
// UNAVAILABLE, so clients reconnect elsewhere); and the process exits 0 within delay + grace + a margin.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { status, type ServiceError } from '@grpc/grpc-js';
import { sliceManifest } from './support/endpointd.ts';
import { TestClient } from './support/grpc-discovery.ts';
import { get } from './support/http.ts';

const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));
const DELAY_MS = 500;
const GRACE_MS = 2000;
const MARGIN_MS = 1500;

interface HttpOutcome {
  readonly at: number;
  readonly status?: number;
  readonly error?: string;
  /** For an error: whether the request went out on a kept-alive connection (one that had answered before). */
  readonly reused?: boolean;
}

describe('SIGTERM during load', () => {
  it('ends every request and stream properly, and exits 0 within delay + grace', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'endpointd-drain-'));
    for (let i = 0; i < 20; i += 1)
      await writeFile(
        join(dir, `s${i}.yaml`),
        sliceManifest('shop', `s${i}`, [`10.0.${i}.1`, `10.0.${i}.2`]),
      );
    const child = spawn(
      process.execPath,
      [
        MAIN,
        '--source',
        `file:${dir}`,
        '--http-port',
        '0',
        '--grpc-port',
        '0',
        '--bind',
        '127.0.0.1',
        '--shutdown-delay',
        `${DELAY_MS}ms`,
        '--shutdown-grace',
        `${GRACE_MS / 1000}s`,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = once(child, 'exit').then(([code]) => ({
      code: code as number | null,
      at: performance.now(),
    }));
    let stopLoad = false;
    try {
      const ports = await (async () => {
        const deadline = Date.now() + 15_000;
        while (Date.now() < deadline) {
          const lines = stdout
            .split('\n')
            .filter((l) => l.startsWith('{'))
            .map((l) => JSON.parse(l) as { msg?: string; port?: number });
          const rest = lines.find((l) => l.msg === 'REST API listening')?.port;
          const grpc = lines.find((l) => l.msg === 'gRPC API listening')?.port;
          if (lines.some((l) => l.msg === 'ready') && rest !== undefined && grpc !== undefined)
            return { rest, grpc };
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
        throw new Error(`endpointd did not start:\n${stdout}\n${stderr}`);
      })();
      const url = `http://127.0.0.1:${ports.rest}`;

      // --- REST watch streams: 10 SSE, 10 NDJSON
      const streams: Array<{ res: IncomingMessage; ended: Promise<'complete' | 'cut'> }> = [];
      for (let i = 0; i < 20; i += 1) {
        const res = await new Promise<IncomingMessage>((resolve, reject) => {
          const req = httpRequest(
            `${url}/v1/${i % 2 === 0 ? `namespaces/shop/services/s${i}/watch` : 'watch'}`,
            { headers: i % 2 === 0 ? { Accept: 'text/event-stream' } : {} },
            resolve,
          );
          req.on('error', reject);
          req.end();
        });
        res.resume();
        const ended = new Promise<'complete' | 'cut'>((resolve) => {
          res.on('end', () => resolve(res.complete ? 'complete' : 'cut'));
          res.on('error', () => resolve('cut'));
          res.on('close', () => resolve(res.complete ? 'complete' : 'cut'));
        });
        streams.push({ res, ended });
      }

      // --- gRPC Watch streams (own connections) and a Resolve loop
      const grpcClients = Array.from(
        { length: 4 },
        () => new TestClient(`127.0.0.1:${ports.grpc}`, { 'grpc.use_local_subchannel_pool': 1 }),
      );
      const watches = Array.from({ length: 20 }, (_, i) =>
        grpcClients[i % grpcClients.length]!.watch(
          i % 2 === 0 ? { namespace: 'shop' } : { services: [{ namespace: 'shop', name: `s${i}` }] },
        ),
      );
      await Promise.all(
        watches.map((w) => w.until((m) => (m as { event: string }).event === 'synced', 5000)),
      );
      const resolveCodes = new Map<string, number>();
      const resolveLoops = grpcClients.map(async (client, k) => {
        let n = k;
        while (!stopLoad) {
          try {
            await client.resolve({ namespace: 'shop', name: `s${n % 20}` });
            resolveCodes.set('OK', (resolveCodes.get('OK') ?? 0) + 1);
          } catch (error) {
            const name = status[(error as ServiceError).code] ?? String(error);
            resolveCodes.set(name, (resolveCodes.get(name) ?? 0) + 1);
            await new Promise((resolve) => setTimeout(resolve, 20));
          }
          n += 4;
        }
      });

      // --- REST lookups on keep-alive connections (node's Agent: it tells whether a request reused a connection)
      const agent = new HttpAgent({ keepAlive: true, maxSockets: 8 });
      const lookups: HttpOutcome[] = [];
      const lookup = (path: string): Promise<HttpOutcome> =>
        new Promise((resolve) => {
          const req = httpRequest(`${url}${path}`, { agent, timeout: 5000 }, (res) => {
            res.resume();
            res.on('end', () => resolve({ at: performance.now(), status: res.statusCode ?? 0 }));
            res.on('error', (e: Error & { code?: string }) =>
              resolve({ at: performance.now(), error: `response ${e.code ?? e.message}` }),
            );
          });
          req.on('error', (e: Error & { code?: string }) =>
            resolve({ at: performance.now(), error: e.code ?? e.message, reused: req.reusedSocket }),
          );
          req.end();
        });
      const lookupLoops = Array.from({ length: 8 }, async (_, k) => {
        let n = k;
        while (!stopLoad) {
          const outcome = await lookup(`/v1/namespaces/shop/services/s${n % 20}`);
          lookups.push(outcome);
          if (outcome.error !== undefined) await new Promise((resolve) => setTimeout(resolve, 20));
          n += 8;
        }
      });

      await new Promise((resolve) => setTimeout(resolve, 500)); // load running
      assert.ok(lookups.length > 50, `lookups are flowing (${lookups.length})`);
      const signalledAt = performance.now();
      child.kill('SIGTERM');

      // During the delay: not ready, still answering.
      const readyz = await get(`${url}/readyz`);
      assert.equal(readyz.status, 503, 'not ready at once');
      const exit = await exited;
      stopLoad = true;
      await Promise.all([...lookupLoops, ...resolveLoops]);
      agent.destroy();
      const exitMs = exit.at - signalledAt;

      const streamEnds = await Promise.all(streams.map((s) => s.ended));
      const watchCodes = await Promise.all(watches.map((w) => w.ended(1000)));
      for (const client of grpcClients) client.close();

      const httpStatuses = new Map<string, number>();
      for (const o of lookups) {
        const key =
          o.status !== undefined
            ? String(o.status)
            : `${o.error ?? '?'}${o.error === 'ECONNRESET' ? (o.reused === true ? ' (kept-alive)' : ' (new)') : ''}`;
        httpStatuses.set(key, (httpStatuses.get(key) ?? 0) + 1);
      }
      console.log(
        `drain under load: exit ${exit.code} after ${exitMs.toFixed(0)} ms; REST lookups ${JSON.stringify(Object.fromEntries(httpStatuses))}; ` +
          `watch streams ${JSON.stringify(streamEnds.reduce<Record<string, number>>((m, e) => ({ ...m, [e]: (m[e] ?? 0) + 1 }), {}))}; ` +
          `gRPC Watch ${JSON.stringify(watchCodes.map((c) => status[c]).reduce<Record<string, number>>((m, e) => ({ ...m, [e ?? '?']: (m[e ?? '?'] ?? 0) + 1 }), {}))}; ` +
          `Resolve ${JSON.stringify(Object.fromEntries(resolveCodes))}`,
      );

      assert.equal(exit.code, 0, `exit code; stderr: ${stderr}`);
      assert.ok(exitMs < DELAY_MS + GRACE_MS + MARGIN_MS, `exited after ${exitMs.toFixed(0)} ms`);
      assert.match(stdout, /"msg":"stopped"/);
      // Every lookup was answered with a status, or refused once the server stopped accepting. A request on a
      // kept-alive connection (one the server had accepted and answered on) is never reset. A connection opened
      // in the very instant the listener closes can be reset by the kernel (it completed the handshake but the
      // server never accepted it: a refusal in effect); in production none arrive then, as the endpoint was removed
      // during the delay. Those are bounded by the number of clients and happen only after the delay.
      let freshResets = 0;
      for (const o of lookups) {
        if (o.status !== undefined) {
          assert.ok(o.status === 200, `lookup answered ${o.status}`);
          continue;
        }
        assert.ok(o.at - signalledAt >= DELAY_MS, `${o.error ?? ''} before the shutdown delay was over`);
        if (o.error === 'ECONNREFUSED') continue;
        assert.equal(o.error, 'ECONNRESET', `a lookup ended without a status: ${o.error}`);
        assert.notEqual(o.reused, true, 'a request on a kept-alive connection was reset');
        freshResets += 1;
      }
      assert.ok(freshResets <= 8, `${freshResets} new connections reset as the listener closed`);
      assert.ok(
        lookups.some((o) => o.status === 200 && o.at > signalledAt + 100),
        'lookups were still answered during the delay',
      );
      assert.deepEqual(
        streamEnds,
        streams.map(() => 'complete'),
        'every watch stream ended cleanly',
      );
      assert.deepEqual(
        watchCodes.map((c) => status[c]),
        watches.map(() => 'UNAVAILABLE'),
        'every gRPC Watch ended UNAVAILABLE',
      );
      for (const code of resolveCodes.keys())
        assert.ok(code === 'OK' || code === 'UNAVAILABLE', `a Resolve ended ${code}`);
    } finally {
      stopLoad = true;
      child.kill('SIGKILL');
      await rm(dir, { recursive: true, force: true });
    }
  });
});
