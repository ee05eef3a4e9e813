// Test fixtures for the xDS front door: the ADS service on a bare grpc.Server, gRPC echo backends on loopback,
// Services built from those backends, real @grpc/grpc-js-xds channels, and raw scripted ADS streams (grpc-js +
// proto-loader over the full upstream Envoy protos, so the raw client does not share our proto subset).
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pino, type Logger } from 'pino';
import { addXdsService, type XdsControlPlane, type XdsOptions } from '../../src/api/xds/index.ts';
import { buildBootstrap, type BootstrapLocality } from '../../src/api/xds/bootstrap-route.ts';
import { decodeMessage } from '../../src/api/xds/encoding.ts';
import type { Endpoint, ServiceEndpoints } from '../../src/model.ts';
import { EndpointStore } from '../../src/store/endpoint-store.ts';
import { eventually as pollUntil } from './http.ts';

export const SOURCE = 'test';

/** Full upstream protos shipped by @grpc/grpc-js-xds (devDependency). */
export const UPSTREAM_PROTO_DIRS = ((): string[] => {
  const require = createRequire(import.meta.url);
  const root = join(dirname(require.resolve('@grpc/grpc-js-xds/package.json')), 'deps');
  return ['envoy-api', 'xds', 'googleapis', 'protoc-gen-validate'].map((d) => join(root, d));
})();

export function newStore(): EndpointStore {
  return new EndpointStore({ encodedCacheBytes: 16 * 1024 * 1024 });
}

export function testLogger(): Logger {
  return pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
}

export interface TestXdsServer {
  readonly port: number;
  readonly plane: XdsControlPlane;
  readonly server: grpc.Server;
  stop(): Promise<void>;
}

/** The ADS service on a new grpc.Server on 127.0.0.1 (`port` 0: any free one). */
export async function startXdsServer(
  options: Partial<XdsOptions> & { readonly store: EndpointStore },
  port = 0,
): Promise<TestXdsServer> {
  const server = new grpc.Server();
  const plane = addXdsService(server, { readiness: { synced: true }, logger: testLogger(), ...options });
  const bound = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (error, p) =>
      error === null ? resolve(p) : reject(error),
    ),
  );
  return {
    port: bound,
    plane,
    server,
    stop: async () => {
      plane.closeStreams();
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, 500);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    },
  };
}

const ECHO_PATH = '/endpointd.test.Echo/Who';
const identity = (b: Buffer): Buffer => b;
const echoDefinition = {
  Who: {
    path: ECHO_PATH,
    requestStream: false,
    responseStream: false,
    requestSerialize: identity,
    requestDeserialize: identity,
    responseSerialize: identity,
    responseDeserialize: identity,
  },
} satisfies grpc.ServiceDefinition;

export interface Backend {
  readonly id: string;
  readonly address: string;
  readonly port: number;
  stop(): Promise<void>;
}

/**
 * `count` gRPC servers that answer every call with their id (`b1`, `b2`, …), all on one port, on 127.0.0.1,
 * 127.0.0.2, … (Linux routes all of 127/8 to loopback): one Service port number, several endpoints.
 */
export async function startBackends(count: number, prefix = 'b'): Promise<Backend[]> {
  for (let attempt = 0; ; attempt++) {
    const first = await startBackend(`${prefix}1`, '127.0.0.1', 0);
    const rest = await Promise.allSettled(
      Array.from({ length: count - 1 }, (_, i) =>
        startBackend(`${prefix}${i + 2}`, `127.0.0.${i + 2}`, first.port),
      ),
    );
    const started = rest.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    if (started.length === count - 1) return [first, ...started];
    // The port was taken on another loopback address: try another one.
    await Promise.all([first, ...started].map((b) => b.stop()));
    if (attempt >= 5) throw new Error('could not start backends on one port');
  }
}

export async function startBackend(id: string, address = '127.0.0.1', port = 0): Promise<Backend> {
  const server = new grpc.Server();
  server.addService(echoDefinition, {
    Who: (_call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) =>
      callback(null, Buffer.from(id)),
  });
  const bound = await new Promise<number>((resolve, reject) =>
    server.bindAsync(
      `${address.includes(':') ? `[${address}]` : address}:${port}`,
      grpc.ServerCredentials.createInsecure(),
      (error, p) => (error === null ? resolve(p) : reject(error)),
    ),
  );
  return {
    id,
    address,
    port: bound,
    stop: () => new Promise((resolve) => server.tryShutdown(() => resolve())),
  };
}

export interface EndpointSpec {
  readonly port: number;
  readonly address?: string;
  readonly ready?: boolean;
  readonly serving?: boolean;
  readonly terminating?: boolean;
  readonly zone?: string;
  readonly portName?: string;
}

/** An endpoint at `address:port`, its port named `grpc`: the unit of the test Services of `service()`. */
export function endpointAt(address: string, port = 8080): EndpointSpec {
  return { address, port, portName: 'grpc' };
}

