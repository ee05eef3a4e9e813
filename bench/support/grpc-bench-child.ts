// The child processes of the gRPC suite, one role each (`--role=…`, forked by Role.start in grpc-bench.ts):
// endpointd's gRPC server over a store (subject), a bare grpc-js server (floor), the Watch clients of a fan-out
// run, for endpointd or etcd (clients), and the writer that changes etcd's watched key (etcd-writer). Never
// imported.
import { Client, credentials, Server, ServerCredentials, type MethodDefinition } from '@grpc/grpc-js';
import { writeFileSync } from 'node:fs';
import type { ClientHttp2Session } from 'node:http2';
import { join } from 'node:path';
import { pino } from 'pino';
import { createGrpcServer } from '../../src/api/grpc/index.ts';
import { compactHeap } from '../../src/observability/heap-compaction.ts';
import { Readiness } from '../../src/observability/readiness.ts';
import { mergeEndpointSlices } from '../../src/kube/convert.ts';
import { EndpointStore } from '../../src/store/endpoint-store.ts';
import {
  ETCD_PUT_PATH,
  ETCD_WATCH_PATH,
  decodePutResponse,
  decodeWatchResponse,
  encodePutRequest,
  encodeWatchRequest,
} from './etcd-wire.ts';
import { endpointSlices } from './fixtures.ts';
import { ChildTraceCollector, TRACE_FILE } from './grpc-fanout-trace.ts';
import { rawCall, rawSession } from './grpc-raw-stream.ts';
import {
  FANOUT_CONNECTIONS,
  LOOKED_UP,
  RESOLVE_PATH,
  WATCHED,
  WATCH_PATH,
  WATCH_REQUEST,
  WATCH_SYNCED,
  identity,
  watchedService,
  type FromChild,
  type ToChild,
  type WatchProtocol,
} from './grpc-bench.ts';

type Post = (message: FromChild) => void;

const now = (): number => performance.timeOrigin + performance.now();

/** endpointd's gRPC server over a synced store of 42 services; `change` flips the watched service's variant. */
async function subjectChild(post: Post): Promise<void> {
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
  // As endpointd does between its first sync and ready (src/compose/endpointd.ts): the young generation starts
  // from 1 MB again and grows back under the traffic, so the fan-out is measured with the heap production has.
  compactHeap();
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
  // With BENCH_GRPC_CPU_PROF, when each change was made on the CPU profile's clock (V8's ticks are the monotonic
  // clock of process.hrtime, in µs), so that grpc-profile-report.ts can cut the profile into one window a change.
  const changesAtUs: number[] = [];
  const tracer = TRACE_FILE === undefined ? undefined : new ChildTraceCollector(true);
  process.on('message', (message: ToChild) => {
    if (message.type === 'trace' && tracer !== undefined) post({ type: 'trace', trace: tracer.report() });
    if (message.type !== 'change') return;
    // The first `change` only asks where we listen.
    if (!announced) {
      announced = true;
      post({ type: 'listening', port });
      return;
    }
    variant = variant === 0 ? 1 : 0;
    const service = watchedService(variant);
    const at = now();
    changesAtUs.push(Number(process.hrtime.bigint() / 1000n));
    store.upsert('bench', service);
    post({ type: 'changed', at, marker: store.get(WATCHED)?.version ?? '', revision: 0, writeMs: 0 });
  });
  process.once('SIGTERM', () => {
    const profileDir = process.env.BENCH_GRPC_CPU_PROF;
    if (profileDir !== undefined && changesAtUs.length > 0)
      writeFileSync(
        join(profileDir, `changes-${process.pid}.json`),
        JSON.stringify({ changesAtUs, stoppedAtUs: Number(process.hrtime.bigint() / 1000n) }),
      );
    void grpc.shutdown(500).then(() => process.exit(0));
  });
}

