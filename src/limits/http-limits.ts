// The REST server's defences against slow and broken clients, as Node's HTTP server enforces them: a bound on
// header bytes, a deadline for the headers (slow-loris) and for the whole request, a keep-alive idle bound, and a
// socket idle timeout that a stalled reader hits but a healthy stream never does (watch streams heartbeat).
import type { ServerOptions, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Refusals } from './refusals.ts';

export interface HttpLimits {
  /** Largest request head (request line + headers), in bytes; larger gets 431. */
  readonly maxHeaderBytes: number;
  /** The request head must arrive within this, in ms, or the connection gets 408 and is closed. */
  readonly headersTimeoutMs: number;
  /**
   * The whole request (head and body) must arrive within this, in ms; 0: no bound. It bounds receiving the
   * request only: a watch or long-poll has received its GET at once and is not cut by it.
   */
  readonly requestTimeoutMs: number;
  /** A kept-alive connection without a request is closed after this, in ms. */
  readonly keepAliveTimeoutMs: number;
  /**
   * A connection with a request in progress that moves no byte either way for this long is closed, in ms
   * (0: never). Watch streams send heartbeats, so only a client that stopped reading trips it; long-polls get
   * their wait on top.
   */
  readonly idleTimeoutMs: number;
}

/** Options for http.createServer / https.createServer. */
export function httpServerOptions(limits: HttpLimits): ServerOptions {
  const deadlines = [limits.headersTimeoutMs, limits.requestTimeoutMs].filter((ms) => ms > 0);
  return {
    maxHeaderSize: limits.maxHeaderBytes,
    headersTimeout: limits.headersTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    // Node checks the two deadlines on this period (default 30 s, which would let a slow-loris client hold a
    // socket well past a 10 s headersTimeout): check several times per deadline.
    connectionsCheckingInterval: Math.min(5000, Math.max(50, Math.floor(Math.min(...deadlines, 20_000) / 4))),
  };
}

/** A socket of node's HTTP server, with the answer it is writing (node's own field). */
interface NodeHttpSocket extends Socket {
  readonly _httpMessage?: ServerResponse | null;
}

const CLIENT_ERRORS: Record<string, { status: number; title: string; reason: string }> = {
  HPE_HEADER_OVERFLOW: { status: 431, title: 'Request Header Fields Too Large', reason: 'header_too_large' },
  ERR_HTTP_REQUEST_TIMEOUT: { status: 408, title: 'Request Timeout', reason: 'request_timeout' },
};

/**
 * Installs the answers to clients that break the limits: a problem+json 431/408/400 for a bad request head, and
 * closing a connection idle past `idleTimeoutMs` mid-request; each counted and logged through `refusals`.
 */
export function guardHttpServer(server: Server, limits: HttpLimits, refusals: Refusals): void {
  // Busy: the connection has an answer in progress — the one node's server attaches to the socket while it is
  // written (`_httpMessage`, what node's own socket timeout handler hands the 'timeout' to), detached once it has
  // finished. Read from node at the moment of the timeout, so that a request costs nothing here; where, before, a
  // set of busy sockets and a 'close' listener cost each request a weak-set entry and two listener changes. Not
  // public API: test/rest-idle-connections.test.ts fails on a node without it.
  const busy = (socket: Socket): boolean => {
    const current = (socket as NodeHttpSocket)._httpMessage;
    return current !== null && current !== undefined && !current.writableFinished;
  };
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Socket) => {
    const client = socket.remoteAddress ?? 'unknown';
    if (error.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    const known = error.code === undefined ? undefined : CLIENT_ERRORS[error.code];
    // Only the HTTP parser's errors (HPE_*) are a request that "could not be parsed". Anything else here is the
    // connection failing under the parser (a TLS alert, a reset): no HTTP answer fits it, least of all a 400.
    if (known === undefined && error.code?.startsWith('HPE_') !== true) {
      refusals.record({
        door: 'rest',
        reason: 'connection_error',
        client,
        detail: error.code ?? error.message,
      });
      socket.destroy();
      return;
    }
    const answer = known ?? { status: 400, title: 'Bad Request', reason: 'malformed_request' };
    const detail =
      answer.reason === 'header_too_large'
        ? `the request head exceeds ${limits.maxHeaderBytes} bytes`
        : answer.reason === 'request_timeout'
          ? `the request did not arrive within ${limits.headersTimeoutMs} ms (headers) / ${limits.requestTimeoutMs} ms (whole request)`
          : `the request could not be parsed (${error.code ?? error.message})`;
    refusals.record({ door: 'rest', reason: answer.reason, client, detail });
    const body = JSON.stringify({ type: 'about:blank', title: answer.title, status: answer.status, detail });
    socket.end(
      `HTTP/1.1 ${answer.status} ${answer.title}\r\nConnection: close\r\nContent-Type: application/problem+json\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
      () => socket.destroy(),
    );
  });
  if (limits.idleTimeoutMs > 0) {
    server.setTimeout(limits.idleTimeoutMs, (socket: Socket) => {
      // Node also reports kept-alive connections that sat idle between requests here: those just close.
      if (busy(socket)) {
        refusals.record({
          door: 'rest',
          reason: 'idle_timeout',
          client: socket.remoteAddress ?? 'unknown',
          detail: `no byte moved for ${limits.idleTimeoutMs} ms (a client that stopped reading)`,
        });
      }
      socket.destroy();
    });
  }
}
