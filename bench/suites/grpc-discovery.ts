// gRPC front door figures: Resolve req/s of endpointd's gRPC server against a grpc-js floor (a bare grpc-js server
// answering the same bytes from a Buffer), with the same load generator in the same run; and Watch fan-out, the
// time from one store change to its receipt on each of 100 / 1,000 / 10,000 open streams over 20 connections.
// Every side runs in its own process (this file, forked with --role=...), so that clients and servers never share
// an event loop; the file is also the suite module that bench/run.ts imports.
import { Client, credentials, Server, ServerCredentials, type MethodDefinition } from '@grpc/grpc-js';
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { createGrpcServer } from '../../src/api/grpc/index.ts';
import { withVersion, type ServiceEndpoints, type ServiceKey } from '../../src/model.ts';
import { pino } from 'pino';
import { Readiness } from '../../src/observability/readiness.ts';
import { mergeEndpointSlices } from '../../src/sources/kubernetes/convert.ts';
import { EndpointStore } from '../../src/store/endpoint-store.ts';
import { endpointSlices } from '../support/fixtures.ts';
import { result, type BenchResult } from '../support/report.ts';
import { percentileOfSorted } from '../support/stats.ts';
import type { SuiteContext } from '../support/suite.ts';

export const description =
  'gRPC Resolve req/s vs a bare grpc-js server sending the same bytes; Watch fan-out p50/p99 at 100/1k/10k streams';

const SELF = fileURLToPath(import.meta.url);
const RESOLVE_PATH = '/endpointd.v1.Discovery/Resolve';
const WATCH_PATH = '/endpointd.v1.Discovery/Watch';
const LOOKED_UP: ServiceKey = { namespace: 'shop', name: 'checkout' };
const WATCHED: ServiceKey = { namespace: 'shop', name: 'cart' };
/** ResolveRequest{namespace:"shop", name:"checkout", port:{name:"http"}}, encoded by hand so no side decodes it twice. */
const RESOLVE_REQUEST = Buffer.concat([
  field(1, Buffer.from(LOOKED_UP.namespace)),
  field(2, Buffer.from(LOOKED_UP.name)),
  field(4, field(1, Buffer.from('http'))),
]);
/** WatchRequest{services:[{namespace:"shop", name:"cart"}]}. */
const WATCH_REQUEST = field(
  1,
  Buffer.concat([field(1, Buffer.from(WATCHED.namespace)), field(2, Buffer.from(WATCHED.name))]),
);
const FANOUT_CONNECTIONS = 20;

// ---- the messages between this suite and its children ----

type ToChild =
  | { readonly type: 'serve-floor'; readonly bytes: Uint8Array }
  | { readonly type: 'change' }
  | { readonly type: 'load'; readonly port: number; readonly load: LoadSpec }
  | { readonly type: 'watch'; readonly port: number; readonly streams: number }
  | { readonly type: 'expect'; readonly version: string };

type FromChild =
  | { readonly type: 'listening'; readonly port: number }
  | { readonly type: 'changed'; readonly at: number; readonly version: string }
  | { readonly type: 'loaded'; readonly calls: number; readonly errors: number; readonly seconds: number }
  | { readonly type: 'watching' }
  | { readonly type: 'expecting' }
  | { readonly type: 'received'; readonly at: readonly number[] }
  | { readonly type: 'failed'; readonly error: string };

interface LoadSpec {
  readonly channels: number;
  /** Unary calls in flight on each channel at all times. */
  readonly inFlight: number;
  readonly warmupSeconds: number;
  readonly seconds: number;
}

// ---- the suite ----

export async function run(context: SuiteContext): Promise<BenchResult[]> {
  return [...(await resolveThroughput(context)), ...(await watchFanOut(context))];
}

