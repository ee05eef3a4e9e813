// The REST server's idle timeout (src/limits/http-limits.ts) tells a connection stalled in the middle of a request
// from one kept alive between requests: both are closed, only the first is a refusal (`idle_timeout`). Pipelined
// requests count by the answer last begun.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { connect } from 'node:net';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { guardHttpServer, httpServerOptions, type HttpLimits } from '../src/limits/http-limits.ts';
import { Refusals } from '../src/limits/refusals.ts';
import { createLogger } from '../src/observability/logger.ts';
import { Metrics } from '../src/observability/metrics.ts';
import { EndpointStore } from '../src/store/endpoint-store.ts';

const IDLE_MS = 300;

/** Sends `text` on a new connection; resolves with every byte received once the server closes it. */
function exchange(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(text));
    let received = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (received += chunk));
    socket.on('close', () => resolve(received));
    socket.on('error', reject);
  });
}

describe('the REST idle timeout', () => {
  let server: Server;
  let port: number;
  let metrics: Metrics;
  before(async () => {
    metrics = new Metrics({ store: new EndpointStore({ encodedCacheBytes: 1 << 20 }), sources: [] });
    // `/hold` is a request the server never answers: a connection stalled mid-request.
    const limits: HttpLimits = {
      maxHeaderBytes: 8192,
      headersTimeoutMs: 10_000,
      requestTimeoutMs: 0,
      // A kept-alive connection is closed on node's keep-alive timer, which reports to the same callback.
      keepAliveTimeoutMs: IDLE_MS,
      idleTimeoutMs: IDLE_MS,
    };
    server = createServer(httpServerOptions(limits), (req, res) => {
      if (req.url !== '/hold') res.end('ok');
    });
    guardHttpServer(server, limits, new Refusals(createLogger('silent'), metrics));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    port = (server.address() as AddressInfo).port;
  });
  after(() => {
    server.closeAllConnections();
    server.close();
  });

  const idleRefusals = async (): Promise<number> => {
    const text = await metrics.registry.metrics();
    const line = text
      .split('\n')
      .find((l) => l.startsWith('endpointd_rejected_requests_total{door="rest",reason="idle_timeout"}'));
    return line === undefined ? 0 : Number(line.split(' ').at(-1));
  };

  it('closes a kept-alive connection between requests without a refusal, and a stalled one with one', async () => {
    const before = await idleRefusals();
    const started = performance.now();
    const [idle, stalled] = await Promise.all([
      exchange(port, 'GET /ok HTTP/1.1\r\nHost: x\r\n\r\n'),
      exchange(port, 'GET /hold HTTP/1.1\r\nHost: x\r\n\r\n'),
    ]);
    assert.ok(performance.now() - started >= IDLE_MS * 0.9, 'closed by the idle timeout, not before');
    assert.match(idle, /^HTTP\/1\.1 200 OK/);
    assert.equal(stalled, '', 'the stalled request got no answer: its connection was cut');
    // Both connections have closed: the count is final.
    assert.equal(await idleRefusals(), before + 1);
  });

  it('counts a pipelined connection stalled on its second request, not one whose every answer was written', async () => {
    const before = await idleRefusals();
    const [answered, stalled] = await Promise.all([
      exchange(port, 'GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n'),
      exchange(port, 'GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /hold HTTP/1.1\r\nHost: x\r\n\r\n'),
    ]);
    assert.equal(answered.match(/HTTP\/1\.1 200 OK/g)?.length, 2);
    assert.equal(stalled.match(/HTTP\/1\.1 200 OK/g)?.length, 1);
    assert.equal(await idleRefusals(), before + 1);
  });
});
