// The express floor as a child process: the least an express 5 app can do to answer a lookup — same route shape
// with params, same settings as the REST API, the same bytes and headers from a Buffer — so that the subject's
// req/s over the floor's measures what endpointd adds on top of express itself.
import { createServer } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { announceFailure, announceReady, receivePayload } from './child-server.ts';

export interface FloorPayload {
  /** Express route, e.g. /v1/namespaces/:namespace/services/:name */
  readonly route: string;
  readonly body: Uint8Array;
  /** Response headers to replay, e.g. content-type, etag, cache-control (lower-case names). */
  readonly headers: Readonly<Record<string, string>>;
}

try {
  const payload = (await receivePayload()) as FloorPayload;
  const body = Buffer.from(payload.body);
  const headers = Object.entries(payload.headers);
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  app.set('query parser', 'simple');
  app.get(payload.route, (_req, res) => {
    for (const [name, value] of headers) res.setHeader(name, value);
    res.send(body);
  });
  // The same http.Server options as src/main.ts, so connection handling is not what differs.
  const server = createServer({ keepAliveTimeout: 65_000, headersTimeout: 30_000, requestTimeout: 0 }, app);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  announceReady((server.address() as AddressInfo).port, async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
} catch (error) {
  announceFailure(error);
}