async function resolveThroughput({ quick, log }: SuiteContext): Promise<BenchResult[]> {
  const load: LoadSpec = { channels: 4, inFlight: 16, warmupSeconds: quick ? 1 : 2, seconds: quick ? 3 : 8 };
  const rounds = quick ? 1 : 2;
  const subject = await Role.start('subject');
  const floor = await Role.start('floor');
  try {
    const subjectPort = (await subject.ask({ type: 'change' }, 'listening')).port;
    const reference = await resolveOnce(subjectPort);
    log(`subject pid ${subject.pid} answers Resolve with ${reference.byteLength} bytes`);
    const floorPort = (await floor.ask({ type: 'serve-floor', bytes: reference }, 'listening')).port;
    if (!(await resolveOnce(floorPort)).equals(reference))
      throw new Error('the floor does not answer the same bytes');

    const best = { subject: 0, floor: 0 };
    for (let round = 1; round <= rounds; round++) {
      for (const [label, port] of [
        ['floor', floorPort],
        ['subject', subjectPort],
      ] as const) {
        const generator = await Role.start('load');
        try {
          const loaded = await generator.ask(
            { type: 'load', port, load },
            'loaded',
            (load.warmupSeconds + load.seconds + 30) * 1000,
          );
          if (loaded.errors > 0) throw new Error(`${label}: ${loaded.errors} calls failed`);
          const rps = loaded.calls / loaded.seconds;
          best[label] = Math.max(best[label], rps);
          log(`round ${round}/${rounds} ${label.padEnd(7)} ${Math.round(rps)} Resolve/s`);
        } finally {
          await generator.stop();
        }
      }
    }
    if (!(await resolveOnce(subjectPort)).equals(reference))
      throw new Error('the subject answers differently after load');
    return [
      result('grpc_resolve_rps', best.subject, 'req/s', { name: 'grpc_js_floor_rps', value: best.floor }),
    ];
  } finally {
    await Promise.all([subject.stop(), floor.stop()]);
  }
}

