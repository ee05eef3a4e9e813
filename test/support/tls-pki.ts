// A throwaway PKI for the TLS tests, made with openssl in a temp dir: a CA, two server certificates for
// 127.0.0.1 (to rotate one into the other), a client certificate of that CA, and a client certificate of another
// CA that endpointd must not trust.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const OPENSSL = '/usr/bin/openssl';
// EC keys: tens of milliseconds each, where RSA would cost far more.
const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

export interface KeyPair {
  readonly certFile: string;
  readonly keyFile: string;
  readonly cert: Buffer;
  readonly key: Buffer;
}

export interface TestPki {
  readonly dir: string;
  readonly caFile: string;
  readonly ca: Buffer;
  /** CN endpointd-1, SAN 127.0.0.1 and localhost. */
  readonly server1: KeyPair;
  /** CN endpointd-2: the same names, a different certificate. */
  readonly server2: KeyPair;
  /** CN client-a, signed by the CA. */
  readonly client: KeyPair;
  /** CN intruder, signed by another CA. */
  readonly foreignClient: KeyPair;
  remove(): Promise<void>;
}

export async function generatePki(): Promise<TestPki> {
  const dir = await mkdtemp(join(tmpdir(), 'endpointd-pki-'));
  const p = (name: string): string => join(dir, name);
  const ca = async (name: string): Promise<void> => {
    await run(OPENSSL, [
      'req',
      '-x509',
      ...EC,
      '-keyout',
      p(`${name}.key`),
      '-out',
      p(`${name}.crt`),
      '-days',
      '2',
      '-subj',
      `/CN=${name}`,
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ]);
  };
  const leaf = async (
    name: string,
    cn: string,
    signer: string,
    usage: 'serverAuth' | 'clientAuth',
  ): Promise<KeyPair> => {
    await run(OPENSSL, [
      'req',
      ...EC,
      '-keyout',
      p(`${name}.key`),
      '-out',
      p(`${name}.csr`),
      '-subj',
      `/CN=${cn}`,
    ]);
    await writeFile(
      p(`${name}.ext`),
      [
        'basicConstraints=CA:FALSE',
        'keyUsage=critical,digitalSignature,keyEncipherment',
        `extendedKeyUsage=${usage}`,
        ...(usage === 'serverAuth' ? ['subjectAltName=IP:127.0.0.1,DNS:localhost'] : []),
        '',
      ].join('\n'),
    );
    await run(OPENSSL, [
      'x509',
      '-req',
      '-in',
      p(`${name}.csr`),
      '-CA',
      p(`${signer}.crt`),
      '-CAkey',
      p(`${signer}.key`),
      // A serial of its own: -CAcreateserial would have the leaves signed at once race on one serial file
      // ("unable to load number from test-ca.srl").
      '-set_serial',
      `0x${randomBytes(8).toString('hex')}`,
      '-out',
      p(`${name}.crt`),
      '-days',
      '2',
      '-sha256',
      '-extfile',
      p(`${name}.ext`),
    ]);
    const [cert, key] = await Promise.all([readFile(p(`${name}.crt`)), readFile(p(`${name}.key`))]);
    return { certFile: p(`${name}.crt`), keyFile: p(`${name}.key`), cert, key };
  };
  try {
    await Promise.all([ca('test-ca'), ca('other-ca')]);
    const [server1, server2, client, foreignClient] = await Promise.all([
      leaf('server1', 'endpointd-1', 'test-ca', 'serverAuth'),
      leaf('server2', 'endpointd-2', 'test-ca', 'serverAuth'),
      leaf('client', 'client-a', 'test-ca', 'clientAuth'),
      leaf('intruder', 'intruder', 'other-ca', 'clientAuth'),
    ]);
    return {
      dir,
      caFile: p('test-ca.crt'),
      ca: await readFile(p('test-ca.crt')),
      server1,
      server2,
      client,
      foreignClient,
      remove: () => rm(dir, { recursive: true, force: true }),
    };
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}
