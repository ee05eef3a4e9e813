// Clients for the security and limits tests: an HTTP(S) GET that can present a CA, a client certificate and a
// bearer token, the certificate a server presents, and a grpc-js channel with TLS and per-call tokens.
import { Client, credentials, Metadata, type ServiceError } from '@grpc/grpc-js';
import { loadSync, type MethodDefinition, type ServiceDefinition } from '@grpc/proto-loader';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect as tlsConnect } from 'node:tls';
import { LOADER_OPTIONS } from '../../src/api/grpc/index.ts';
import type { KeyPair } from './tls-pki.ts';

export interface ClientTls {
  readonly ca?: Buffer;
  readonly client?: KeyPair;
}

export interface Answer {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly text: string;
}

/** GET `url` (http or https) on a new connection; rejects on a connection or handshake failure. */
export function fetchWith(url: string, options: ClientTls & { token?: string } = {}): Promise<Answer> {
  const target = new URL(url);
  const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(
      target,
      {
        agent: false,
        ca: options.ca,
        cert: options.client?.cert,
        key: options.client?.key,
        headers: options.token === undefined ? {} : { Authorization: `Bearer ${options.token}` },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.setTimeout(5000, () => req.destroy(new Error('timed out')));
    req.end();
  });
}

/** The subject CN of the certificate a new TLS connection to `port` is served with (ALPN h2 for gRPC ports). */
export function servedCertificateCn(port: number, ca: Buffer, alpn?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect(
      {
        host: '127.0.0.1',
        port,
        ca,
        servername: 'localhost',
        ...(alpn === undefined ? {} : { ALPNProtocols: [alpn] }),
      },
      () => {
        const cn = socket.getPeerCertificate().subject.CN;
        socket.destroy();
        resolve(Array.isArray(cn) ? cn.join(',') : (cn ?? ''));
      },
    );
    socket.on('error', reject);
  });
}

const definitions = loadSync(['endpointd/v1/discovery.proto', 'grpc/health/v1/health.proto'], LOADER_OPTIONS);

function method(service: string, name: string): MethodDefinition<object, object> {
  const definition = (definitions[service] as ServiceDefinition | undefined)?.[name];
  if (definition === undefined) throw new Error(`no method ${service}/${name}`);
  return definition;
}

export const ADS_METHOD = '/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources';

/** A server-streaming call: its first message (or error), how it ended, what arrived, and a way to cancel. */
export interface ServerStream {
  readonly first: Promise<object>;
  readonly ended: Promise<ServiceError | undefined>;
  readonly cancel: () => void;
  readonly messages: object[];
}

/** A grpc-js channel, plain or TLS (optionally with a client certificate), sending `token` on every call. */
export class GrpcCaller {
  readonly client: Client;
  readonly #token: string | undefined;

  constructor(port: number, options: ClientTls & { token?: string } = {}) {
    const channel =
      options.ca === undefined
        ? credentials.createInsecure()
        : credentials.createSsl(options.ca, options.client?.key ?? null, options.client?.cert ?? null);
    // The certificates name 127.0.0.1 and localhost; SNI must be a name (an IP there is deprecated).
    this.client = new Client(`127.0.0.1:${port}`, channel, {
      'grpc.enable_retries': 0,
      ...(options.ca === undefined ? {} : { 'grpc.ssl_target_name_override': 'localhost' }),
    });
    this.#token = options.token;
  }

  metadata(): Metadata {
    const metadata = new Metadata();
    if (this.#token !== undefined) metadata.set('authorization', `Bearer ${this.#token}`);
    return metadata;
  }

  unary<T>(service: string, name: string, request: object): Promise<T> {
    const m = method(service, name);
    return new Promise((resolve, reject) => {
      this.client.makeUnaryRequest(
        m.path,
        m.requestSerialize,
        m.responseDeserialize,
        request,
        this.metadata(),
        { deadline: Date.now() + 5000 },
        (error: ServiceError | null, response?: object) =>
          error === null ? resolve(response as T) : reject(error),
      );
    });
  }

  resolve(namespace: string, name: string): Promise<{ service: { name: string } }> {
    return this.unary('endpointd.v1.Discovery', 'Resolve', { namespace, name });
  }

  healthCheck(): Promise<{ status: string }> {
    return this.unary('grpc.health.v1.Health', 'Check', { service: '' });
  }

  /** A Discovery Watch stream of everything; resolves with its first message, rejects with its error. */
  watch(request: object = {}): ServerStream {
    return this.serverStream('endpointd.v1.Discovery', 'Watch', request);
  }

  /** A grpc.health.v1 Health Watch stream (of the whole server). */
  healthWatch(): ServerStream {
    return this.serverStream('grpc.health.v1.Health', 'Watch', { service: '' });
  }

  serverStream(service: string, name: string, request: object): ServerStream {
    const m = method(service, name);
    const call = this.client.makeServerStreamRequest(
      m.path,
      m.requestSerialize,
      m.responseDeserialize,
      request,
      this.metadata(),
    );
    const messages: object[] = [];
    const first = new Promise<object>((resolve, reject) => {
      call.once('data', resolve);
      call.once('error', reject);
    });
    first.catch(() => {});
    call.on('data', (message: object) => messages.push(message));
    const ended = new Promise<ServiceError | undefined>((resolve) => {
      call.on('error', (error: ServiceError) => resolve(error));
      call.on('end', () => resolve(undefined));
    });
    return { first, ended, cancel: () => call.cancel(), messages };
  }

  /** Opens an ADS stream and sends nothing: resolves with how it ended (the gate refuses before any message). */
  adsStatus(timeoutMs = 1000): Promise<ServiceError | 'open'> {
    const call = this.client.makeBidiStreamRequest(
      ADS_METHOD,
      (b: Buffer) => b,
      (b: Buffer) => b,
      this.metadata(),
    );
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        call.cancel();
        resolve('open');
      }, timeoutMs);
      call.on('error', (error: ServiceError) => {
        clearTimeout(timer);
        resolve(error);
      });
      call.on('data', () => {});
    });
  }

  close(): void {
    this.client.close();
  }
}
