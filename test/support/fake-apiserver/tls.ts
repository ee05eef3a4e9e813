// A throwaway CA and a server certificate for 127.0.0.1/localhost, made with openssl in a temp dir.

import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const OPENSSL = '/usr/bin/openssl';

export interface GeneratedTls {
  dir: string;
  caPem: string;
  certPem: string;
  keyPem: string;
  remove(): Promise<void>;
}

export async function generateTls(): Promise<GeneratedTls> {
  const dir = await mkdtemp(join(tmpdir(), 'fake-apiserver-tls-'));
  const remove = () => rm(dir, { recursive: true, force: true });
  try {
    const p = (name: string) => join(dir, name);
    // EC keys keep generation in the tens of milliseconds; RSA would cost far more per test file.
    const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
    await run(OPENSSL, [
      'req',
      '-x509',
      ...ec,
      '-keyout',
      p('ca.key'),
      '-out',
      p('ca.crt'),
      '-days',
      '2',
      '-subj',
      '/CN=fake-apiserver-ca',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ]);
    await run(OPENSSL, [
      'req',
      ...ec,
      '-keyout',
      p('server.key'),
      '-out',
      p('server.csr'),
      '-subj',
      '/CN=kube-apiserver',
    ]);
    await writeFile(
      p('server.ext'),
      [
        'basicConstraints=CA:FALSE',
        'keyUsage=critical,digitalSignature,keyEncipherment',
        'extendedKeyUsage=serverAuth',
        'subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes.default.svc',
        '',
      ].join('\n'),
    );
    await run(OPENSSL, [
      'x509',
      '-req',
      '-in',
      p('server.csr'),
      '-CA',
      p('ca.crt'),
      '-CAkey',
      p('ca.key'),
      '-CAcreateserial',
      '-out',
      p('server.crt'),
      '-days',
      '2',
      '-sha256',
      '-extfile',
      p('server.ext'),
    ]);
    const [caPem, certPem, keyPem] = await Promise.all([
      readFile(p('ca.crt'), 'utf8'),
      readFile(p('server.crt'), 'utf8'),
      readFile(p('server.key'), 'utf8'),
    ]);
    return { dir, caPem, certPem, keyPem, remove };
  } catch (err) {
    await remove();
    throw err;
  }
}