/** Service `namespace/name` whose endpoints listen on port `grpc` (each its own number, as pods may). */
export function service(
  namespace: string,
  name: string,
  endpoints: readonly EndpointSpec[],
): ServiceEndpoints {
  const list: Endpoint[] = endpoints.map((e) => ({
    addresses: [e.address ?? '127.0.0.1'],
    addressType: 'IPv4',
    ports: [{ name: e.portName ?? 'grpc', port: e.port, protocol: 'TCP' }],
    ready: e.ready ?? true,
    serving: e.serving ?? e.ready ?? true,
    terminating: e.terminating ?? false,
    ...(e.zone === undefined ? {} : { zone: e.zone }),
  }));
  const ports = [...new Map(list.flatMap((e) => e.ports).map((p) => [`${p.name}|${p.port}`, p])).values()];
  return { namespace, name, ports, endpoints: list };
}

/** An endpoint of backend `b` (its address, its port named `grpc`): ready, or neither ready nor serving. */
export function backendEndpoint(b: Backend, ready: boolean, extra: Partial<Endpoint> = {}): Endpoint {
  return {
    addresses: [b.address],
    addressType: 'IPv4',
    ports: [{ name: 'grpc', port: b.port, protocol: 'TCP' }],
    ready,
    serving: ready,
    terminating: false,
    ...extra,
  };
}

/** The ids of the backends that answered `n` calls in a row (each must succeed), sorted, each once. */
export async function answeredBy(client: grpc.Client, n: number): Promise<string[]> {
  const ids = new Set<string>();
  for (let i = 0; i < n; i++) ids.add(await who(client));
  return [...ids].sort();
}

let nodeCounter = 0;

/**
 * A real grpc-js-xds channel for `target` (e.g. `xds:///web.shop:8080`), with its own bootstrap and XdsClient;
 * `locality` is its bootstrap's node.locality (where the client says it is).
 */
export function xdsChannel(target: string, xdsPort: number, locality: BootstrapLocality = {}): grpc.Client {
  nodeCounter += 1;
  const id = `test-node-${process.pid}-${nodeCounter}`;
  const bootstrap = buildBootstrap('127.0.0.1', xdsPort, id, false, locality);
  return new grpc.Client(target, grpc.credentials.createInsecure(), {
    'grpc.TEST_ONLY_DO_NOT_USE_IN_PROD.xds_bootstrap_config': JSON.stringify(bootstrap),
  });
}

/** One call; resolves to the id of the backend that answered. */
export function who(client: grpc.Client, timeoutMs = 2000): Promise<string> {
  return new Promise((resolve, reject) => {
    client.makeUnaryRequest(
      ECHO_PATH,
      identity,
      identity,
      Buffer.alloc(0),
      { deadline: Date.now() + timeoutMs },
      (error, response) =>
        error !== null || response === undefined
          ? reject(error ?? new Error('no response'))
          : resolve(response.toString()),
    );
  });
}

/** The gRPC status code a call ends with (0 = OK). */
export async function callCode(client: grpc.Client, timeoutMs = 2000): Promise<grpc.status> {
  try {
    await who(client, timeoutMs);
    return grpc.status.OK;
  } catch (error) {
    return (error as grpc.ServiceError).code;
  }
}

/** Polls `check` every 20 ms until it returns true; rejects after `timeoutMs` with `what`. */
export async function eventually(
  what: string,
  timeoutMs: number,
  check: () => Promise<boolean> | boolean,
): Promise<number> {
  const started = performance.now();
  await pollUntil(async () => ((await check()) ? true : undefined), timeoutMs).catch(() => {
    throw new Error(`not within ${timeoutMs} ms: ${what}`);
  });
  return performance.now() - started;
}

// --- raw ADS over the upstream protos ---

export interface RawAny {
  readonly type_url: string;
  readonly value: Buffer;
}

export interface RawResponse {
  readonly version_info: string;
  readonly resources: readonly RawAny[];
  readonly type_url: string;
  readonly nonce: string;
}

export interface RawDeltaResponse {
  readonly system_version_info: string;
  readonly resources: ReadonlyArray<{
    readonly name: string;
    readonly version: string;
    readonly resource: RawAny;
  }>;
  readonly type_url: string;
  readonly nonce: string;
  readonly removed_resources: readonly string[];
}

type AdsClient = grpc.Client & {
  StreamAggregatedResources(): grpc.ClientDuplexStream<object, RawResponse>;
  DeltaAggregatedResources(): grpc.ClientDuplexStream<object, RawDeltaResponse>;
};

let adsConstructor: grpc.ServiceClientConstructor | undefined;

function adsClientConstructor(): grpc.ServiceClientConstructor {
  if (adsConstructor === undefined) {
    const definition = protoLoader.loadSync('envoy/service/discovery/v3/ads.proto', {
      keepCase: true,
      longs: Number,
      enums: String,
      defaults: true,
      includeDirs: UPSTREAM_PROTO_DIRS,
    });
    const pkg = grpc.loadPackageDefinition(definition) as unknown as {
      envoy: {
        service: { discovery: { v3: { AggregatedDiscoveryService: grpc.ServiceClientConstructor } } };
      };
    };
    adsConstructor = pkg.envoy.service.discovery.v3.AggregatedDiscoveryService;
  }
  return adsConstructor;
}