/** The floor: the least a grpc-js server can do to answer Resolve — no decoding, the same bytes from a Buffer. */
function floorChild(post: Post): void {
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

/**
 * `streams` Watch streams over FANOUT_CONNECTIONS connections, opened the same way for endpointd and etcd (one
 * bare HTTP/2 session per connection, grpc-raw-stream.ts; streams dealt round-robin, raw bytes, no decoding on the
 * hot path); reports when
 * every stream is ready (endpointd: Synced; etcd: created), then, per change, each stream's receipt time of the
 * first message that contains the expected marker.
 */
function clientsChild(post: Post): void {
  let expected: Buffer | undefined;
  let receipts: number[] = [];
  let sample: Buffer | undefined;
  let total = 0;
  const tracer = TRACE_FILE === undefined ? undefined : new ChildTraceCollector(false);
  process.on('message', (message: ToChild) => {
    if (message.type === 'trace' && tracer !== undefined) post({ type: 'trace', trace: tracer.report() });
    if (message.type === 'expect') {
      expected = Buffer.from(message.marker);
      receipts = [];
      sample = undefined;
      // A full collection now, before the change, rather than one of its own choosing during some change: at 10,000
      // streams a major GC of this process takes ~300 ms and fell on every other change, which decided the p99 of
      // whichever side it hit. Both sides' clients do it, outside the measured window.
      globalThis.gc?.();
      post({ type: 'expecting' });
      return;
    }
    if (message.type !== 'watch') return;
    total = message.streams;
    const protocol = message.protocol;
    let ready = 0;
    const onMessage = (i: number, bytes: Buffer, state: { ready: boolean }): void => {
      const at = now();
      if (!state.ready) {
        const verdict = isReady(protocol, bytes);
        if (verdict === 'ready') {
          state.ready = true;
          ready += 1;
          if (ready === total) post({ type: 'watching' });
        } else if (verdict !== 'not-yet') {
          post({ type: 'failed', error: `stream ${i}: ${verdict.failure}` });
        }
        return;
      }
      if (expected !== undefined && bytes.includes(expected)) {
        receipts.push(at);
        sample ??= Buffer.from(bytes);
        if (receipts.length === total) post({ type: 'received', at: receipts, sample });
      }
    };
    // A stream that fails would leave a change without all its receipts: say why rather than time out.
    const onFailure = (i: number, reason: string): void =>
      post({ type: 'failed', error: `stream ${i}: ${reason}` });
    if (process.env.BENCH_GRPC_WATCH_CLIENT === 'grpc-js') {
      watchWithGrpcJs(message.target, protocol, onMessage, onFailure);
      return;
    }
    const sessions = Array.from({ length: FANOUT_CONNECTIONS }, () => rawSession(message.target));
    const [path, request, endRequest] =
      protocol.kind === 'endpointd'
        ? [WATCH_PATH, WATCH_REQUEST, true]
        : [
            ETCD_WATCH_PATH,
            encodeWatchRequest({ create_request: { key: Buffer.from(protocol.key) } }),
            false,
          ];
    for (let i = 0; i < total; i++) {
      const state = { ready: false };
      rawCall(sessions[i % sessions.length] as ClientHttp2Session, path, request, endRequest, {
        onMessage: (bytes) => onMessage(i, bytes, state),
        onFailure: (reason) => onFailure(i, reason),
      });
    }
  });

  /** The harness as it was until 2026-12-01, grpc-js's client (BENCH_GRPC_WATCH_CLIENT=grpc-js), for A/B runs. */
  function watchWithGrpcJs(
    target: string,
    protocol: WatchProtocol,
    onMessage: (i: number, bytes: Buffer, state: { ready: boolean }) => void,
    onFailure: (i: number, reason: string) => void,
  ): void {
    const clients = Array.from(
      { length: FANOUT_CONNECTIONS },
      (_, i) => new Client(target, credentials.createInsecure(), { 'grpc.bench_channel': i }),
    );
    for (let i = 0; i < total; i++) {
      const call = openStream(clients[i % clients.length] as Client, protocol);
      const state = { ready: false };
      call.on('data', (bytes: Buffer) => onMessage(i, bytes, state));
      call.on('error', (error: Error) => onFailure(i, error.message));
    }
  }
}

interface RawStream {
  on(event: 'data', listener: (bytes: Buffer) => void): unknown;
  on(event: 'error', listener: (error: Error) => void): unknown;
}

function openStream(client: Client, protocol: WatchProtocol): RawStream {
  if (protocol.kind === 'endpointd') {
    return client.makeServerStreamRequest(WATCH_PATH, identity, identity, WATCH_REQUEST);
  }
  // etcd's Watch is bidirectional: one create request, and the sending side stays open (closing it is allowed,
  // but a real client keeps it for more requests).
  const call = client.makeBidiStreamRequest(ETCD_WATCH_PATH, identity, identity);
  call.write(encodeWatchRequest({ create_request: { key: Buffer.from(protocol.key) } }));
  return call;
}

/** Whether a stream's first message says it is ready, is something else to wait past, or is a failure. */
function isReady(protocol: WatchProtocol, bytes: Buffer): 'ready' | 'not-yet' | { readonly failure: string } {
  if (protocol.kind === 'endpointd') return bytes.equals(WATCH_SYNCED) ? 'ready' : 'not-yet';
  const response = decodeWatchResponse(bytes);
  if (response.canceled) return { failure: `etcd canceled the watch: ${response.cancel_reason}` };
  return response.created ? 'ready' : 'not-yet';
}

/** Puts one of two values on etcd's watched key, alternating, and tells when each Put was sent. */
function etcdWriterChild(post: Post): void {
  const fail = (error: unknown): void =>
    post({ type: 'failed', error: error instanceof Error ? (error.stack ?? error.message) : String(error) });
  process.once('message', (setup: ToChild) => {
    if (setup.type !== 'etcd-writer') return;
    const client = new Client(setup.target, credentials.createInsecure());
    const key = Buffer.from(setup.key);
    const put = (value: Uint8Array): Promise<number> =>
      new Promise((resolve, reject) => {
        client.makeUnaryRequest(
          ETCD_PUT_PATH,
          identity,
          identity,
          encodePutRequest({ key, value }),
          (error, response?: Buffer) =>
            error === null && response !== undefined
              ? resolve(decodePutResponse(response).header.revision)
              : reject(error ?? new Error('no PutResponse')),
        );
      });
    let variant: 0 | 1 = 0;
    const tracer = TRACE_FILE === undefined ? undefined : new ChildTraceCollector(false);
    process.on('message', (message: ToChild) => {
      if (message.type === 'trace' && tracer !== undefined) post({ type: 'trace', trace: tracer.report() });
      if (message.type !== 'change') return;
      variant = variant === 0 ? 1 : 0;
      const marker = setup.markers[variant];
      const at = now();
      put(setup.values[variant]).then(
        (revision) => post({ type: 'changed', at, marker, revision, writeMs: now() - at }),
        fail,
      );
    });
    put(setup.values[0]).then(() => post({ type: 'listening', port: 0 }), fail);
  });
}

const roleArg = process.argv.find((a) => a.startsWith('--role='))?.slice('--role='.length);
if (roleArg !== undefined) {
  const post: Post = (message) => {
    process.send?.(message);
  };
  process.once('disconnect', () => process.exit(0));
  try {
    if (roleArg === 'subject') await subjectChild(post);
    else if (roleArg === 'floor') floorChild(post);
    else if (roleArg === 'clients') clientsChild(post);
    else if (roleArg === 'etcd-writer') etcdWriterChild(post);
    else throw new Error(`unknown role ${roleArg}`);
  } catch (error) {
    post({ type: 'failed', error: error instanceof Error ? (error.stack ?? error.message) : String(error) });
  }
}
