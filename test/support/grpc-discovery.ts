// gRPC helpers for tests: the gRPC front door on a loopback port over a store the test writes to, and plain
// grpc-js clients (proto-loader decoding, as any user's client) for Discovery, Health and reflection.
import { Client, credentials, Metadata, status, type ChannelOptions, type ServiceError } from '@grpc/grpc-js';
import { loadSync, type MethodDefinition, type ServiceDefinition } from '@grpc/proto-loader';
import { fileURLToPath } from 'node:url';
import {
  createGrpcServer,
  LOADER_OPTIONS,
  PROTO_DIR,
  type GrpcServer,
  type GrpcServerOptions,
} from '../../src/api/grpc/index.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { Readiness } from '../../src/observability/readiness.ts';
import { EndpointStore } from '../../src/store/endpoint-store.ts';
import { ManualSource } from './manual-source.ts';

export { ManualSource };

export interface TestGrpc {
  readonly store: EndpointStore;
  readonly source: ManualSource;
  readonly readiness: Readiness;
  readonly grpc: GrpcServer;
  readonly address: string;
  stop(): Promise<void>;
}

/** The gRPC front door alone, on 127.0.0.1 and a free port, over a new store. */
export async function startTestGrpc(
  overrides: Partial<Omit<GrpcServerOptions, 'store' | 'readiness' | 'logger'>> = {},
): Promise<TestGrpc> {
  const store = new EndpointStore({ encodedCacheBytes: 64 * 1024 * 1024 });
  const source = new ManualSource();
  const readiness = new Readiness([source]);
  const grpc = createGrpcServer({
    store,
    readiness,
    logger: createLogger('silent'),
    heartbeatMs: 30_000,
    ...overrides,
  });
  const port = await grpc.start('127.0.0.1', 0);
  return { store, source, readiness, grpc, address: `127.0.0.1:${port}`, stop: () => grpc.shutdown(500) };
}

// ---- decoded messages, as a client using proto-loader with LOADER_OPTIONS sees them ----

export interface DecodedPort {
  name: string;
  port: number;
  protocol: string;
  appProtocol: string;
}

export interface DecodedEndpoint {
  addresses: string[];
  addressType: string;
  ports: DecodedPort[];
  ready: boolean;
  serving: boolean;
  terminating: boolean;
  hostname: string;
  nodeName: string;
  zone: string;
  targetRef: { kind: string; namespace: string; name: string; uid: string } | null;
  hintsForZones: string[];
  hintsForNodes: string[];
  /** The named cluster it came from; "" without named clusters. */
  cluster: string;
}

export interface DecodedService {
  namespace: string;
  name: string;
  version: string;
  ports: DecodedPort[];
  endpoints: DecodedEndpoint[];
  targets: Array<{ address: string; port: number }>;
  truncated: boolean;
  /** Only when the request gave the caller's locality. */
  topology: DecodedTopology | null;
  clusters: Array<{ name: string; region: string; stale: boolean; truncated: boolean }>;
  conflicts: Array<{ field: string; servedFrom: string; ignored: string[] }>;
  serviceInfo: {
    type: string;
    headless: boolean;
    externalName: string;
    trafficDistribution: string;
    topologyMode: string;
    ports: Array<{
      name: string;
      port: number;
      targetPortNumber?: number;
      targetPortName?: string;
      protocol: string;
      appProtocol: string;
    }>;
  } | null;
}

export interface DecodedTopology {
  rule: string;
  matched: string;
  zone: string;
  node: string;
  fallback: string;
}

export interface DecodedRef {
  namespace: string;
  name: string;
}

export interface DecodedVersion extends DecodedRef {
  version: string;
}

export type DecodedWatchResponse =
  | { event: 'added'; added: DecodedService }
  | { event: 'modified'; modified: DecodedService }
  | { event: 'deleted'; deleted: DecodedRef }
  | { event: 'absent'; absent: DecodedRef }
  | { event: 'synced'; synced: Record<string, never> }
  | { event: 'heartbeat'; heartbeat: { versions: DecodedVersion[] } };

export interface DecodedSummary extends DecodedVersion {
  endpoints: number;
  ready: number;
}

