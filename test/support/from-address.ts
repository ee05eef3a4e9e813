// Requests for the authentication tests (attack-round13/14, limits-auth): an HTTP GET from a chosen loopback address
// with a bearer token, and many of them in flight at once.
import { request } from 'node:http';
import { connect, type Socket } from 'node:net';

export interface Got {
  readonly status: number;
  readonly retryAfter: string | undefined;
  readonly text: string;
}

/** GET `url` from `localAddress` with `token` on a connection of its own; bounded by `timeoutMs`. */
export function getFrom(url: string, localAddress: string, token: string, timeoutMs = 10_000): Promise<Got> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { localAddress, agent: false, headers: { Authorization: `Bearer ${token}` } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, retryAfter: res.headers['retry-after'], text }),
        );
      },
    );
    req.on('error', reject);
    req.setTimeout(timeoutMs, () => req.destroy(new Error('timed out')));
    req.end();
  });
}

/**
 * `count` GETs of `path` from `localAddress`, each on a connection of its own with its own token, all connections
 * opened first and the requests then written in one turn of the event loop: they are in flight together. Resolves
 * with each answer's status code; bounded by `timeoutMs`.
 */
export async function simultaneousGets(
  port: number,
  path: string,
  localAddress: string,
  tokens: readonly string[],
  timeoutMs = 10_000,
): Promise<number[]> {
  const sockets = await Promise.all(
    tokens.map(
      () =>
        new Promise<Socket>((resolve, reject) => {
          const socket = connect({ host: '127.0.0.1', port, localAddress }, () => resolve(socket));
          socket.once('error', reject);
        }),
    ),
  );
  const answers = sockets.map(
    (socket) =>
      new Promise<number>((resolve, reject) => {
        let text = '';
        socket.setEncoding('utf8');
        socket.on('data', (chunk: string) => (text += chunk));
        socket.on('end', () => resolve(Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0)));
        socket.on('error', reject);
        socket.setTimeout(timeoutMs, () => socket.destroy(new Error('timed out')));
      }),
  );
  sockets.forEach((socket, i) =>
    socket.write(
      `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${tokens[i]}\r\nConnection: close\r\n\r\n`,
    ),
  );
  return Promise.all(answers);
}
