// The floor of propagation: the least a Node server can do to pass one API-server watch event on to many SSE
// subscribers. It watches the one EndpointSlice on the fake API server (node:http, newline-delimited JSON) and, for
// every MODIFIED line, writes one pre-encoded SSE frame (the bytes endpointd sent for that service, given by the
// parent) to every open response, in one synchronous loop. No store, no conversion, no express: what is left is
// Node's HTTP and the socket writes that any fan-out to N connections pays. argv[2]: JSON of FloorOptions.
import { once } from 'node:events';
import { createServer, request, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { childFailed, onParentMessage, toParent } from './kube-child.ts';

export interface FloorOptions {
  readonly apiPort: number;
  readonly apiWatchPath: string;
  /** The SSE frame to send on each change (a complete `data: …\n\n` event, type MODIFIED). */
  readonly frame: string;
}

export type FromSseFloorChild = { readonly type: 'listening'; readonly port: number };

try {
  const options = JSON.parse(process.argv[2] ?? '') as FloorOptions;
  const frame = Buffer.from(options.frame);
  const added = Buffer.from(options.frame.replace('"type":"MODIFIED"', '"type":"ADDED"'));
  const synced = Buffer.from('data: {"type":"SYNCED"}\n\n');
  const open = new Set<ServerResponse>();
  // The same http.Server options as src/main.ts.
  const server = createServer(
    { keepAliveTimeout: 65_000, headersTimeout: 30_000, requestTimeout: 0 },
    (req, res) => {
      res.writeHead(200, {
        'Content-Type': 'text/event-stream; charset=utf-8',
        'Cache-Control': 'no-cache, no-transform',
      });
      req.socket.setNoDelay(true);
      res.write(added);
      res.write(synced);
      open.add(res);
      res.on('close', () => open.delete(res));
    },
  );
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');

  const watch = request({ host: '127.0.0.1', port: options.apiPort, path: options.apiWatchPath });
  const watching = new Promise<void>((resolve, reject) => {
    watch.on('error', reject);
    watch.on('response', (res) => {
      if (res.statusCode !== 200) reject(new Error(`watch: HTTP ${String(res.statusCode)}`));
      let buffer = '';
      let first = true;
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffer += chunk;
        let nl = buffer.indexOf('\n');
        while (nl >= 0) {
          const line = buffer.slice(0, nl);
          buffer = buffer.slice(nl + 1);
          nl = buffer.indexOf('\n');
          if (first) {
            first = false;
            resolve(); // the current object (ADDED): the watch is open
          } else if (line.startsWith('{"type":"MODIFIED"')) {
            for (const subscriber of open) subscriber.write(frame);
          }
        }
      });
    });
  });
  watch.end();
  await watching;
  toParent({ type: 'listening', port: (server.address() as AddressInfo).port } satisfies FromSseFloorChild);
  onParentMessage(
    () => {},
    async () => {
      watch.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  );
} catch (error) {
  childFailed(error);
}