/** Request shapes as a client writes them (proto-loader's fromObject: omitted fields take their defaults). */
export interface PortRequest {
  name?: string;
  number?: number;
}
export interface ResolveRequest {
  namespace?: string;
  name?: string;
  endpoints?: 'ENDPOINT_SET_ROUTABLE' | 'ENDPOINT_SET_ALL' | number;
  port?: PortRequest;
  caller?: { zone?: string; node?: string };
  cluster?: string;
}
export interface WatchRequest {
  services?: DecodedRef[];
  namespace?: string;
  endpoints?: 'ENDPOINT_SET_ROUTABLE' | 'ENDPOINT_SET_ALL';
  port?: PortRequest;
  known?: DecodedVersion[];
  caller?: { zone?: string; node?: string };
  cluster?: string;
}

const REFLECTION_PROTO = fileURLToPath(
  new URL(
    '../../node_modules/@grpc/reflection/build/proto/grpc/reflection/v1/reflection.proto',
    import.meta.url,
  ),
);

const definitions = loadSync(['endpointd/v1/discovery.proto', 'grpc/health/v1/health.proto'], LOADER_OPTIONS);
const reflectionDefinitions = loadSync(REFLECTION_PROTO, { ...LOADER_OPTIONS, includeDirs: [PROTO_DIR] });

function method(pkg: typeof definitions, service: string, name: string): MethodDefinition<object, object> {
  const definition = (pkg[service] as ServiceDefinition | undefined)?.[name];
  if (definition === undefined) throw new Error(`no method ${service}/${name}`);
  return definition;
}

/** A grpc-js client of one channel, with typed calls of the services endpointd serves. */
export class TestClient {
  readonly client: Client;

  constructor(address: string, options: ChannelOptions = {}) {
    this.client = new Client(address, credentials.createInsecure(), options);
  }

  unary<Res>(service: string, name: string, request: object): Promise<Res> {
    const m = method(
      service.startsWith('grpc.reflection') ? reflectionDefinitions : definitions,
      service,
      name,
    );
    return new Promise((resolve, reject) => {
      this.client.makeUnaryRequest(
        m.path,
        m.requestSerialize,
        m.responseDeserialize,
        request,
        new Metadata(),
        { deadline: Date.now() + 5000 },
        (error: ServiceError | null, response?: object) =>
          error === null ? resolve(response as Res) : reject(error),
      );
    });
  }

  resolve(request: ResolveRequest): Promise<{ service: DecodedService }> {
    return this.unary('endpointd.v1.Discovery', 'Resolve', request);
  }

  /** The raw bytes of a Resolve answer, for comparing encodings. */
  resolveBytes(request: ResolveRequest): Promise<Buffer> {
    const m = method(definitions, 'endpointd.v1.Discovery', 'Resolve');
    return new Promise((resolve, reject) => {
      this.client.makeUnaryRequest(
        m.path,
        m.requestSerialize,
        (bytes: Buffer) => bytes,
        request,
        (error: ServiceError | null, response?: Buffer) =>
          error === null && response !== undefined
            ? resolve(response)
            : reject(error ?? new Error('no response')),
      );
    });
  }

  listServices(namespace = '', cluster = ''): Promise<{ services: DecodedSummary[] }> {
    return this.unary('endpointd.v1.Discovery', 'ListServices', { namespace, cluster });
  }

  watch(request: WatchRequest, metadata?: Metadata): StreamReader<DecodedWatchResponse> {
    return this.stream('endpointd.v1.Discovery', 'Watch', request, metadata);
  }

  healthCheck(service: string): Promise<{ status: string }> {
    return this.unary('grpc.health.v1.Health', 'Check', { service });
  }

  healthWatch(service: string): StreamReader<{ status: string }> {
    return this.stream('grpc.health.v1.Health', 'Watch', { service });
  }