async function watchFanOut({ quick, log }: SuiteContext): Promise<BenchResult[]> {
  const rows: BenchResult[] = [];
  // etcd's watch fan-out on this machine with the same kind of client harness (issue 4): the peer to beat.
  const etcdP99: Record<number, number> = { 100: 10, 1000: 40, 10_000: 210 };
  for (const streams of [100, 1000, 10_000]) {
    const changes = quick ? 2 : streams >= 10_000 ? 5 : 10;
    const server = await Role.start('subject');
    const clients = await Role.start('clients');
    try {
      const port = (await server.ask({ type: 'change' }, 'listening')).port;
      await clients.ask({ type: 'watch', port, streams }, 'watching', 120_000);
      const latencies: number[] = [];
      for (let i = 0; i < changes; i++) {
        // Tell the clients what to wait for before the change exists (the variants alternate), then change.
        const expected = withVersion(watchedService(i % 2 === 0 ? 1 : 0)).version;
        await clients.ask({ type: 'expect', version: expected }, 'expecting');
        const received = clients.next('received', 60_000);
        const changed = await server.ask({ type: 'change' }, 'changed');
        if (changed.version !== expected)
          throw new Error('the server changed to another version than announced');
        for (const at of (await received).at) latencies.push(at - changed.at);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const sortedLatencies = latencies.sort((a, b) => a - b);
      const p50 = percentileOfSorted(sortedLatencies, 50);
      const p99 = percentileOfSorted(sortedLatencies, 99);
      log(`${streams} streams × ${changes} changes: p50 ${p50.toFixed(2)} ms, p99 ${p99.toFixed(2)} ms`);
      const size = streams >= 1000 ? `${streams / 1000}k` : String(streams);
      rows.push(
        result(`grpc_watch_fanout_${size}_p50_ms`, p50, 'ms'),
        result(`grpc_watch_fanout_${size}_p99_ms`, p99, 'ms', {
          name: `etcd_watch_fanout_${size}_p99_ms`,
          value: etcdP99[streams] ?? Number.NaN,
        }),
      );
    } finally {
      await Promise.all([clients.stop(), server.stop()]);
    }
  }
  return rows;
}

/** Decodes nothing: the raw ResolveResponse bytes of one call. */
async function resolveOnce(port: number): Promise<Buffer> {
  const client = new Client(`127.0.0.1:${port}`, credentials.createInsecure());
  try {
    return await new Promise<Buffer>((resolve, reject) => {
      client.makeUnaryRequest(
        RESOLVE_PATH,
        identity,
        identity,
        RESOLVE_REQUEST,
        (error, response?: Buffer) =>
          error === null && response !== undefined
            ? resolve(response)
            : reject(error ?? new Error('no answer')),
      );
    });
  } finally {
    client.close();
  }
}

// ---- the parent's handle on a child ----

type RoleName = 'subject' | 'floor' | 'load' | 'clients';

class Role {
  readonly #child: ChildProcess;
  readonly #inbox: FromChild[] = [];
  readonly #waiters: Array<() => void> = [];
  #exited = false;

  private constructor(child: ChildProcess) {
    this.#child = child;
    child.on('message', (message: FromChild) => {
      this.#inbox.push(message);
      for (const waiter of this.#waiters.splice(0)) waiter();
    });
    child.once('exit', () => {
      this.#exited = true;
      for (const waiter of this.#waiters.splice(0)) waiter();
    });
  }

  static start(role: RoleName): Promise<Role> {
    const child = fork(SELF, [`--role=${role}`], {
      execArgv: [],
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
      serialization: 'advanced',
    });
    return Promise.resolve(new Role(child));
  }

  get pid(): number {
    return this.#child.pid ?? -1;
  }

  send(message: ToChild): void {
    if (this.#child.connected) this.#child.send(message);
  }

  async ask<T extends FromChild['type']>(
    message: ToChild,
    answer: T,
    timeoutMs = 30_000,
  ): Promise<Extract<FromChild, { type: T }>> {
    const reply = this.next(answer, timeoutMs);
    this.send(message);
    return reply;
  }

  /** The next message of type `type` (earlier messages of other types are dropped). */
  async next<T extends string>(type: T, timeoutMs: number): Promise<Extract<FromChild, { type: T }>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const message = this.#inbox.shift();
      if (message?.type === 'failed') throw new Error(`child ${this.pid}: ${message.error}`);
      if (message?.type === type) return message as Extract<FromChild, { type: T }>;
      if (message !== undefined) continue;
      if (this.#exited) throw new Error(`child ${this.pid} exited while we waited for ${type}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`child ${this.pid}: no ${type} within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  async stop(): Promise<void> {
    if (this.#exited) return;
    this.#child.kill('SIGTERM');
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), 5000);
    await once(this.#child, 'exit').catch(() => undefined);
    clearTimeout(timer);
  }
}

// ---- the children ----

/** The watched service in one of its two variants; the subject starts at 0 and flips on each change. */
function watchedService(variant: 0 | 1): ServiceEndpoints {
  return mergeEndpointSlices(
    WATCHED,
    endpointSlices({ ...WATCHED, slices: 1, endpointsPerSlice: 10, index: 7, variant }),
  );
}

/** endpointd's gRPC server over a synced store of 41 services; `change` flips the watched service's variant. */
async function subjectChild(post: (message: FromChild) => void): Promise<void> {
  const store = new EndpointStore({ encodedCacheBytes: 64 * 2 ** 20 });
  store.upsert(
    'bench',
    mergeEndpointSlices(
      LOOKED_UP,
      endpointSlices({ ...LOOKED_UP, slices: 3, endpointsPerSlice: 10, index: 0 }),
    ),
  );
  store.upsert('bench', watchedService(0));
  for (let i = 0; i < 40; i++) {
    const key = { namespace: `team-${i % 8}`, name: `svc-${i}` };
    store.upsert(
      'bench',
      mergeEndpointSlices(key, endpointSlices({ ...key, slices: 1, endpointsPerSlice: 5, index: i + 10 })),
    );
  }
  const synced = {
    name: 'bench',
    start: () => Promise.resolve(),
    stop: () => Promise.resolve(),
    status: () => ({ synced: true, lastSyncAt: Date.now(), error: undefined }),
  };
  const grpc = createGrpcServer({
    store,
    readiness: new Readiness([synced]),
    logger: pino({ level: 'silent' }),
    heartbeatMs: 30_000,
  });
  const port = await grpc.start('127.0.0.1', 0);
  let variant: 0 | 1 = 0;
  let announced = false;
  process.on('message', (message: ToChild) => {
    if (message.type !== 'change') return;
    // The first `change` only asks where we listen.
    if (!announced) {
      announced = true;
      post({ type: 'listening', port });
      return;
    }
    variant = variant === 0 ? 1 : 0;
    const service = watchedService(variant);
    const at = performance.timeOrigin + performance.now();
    store.upsert('bench', service);
    post({ type: 'changed', at, version: store.get(WATCHED)?.version ?? '' });
  });
  process.once('SIGTERM', () => void grpc.shutdown(500).then(() => process.exit(0)));
}

/** The floor: the least a grpc-js server can do to answer Resolve — no decoding, the same bytes from a Buffer. */
function floorChild(post: (message: FromChild) => void): void {
  process.once('message', (message: ToChild) => {
    if (message.type !== 'serve-floor') return;
    const bytes = Buffer.from(message.bytes);
    const server = new Server();
    const resolve: MethodDefinition<Buffer, Buffer> = {
      path: RESOLVE_PATH,
      requestStream: false,
      responseStream: false,
      requestSerialize: identity,
      requestDeserialize: identity,
      responseSerialize: identity,
      responseDeserialize: identity,
    };
    server.addService(
      { Resolve: resolve },
      {
        Resolve: (_call: unknown, callback: (error: null, value: Buffer) => void) => callback(null, bytes),
      },
    );
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (error, port) => {
      if (error !== null) post({ type: 'failed', error: error.message });
      else post({ type: 'listening', port });
    });
    process.once('SIGTERM', () => server.tryShutdown(() => process.exit(0)));
  });
}

/** Unary Resolve calls, `inFlight` at all times on each of `channels` connections; raw bytes both ways. */
function loadChild(post: (message: FromChild) => void): void {
  process.once('message', (message: ToChild) => {
    if (message.type !== 'load') return;
    const { port, load } = message;
    const clients = Array.from(
      { length: load.channels },
      (_, i) =>
        // A distinct option per channel: grpc-js would otherwise share one connection between them.
        new Client(`127.0.0.1:${port}`, credentials.createInsecure(), { 'grpc.bench_channel': i }),
    );
    let counting = false;
    let stopped = false;
    let calls = 0;
    let errors = 0;
    const call = (client: Client): void => {
      client.makeUnaryRequest(RESOLVE_PATH, identity, identity, RESOLVE_REQUEST, (error) => {
        if (counting) {
          if (error === null) calls += 1;
          else errors += 1;
        }
        if (!stopped) call(client);
      });
    };
    for (const client of clients) for (let i = 0; i < load.inFlight; i++) call(client);
    setTimeout(() => {
      counting = true;
      const started = performance.now();
      setTimeout(() => {
        counting = false;
        stopped = true;
        post({ type: 'loaded', calls, errors, seconds: (performance.now() - started) / 1000 });
      }, load.seconds * 1000);
    }, load.warmupSeconds * 1000);
  });
}

/** `streams` Watch streams over 20 connections; reports when all are synced, then each change's receipt times. */
function clientsChild(post: (message: FromChild) => void): void {
  let expected: Buffer | undefined;
  let receipts: number[] = [];
  let total = 0;
  process.on('message', (message: ToChild) => {
    if (message.type === 'expect') {
      expected = Buffer.from(message.version);
      receipts = [];
      post({ type: 'expecting' });
      return;
    }
    if (message.type !== 'watch') return;
    total = message.streams;
    const clients = Array.from(
      { length: FANOUT_CONNECTIONS },
      (_, i) =>
        new Client(`127.0.0.1:${message.port}`, credentials.createInsecure(), { 'grpc.bench_channel': i }),
    );
    let synced = 0;
    for (let i = 0; i < total; i++) {
      const client = clients[i % clients.length] as Client;
      const call = client.makeServerStreamRequest(WATCH_PATH, identity, identity, WATCH_REQUEST);
      let seenSynced = false;
      call.on('data', (bytes: Buffer) => {
        const at = performance.timeOrigin + performance.now();
        // WatchResponse{synced:{}} is field 5, empty: bytes 0x2a 0x00.
        if (!seenSynced) {
          if (bytes.length === 2 && bytes[0] === 0x2a) {
            seenSynced = true;
            synced += 1;
            if (synced === total) post({ type: 'watching' });
          }
          return;
        }
        if (expected !== undefined && bytes.includes(expected)) {
          receipts.push(at);
          if (receipts.length === total) post({ type: 'received', at: receipts });
        }
      });
      call.on('error', () => undefined);
    }
  });
}

// ---- helpers ----

function identity(bytes: Buffer): Buffer {
  return bytes;
}

/** A length-delimited protobuf field (wire type 2) with a one- or two-byte tag and length. */
function field(number: number, value: Buffer): Buffer {
  const length = value.length < 128 ? [value.length] : [(value.length & 0x7f) | 0x80, value.length >> 7];
  return Buffer.concat([Buffer.from([(number << 3) | 2, ...length]), value]);
}

const roleArg = process.argv.find((a) => a.startsWith('--role='))?.slice('--role='.length);
if (roleArg !== undefined) {
  const post = (message: FromChild): void => {
    process.send?.(message);
  };
  process.once('disconnect', () => process.exit(0));
  try {
    if (roleArg === 'subject') await subjectChild(post);
    else if (roleArg === 'floor') floorChild(post);
    else if (roleArg === 'load') loadChild(post);
    else if (roleArg === 'clients') clientsChild(post);
  } catch (error) {
    post({ type: 'failed', error: error instanceof Error ? (error.stack ?? error.message) : String(error) });
  }
}
