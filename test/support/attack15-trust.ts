// Whether Node's TLS really trusts a certificate given a CA file: a TLS server on loopback presents the
// certificate, and a client whose context is made from the CA file connects and reads `authorized`. What
// createSecureContext does not say: it takes a CA file it reads only part of without complaint.
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { connect, createServer } from 'node:tls';

export async function trustedBy(ca: Buffer, cert: Buffer, key: Buffer): Promise<boolean> {
  const server = createServer({ cert, key }, (socket) => socket.end());
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  try {
    return await new Promise<boolean>((resolve) => {
      const socket = connect(
        { port, host: '127.0.0.1', ca, rejectUnauthorized: false, checkServerIdentity: () => undefined },
        () => {
          resolve(socket.authorized);
          socket.destroy();
        },
      );
      socket.setTimeout(5000, () => {
        resolve(false);
        socket.destroy();
      });
      socket.on('error', () => resolve(false));
    });
  } finally {
    server.close();
  }
}