/** A scripted ADS stream: send requests, await responses one by one. */
export class RawStream<Res> {
  readonly client: grpc.Client;
  readonly call: grpc.ClientDuplexStream<object, Res>;
  readonly #received: Res[] = [];
  readonly #waiters: ((r: Res) => void)[] = [];
  status: grpc.StatusObject | undefined;
  error: grpc.ServiceError | undefined;

  constructor(client: grpc.Client, call: grpc.ClientDuplexStream<object, Res>) {
    this.client = client;
    this.call = call;
    call.on('data', (response: Res) => {
      const waiter = this.#waiters.shift();
      if (waiter === undefined) this.#received.push(response);
      else waiter(response);
    });
    call.on('status', (status: grpc.StatusObject) => {
      this.status = status;
    });
    call.on('error', (error: grpc.ServiceError) => {
      this.error = error;
    });
  }

  send(request: object): void {
    this.call.write(request);
  }

  /** The next response, or a rejection after `timeoutMs`. */
  next(timeoutMs = 2000): Promise<Res> {
    const ready = this.#received.shift();
    if (ready !== undefined) return Promise.resolve(ready);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        const i = this.#waiters.indexOf(waiter);
        if (i >= 0) this.#waiters.splice(i, 1);
        reject(new Error(`no response within ${timeoutMs} ms`));
      }, timeoutMs);
      const waiter = (r: Res): void => {
        clearTimeout(timer);
        resolve(r);
      };
      this.#waiters.push(waiter);
    });
  }

  close(): void {
    this.call.cancel();
    this.client.close();
  }
}

export function rawSotw(port: number): RawStream<RawResponse> {
  const Client = adsClientConstructor();
  const client = new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as unknown as AdsClient;
  const stream = new RawStream(client, client.StreamAggregatedResources());
  stream.call.on('error', () => {});
  return stream;
}

export function rawDelta(port: number): RawStream<RawDeltaResponse> {
  const Client = adsClientConstructor();
  const client = new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as unknown as AdsClient;
  const stream = new RawStream(client, client.DeltaAggregatedResources());
  stream.call.on('error', () => {});
  return stream;
}

/** An `Any` decoded with endpointd's own protos (the raw client hands out bytes). */
export function decodeAny(any: RawAny): Record<string, unknown> {
  return decodeMessage(any.type_url.slice(any.type_url.lastIndexOf('/') + 1), any.value);
}

/** The names of decoded resources (`name`, or `cluster_name` for assignments), sorted. */
export function resourceNames(resources: readonly RawAny[]): string[] {
  return resources
    .map((r) => {
      const decoded = decodeAny(r) as { name?: string; cluster_name?: string };
      return decoded.name ?? decoded.cluster_name ?? '';
    })
    .sort();
}

/** The IP:port pairs of an encoded assignment, sorted. */
export function assignmentAddresses(any: RawAny): string[] {
  const cla = decodeAny(any) as {
    endpoints?: {
      lb_endpoints?: { endpoint: { address: { socket_address: { address: string; port_value: number } } } }[];
    }[];
  };
  return (cla.endpoints ?? [])
    .flatMap((l) => l.lb_endpoints ?? [])
    .map(
      (e) => `${e.endpoint.address.socket_address.address}:${e.endpoint.address.socket_address.port_value}`,
    )
    .sort();
}

/**
 * The end of a negative check on a state-of-the-world stream: sends the first request of a type the stream has not
 * asked for yet — which must be answered — and requires that answer to be the next response. Whatever the server
 * wrongly sent before it (an answer to a NACK, a change the stream is not subscribed to) arrives first and fails.
 */
export async function sotwMarker(
  ads: RawStream<RawResponse>,
  typeUrl: string,
  names: readonly string[],
): Promise<RawResponse> {
  ads.send({ type_url: typeUrl, resource_names: names });
  const response = await ads.next(5000);
  if (response.type_url !== typeUrl) {
    throw new Error(
      `a ${response.type_url} response (version ${response.version_info}) arrived before the marker`,
    );
  }
  return response;
}

/** The same for a delta stream: the first subscription of a type not asked for yet must be the next response. */
export async function deltaMarker(
  ads: RawStream<RawDeltaResponse>,
  typeUrl: string,
  names: readonly string[],
): Promise<RawDeltaResponse> {
  ads.send({ type_url: typeUrl, resource_names_subscribe: names });
  const response = await ads.next(5000);
  if (response.type_url !== typeUrl) {
    throw new Error(
      `a ${response.type_url} response (${response.resources.map((r) => r.name).join()}) arrived before the marker`,
    );
  }
  return response;
}

/** ACKs `response` on a state-of-the-world stream, keeping `names` subscribed. */
export function ackSotw(ads: RawStream<RawResponse>, names: readonly string[], response: RawResponse): void {
  ads.send({
    type_url: response.type_url,
    resource_names: names,
    version_info: response.version_info,
    response_nonce: response.nonce,
  });
}
