// TLS for both front doors from cert/key (and optional client CA) files, reloaded when the files change: the
// https server gets each new pair through setSecureContext, the gRPC server through a grpc-js CertificateProvider.
// A new pair is applied only when it forms a valid context and every PEM file holds whole certificates, so a
// half-written rotation (new cert, old key; a file read while it was being rewritten) keeps the previous pair
// serving instead of refusing every new connection.
import { readFileSync } from 'node:fs';
import type { Server as HttpsServer, ServerOptions as HttpsServerOptions } from 'node:https';
import { X509Certificate } from 'node:crypto';
import { createSecureContext } from 'node:tls';
import { experimental, type ServerCredentials } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { watchFiles } from './watched-files.ts';

export interface TlsConfig {
  readonly certFile: string;
  readonly keyFile: string;
  /** When set, clients are asked for a certificate signed by this CA (mTLS). */
  readonly clientCaFile: string | undefined;
  /** `require`: the handshake fails without a valid client certificate; `optional`: one is checked if sent. */
  readonly clientAuth: 'require' | 'optional';
}

/** The PEM contents in force. */
export interface TlsMaterial {
  readonly cert: Buffer;
  readonly key: Buffer;
  readonly ca: Buffer | undefined;
}

/** Reads and checks the files now; throws an Error naming the files when they do not form a valid context. */
export function loadTlsMaterial(config: TlsConfig): TlsMaterial {
  const read = (flag: string, path: string): Buffer => {
    try {
      return readFileSync(path);
    } catch (error) {
      throw new Error(`${flag} ${path}: ${(error as Error).message}`, { cause: error });
    }
  };
  const material: TlsMaterial = {
    cert: read('--tls-cert-file', config.certFile),
    key: read('--tls-key-file', config.keyFile),
    ca: config.clientCaFile === undefined ? undefined : read('--tls-client-ca-file', config.clientCaFile),
  };
  const problem = tlsMaterialProblem(material);
  if (problem !== undefined) throw new Error(`${filesOf(config).join(', ')}: ${problem}`);
  return material;
}