  /** One request of the server reflection stream (grpc.reflection.v1), and its one answer. */
  async reflect(request: object): Promise<ReflectionAnswer> {
    const m = method(reflectionDefinitions, 'grpc.reflection.v1.ServerReflection', 'ServerReflectionInfo');
    const call = this.client.makeBidiStreamRequest(m.path, m.requestSerialize, m.responseDeserialize);
    try {
      const answer = new Promise<ReflectionAnswer>((resolve, reject) => {
        call.once('data', (message: ReflectionAnswer) => resolve(message));
        call.once('error', reject);
      });
      call.write(request);
      call.end();
      return await answer;
    } finally {
      call.cancel();
    }
  }

  stream<T>(service: string, name: string, request: object, metadata = new Metadata()): StreamReader<T> {
    const m = method(definitions, service, name);
    return new StreamReader<T>(
      this.client.makeServerStreamRequest(
        m.path,
        m.requestSerialize,
        m.responseDeserialize,
        request,
        metadata,
      ),
    );
  }

  close(): void {
    this.client.close();
  }
}

export interface ReflectionAnswer {
  messageResponse: string;
  listServicesResponse?: { service: Array<{ name: string }> };
  fileDescriptorResponse?: { fileDescriptorProto: Buffer[] };
  errorResponse?: { errorCode: number; errorMessage: string };
}

interface ReadableCall {
  on(event: 'data', listener: (message: object) => void): unknown;
  on(event: 'error', listener: (error: ServiceError) => void): unknown;
  on(event: 'end', listener: () => void): unknown;
  cancel(): void;
  pause(): unknown;
  resume(): unknown;
}

/** A server stream read message by message; `next()` waits for the next one. */
export class StreamReader<T> {
  readonly call: ReadableCall;
  readonly #messages: T[] = [];
  readonly #waiters: Array<() => void> = [];
  #error: ServiceError | undefined;
  #ended = false;

  constructor(call: ReadableCall) {
    this.call = call;
    call.on('data', (message) => {
      this.#messages.push(message as T);
      this.#wake();
    });
    call.on('error', (error) => {
      this.#error = error;
      this.#ended = true;
      this.#wake();
    });
    call.on('end', () => {
      this.#ended = true;
      this.#wake();
    });
  }

  /** How the stream ended (undefined: it did not, or ended OK). */
  get error(): ServiceError | undefined {
    return this.#error;
  }

  get buffered(): number {
    return this.#messages.length;
  }

  async next(timeoutMs = 3000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    while (this.#messages.length === 0) {
      if (this.#ended) throw this.#error ?? new Error('stream ended');
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no message within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return this.#messages.shift() as T;
  }

  /** Messages until (and including) the first for which `done` holds. */
  async until(done: (message: T) => boolean, timeoutMs = 3000): Promise<T[]> {
    const seen: T[] = [];
    for (;;) {
      const message = await this.next(timeoutMs);
      seen.push(message);
      if (done(message)) return seen;
    }
  }

  /** Waits for the stream to end and returns its status code (OK = 0). */
  async ended(timeoutMs = 3000): Promise<status> {
    const deadline = Date.now() + timeoutMs;
    while (!this.#ended) {
      if (Date.now() > deadline) throw new Error(`stream still open after ${timeoutMs} ms`);
      this.#messages.length = 0;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 50);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return this.#error?.code ?? status.OK;
  }

  cancel(): void {
    this.call.cancel();
  }

  #wake(): void {
    for (const waiter of this.#waiters.splice(0)) waiter();
  }
}

/** The status code of a rejected call. */
export async function statusOf(promise: Promise<unknown>): Promise<{ code: status; details: string }> {
  try {
    await promise;
  } catch (error) {
    const e = error as ServiceError;
    return { code: e.code, details: e.details };
  }
  throw new Error('the call succeeded');
}

/** A Watch message in a word or two, e.g. "added web", "deleted gone", "synced": for asserting sequences. */
export function summarize(message: DecodedWatchResponse): string {
  switch (message.event) {
    case 'added':
      return `added ${message.added.name}`;
    case 'modified':
      return `modified ${message.modified.name}`;
    case 'deleted':
      return `deleted ${message.deleted.name}`;
    case 'absent':
      return `absent ${message.absent.name}`;
    case 'synced':
    case 'heartbeat':
      return message.event;
  }
}
