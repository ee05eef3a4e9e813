// A loopback TCP proxy for tests: forwards to a target port, remembers the head of every HTTP request that passes
// (to see what a browser really sent, e.g. Last-Event-ID), can cut every open connection (a network blip), and can
// hold every chunk of the answers for a while (a slow server).
import { once } from 'node:events';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';

export interface TcpProxy {
  readonly port: number;
  /** The request heads seen so far (request line and headers), in arrival order. */
  readonly requests: string[];
  /** Destroys every open connection, both ways; new connections are still accepted. */
  cutAll(): void;
  close(): Promise<void>;
}

export interface TcpProxyOptions {
  /** Each chunk the target answers is passed on this much later (and its close too): a slow server. */
  readonly answerDelayMs?: number;
}

export async function startTcpProxy(targetPort: number, options: TcpProxyOptions = {}): Promise<TcpProxy> {
  const delayMs = options.answerDelayMs ?? 0;
  const requests: string[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(targetPort, '127.0.0.1');
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => {});
    }
    let head = '';
    client.on('data', (chunk: Buffer) => {
      // Keep-alive connections carry several requests: record each head as it completes.
      head += chunk.toString('latin1');
      let end = head.indexOf('\r\n\r\n');
      while (end !== -1) {
        requests.push(head.slice(0, end));
        head = head.slice(end + 4);
        end = head.indexOf('\r\n\r\n');
      }
    });
    client.pipe(upstream);
    if (delayMs === 0) upstream.pipe(client);
    else {
      upstream.on('data', (chunk: Buffer) => {
        setTimeout(() => {
          if (!client.destroyed) client.write(chunk);
        }, delayMs);
      });
    }
    client.on('close', () => upstream.destroy());
    upstream.on('close', () =>
      delayMs === 0 ? client.destroy() : setTimeout(() => client.destroy(), delayMs),
    );
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as AddressInfo).port,
    requests,
    cutAll: () => {
      for (const s of sockets) s.destroy();
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