/** Why the material cannot serve (e.g. the key does not match the certificate), or undefined when it can. */
export function tlsMaterialProblem(material: TlsMaterial): string | undefined {
  const problem =
    certificatesProblem('the certificate file', material.cert) ??
    (material.ca === undefined ? undefined : certificatesProblem('the client CA file', material.ca));
  if (problem !== undefined) return problem;
  try {
    createSecureContext({ cert: material.cert, key: material.key, ca: material.ca });
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}

/**
 * A whole PEM block of any type (certificates, keys, CRLs): its BEGIN and END lines each alone on their line, the same
 * label on both, and no boundary in between — what OpenSSL's PEM reader takes. Encrypted keys' headers (DEK-Info)
 * have no run of five dashes.
 */
const PEM_BLOCK = /^-----BEGIN ([A-Z0-9 ]+)-----[ \t]*\r?$(?:(?!-----)[^])*?^-----END \1-----[ \t]*\r?$/gm;
const CERTIFICATE_LABELS = new Set(['CERTIFICATE', 'TRUSTED CERTIFICATE']);

/**
 * Why a PEM file does not hold whole certificates. OpenSSL reads a bundle up to its first broken block, and
 * createSecureContext takes an empty or cut CA file without complaint — a client CA that then trusts nobody, or a
 * chain without its intermediates — so a file caught half-written would be applied. Text outside the blocks is
 * allowed (bundles carry comments, `openssl pkcs12` writes Bag Attributes), and so are other blocks (the key, in a
 * file that holds both); a boundary line outside a whole block, or a last line cut inside one, is a block cut short.
 */
function certificatesProblem(what: string, pem: Buffer): string | undefined {
  const text = pem.toString('latin1');
  const outside = text.replace(PEM_BLOCK, '');
  const lastLine = text.trimEnd().split('\n').at(-1)?.trim() ?? '';
  if (/-----(BEGIN|END) /.test(outside) || (lastLine.startsWith('-') && '-----BEGIN '.startsWith(lastLine))) {
    return `${what} holds an unfinished PEM block (read while being written?), or one OpenSSL cannot read`;
  }
  // OpenSSL's CA loader stops, silently, at the first block that does not decode, dropping every CA after it.
  let certificates = 0;
  for (const [i, match] of [...text.matchAll(PEM_BLOCK)].entries()) {
    const label = match[1] ?? '';
    const der = blockBytes(match[0]);
    if (der === undefined) return `${what}: block ${String(i + 1)} (${label}) is not base64`;
    if (!CERTIFICATE_LABELS.has(label)) continue;
    certificates += 1;
    try {
      new X509Certificate(firstDerElement(der));
    } catch (error) {
      return `${what}: block ${String(i + 1)} (${label}) does not parse: ${(error as Error).message}`;
    }
  }
  if (certificates === 0) return `${what} holds no PEM certificate`;
  return undefined;
}

/** A whole block's bytes: its base64 lines without the header lines (Proc-Type, DEK-Info); undefined if not base64. */
function blockBytes(block: string): Buffer | undefined {
  const lines = block.split('\n').slice(1, -1);
  const body = lines
    .filter((line) => !line.includes(':'))
    .join('')
    .replace(/\s/g, '');
  if (body.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(body)) return undefined;
  return Buffer.from(body, 'base64');
}

/**
 * The first DER element of `der` (a TRUSTED CERTIFICATE is a certificate followed by its trust settings); the whole
 * of it when it does not begin with a DER length the parser can read, to be refused by X509Certificate.
 */
function firstDerElement(der: Buffer): Buffer {
  const first = der[1] ?? 0;
  if (first < 0x80) return der.subarray(0, 2 + first);
  const lengthBytes = first & 0x7f;
  if (lengthBytes === 0 || lengthBytes > 4 || der.length < 2 + lengthBytes) return der;
  let length = 0;
  for (let i = 0; i < lengthBytes; i++) length = length * 256 + (der[2 + i] ?? 0);
  return der.subarray(0, 2 + lengthBytes + length);
}

function filesOf(config: TlsConfig): string[] {
  return [
    config.certFile,
    config.keyFile,
    ...(config.clientCaFile === undefined ? [] : [config.clientCaFile]),
  ];
}

export interface TlsCredentialsOptions {
  readonly config: TlsConfig;
  readonly reloadIntervalMs: number;
  readonly logger: Logger;
}

/** The TLS material of the process, kept current; hands each door what it needs to serve with it. */
export class TlsCredentials {
  readonly config: TlsConfig;
  #material: TlsMaterial;
  readonly #listeners = new Set<(material: TlsMaterial) => void>();
  readonly #stopWatching: () => void;

  /** Loads the files now (throws when they are unusable) and starts watching them. */
  constructor(options: TlsCredentialsOptions) {
    const { config, logger } = options;
    this.config = config;
    this.#material = loadTlsMaterial(config);
    const files = filesOf(config);
    this.#stopWatching = watchFiles({
      paths: files,
      initial: [this.#material.cert, this.#material.key, ...(this.#material.ca ? [this.#material.ca] : [])],
      intervalMs: options.reloadIntervalMs,
      onChange: ([cert, key, ca]) => {
        if (cert === undefined || key === undefined) return;
        const material: TlsMaterial = { cert, key, ca };
        const problem = tlsMaterialProblem(material);
        if (problem !== undefined) {
          logger.warn(
            { files, problem },
            'TLS files changed but do not form a valid pair: keeping the previous',
          );
          return;
        }
        this.#material = material;
        logger.info({ files }, 'TLS files changed: new connections use the new certificate');
        for (const listener of this.#listeners) listener(material);
      },
      onError: (error) =>
        logger.warn({ files, err: error }, 'cannot re-read the TLS files: keeping the previous'),
    });
  }

  get material(): TlsMaterial {
    return this.#material;
  }

  /** Options for https.createServer: the current pair and the client-certificate policy. */
  httpsOptions(): HttpsServerOptions {
    const { cert, key, ca } = this.#material;
    return {
      cert,
      key,
      ca,
      requestCert: ca !== undefined,
      rejectUnauthorized: ca !== undefined && this.config.clientAuth === 'require',
    };
  }

  /** Keeps `server`'s certificate current; connections already open keep the one they were made with. */
  attachHttps(server: HttpsServer): void {
    const listener = ({ cert, key, ca }: TlsMaterial): void => server.setSecureContext({ cert, key, ca });
    this.#listeners.add(listener);
    server.once('close', () => this.#listeners.delete(listener));
  }

  /** grpc-js credentials that follow the material; bind the gRPC server with them. */
  grpcCredentials(): ServerCredentials {
    const identity = new MaterialProvider(this, 'identity');
    const ca = this.#material.ca === undefined ? null : new MaterialProvider(this, 'ca');
    // grpc-js 1.14's typings name the parameters (caProvider, identityProvider, …) but its code takes them as
    // (identityProvider, caProvider | null, requireClientCertificate): we follow the code, and the tests prove it.
    return experimental.createCertificateProviderServerCredentials(
      identity,
      ca,
      ca !== null && this.config.clientAuth === 'require',
    );
  }

  /** Calls `listener` with every new material; returns the function that unsubscribes it. */
  onChange(listener: (material: TlsMaterial) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  stop(): void {
    this.#stopWatching();
    this.#listeners.clear();
  }
}

/** A grpc-js CertificateProvider fed by TlsCredentials, for the identity (cert+key) or the client CA. */
class MaterialProvider implements experimental.CertificateProvider {
  readonly #credentials: TlsCredentials;
  readonly #kind: 'identity' | 'ca';
  /** Per grpc-js listener, the function that stops feeding it. */
  readonly #following = new Map<object, () => void>();

  constructor(credentials: TlsCredentials, kind: 'identity' | 'ca') {
    this.#credentials = credentials;
    this.#kind = kind;
  }

  addCaCertificateListener(listener: experimental.CaCertificateUpdateListener): void {
    this.#follow('ca', listener, (m) => listener(m.ca === undefined ? null : { caCertificate: m.ca }));
  }

  removeCaCertificateListener(listener: experimental.CaCertificateUpdateListener): void {
    this.#unfollow(listener);
  }

  addIdentityCertificateListener(listener: experimental.IdentityCertificateUpdateListener): void {
    this.#follow('identity', listener, (m) => listener({ certificate: m.cert, privateKey: m.key }));
  }

  removeIdentityCertificateListener(listener: experimental.IdentityCertificateUpdateListener): void {
    this.#unfollow(listener);
  }

  /** Feeds `listener` the current material and every new one, when this provider serves that kind. */
  #follow(kind: 'identity' | 'ca', listener: object, send: (material: TlsMaterial) => void): void {
    if (this.#kind !== kind) return;
    this.#following.set(listener, this.#credentials.onChange(send));
    // Not synchronously: grpc-js registers its own watcher only after this call returns, and would miss it.
    process.nextTick(send, this.#credentials.material);
  }

  #unfollow(listener: object): void {
    this.#following.get(listener)?.();
    this.#following.delete(listener);
  }
}
