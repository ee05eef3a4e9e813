// What the gRPC suite (bench/suites/grpc-discovery.ts) and its child processes (grpc-bench-child.ts) share: the
// requests both sides send, the IPC messages between them, and the parent's handle on a child (Role). Every side
// runs in its own process, so that clients, load generators and servers never share an event loop.
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ServiceEndpoints, ServiceKey } from '../../src/model.ts';
import { mergeEndpointSlices } from '../../src/kube/convert.ts';
import { endpointSlices } from './fixtures.ts';
import type { ChildTrace } from './grpc-fanout-trace.ts';
import { productionNodeFlags } from './node-flags.ts';

export const RESOLVE_PATH = '/endpointd.v1.Discovery/Resolve';
export const WATCH_PATH = '/endpointd.v1.Discovery/Watch';
export const LOOKED_UP: ServiceKey = { namespace: 'shop', name: 'checkout' };
export const WATCHED: ServiceKey = { namespace: 'shop', name: 'cart' };
/** ResolveRequest{namespace:"shop", name:"checkout", port:{name:"http"}}, encoded by hand so no side decodes it twice. */
export const RESOLVE_REQUEST = Buffer.concat([
  field(1, Buffer.from(LOOKED_UP.namespace)),
  field(2, Buffer.from(LOOKED_UP.name)),
  field(4, field(1, Buffer.from('http'))),
]);
/** WatchRequest{services:[{namespace:"shop", name:"cart"}]}. */
export const WATCH_REQUEST = field(
  1,
  Buffer.concat([field(1, Buffer.from(WATCHED.namespace)), field(2, Buffer.from(WATCHED.name))]),
);
/** WatchResponse{synced:{}}: field 5, empty. */
export const WATCH_SYNCED = Buffer.from([0x2a, 0x00]);
/** The Watch streams of a fan-out run are spread over this many connections, for endpointd and etcd alike. */
export const FANOUT_CONNECTIONS = 20;

/** How the clients child opens its streams: endpointd's server-streaming Watch, or etcd's bidirectional Watch. */
export type WatchProtocol = { readonly kind: 'endpointd' } | { readonly kind: 'etcd'; readonly key: string };

// ---- the messages between the suite and its children ----

export type ToChild =
  | { readonly type: 'serve-floor'; readonly bytes: Uint8Array }
  | { readonly type: 'change' }
  | {
      readonly type: 'watch';
      readonly target: string;
      readonly streams: number;
      readonly protocol: WatchProtocol;
    }
  | { readonly type: 'expect'; readonly marker: Uint8Array }
  /** With BENCH_GRPC_TRACE (grpc-fanout-trace.ts): what the child collected since the last ask. */
  | { readonly type: 'trace' }
  /** etcd writer: put `values[0]` now; each later `change` puts the other value and answers with its marker. */
  | {
      readonly type: 'etcd-writer';
      readonly target: string;
      readonly key: string;
      readonly values: readonly [Uint8Array, Uint8Array];
      readonly markers: readonly [string, string];
    };

export type FromChild =
  | { readonly type: 'listening'; readonly port: number }
  /**
   * A change was made: `at` is the clock just before it (store upsert, or etcd Put sent); `marker` is what every
   * stream's message about it contains; `revision` and `writeMs` are etcd's (0 for endpointd).
   */
  | {
      readonly type: 'changed';
      readonly at: number;
      readonly marker: string;
      readonly revision: number;
      readonly writeMs: number;
    }
  | { readonly type: 'watching' }
  | { readonly type: 'expecting' }
  /** When each stream received the expected change, and the first message carrying it (to check its content). */
  | { readonly type: 'received'; readonly at: readonly number[]; readonly sample: Uint8Array }
  | { readonly type: 'trace'; readonly trace: ChildTrace }
  | { readonly type: 'failed'; readonly error: string };

export type RoleName = 'subject' | 'floor' | 'clients' | 'etcd-writer';

const CHILD = new URL('./grpc-bench-child.ts', import.meta.url);

/** The parent's handle on one child process playing one role. */
export class Role {
  readonly #child: ChildProcess;
  readonly #inbox: FromChild[] = [];
  readonly #waiters: Array<() => void> = [];
  readonly #exit: Promise<unknown>;
  #exited = false;

  private constructor(child: ChildProcess) {
    this.#child = child;
    // Taken now: a child that exits before stop() would otherwise leave stop() waiting for an event that has passed.
    this.#exit = once(child, 'exit').catch(() => undefined);
    child.on('message', (message: FromChild) => {
      this.#inbox.push(message);
      for (const waiter of this.#waiters.splice(0)) waiter();
    });
    child.once('exit', () => {
      this.#exited = true;
      for (const waiter of this.#waiters.splice(0)) waiter();
    });
    // A child that exits while a message is on its way makes send() fail: that is reported by 'exit'.
    child.on('error', () => undefined);
  }

  /**
   * Forks a child playing `role`. `tree` is another checkout of endpointd whose own grpc-bench-child.ts plays it
   * (an A/B run: the same harness against two versions of the server, in the same run).
   */
  static start(role: RoleName, tree?: string): Role {
    const script =
      tree === undefined ? CHILD : pathToFileURL(join(tree, 'bench/support/grpc-bench-child.ts'));
    // The servers (subject, floor) run with endpointd's production Node flags, those of their tree;
    // BENCH_GRPC_CPU_PROF=DIR: they write a V8 CPU profile there when they exit.
    const server = role === 'subject' || role === 'floor';
    const profileDir = process.env.BENCH_GRPC_CPU_PROF;
    // The clients collect their garbage between changes (grpc-bench-child.ts), so that the harness's own GC does
    // not land inside one change's measurement, and have a young generation big enough for one change's garbage:
    // with the default, scavenges were ~150 of its ~500 ms of CPU a change at 10,000 streams (64 MB: ~300 ms in
    // all), for either side's streams.
    const execArgv = server
      ? productionNodeFlags(tree)
      : role === 'clients'
        ? ['--expose-gc', '--max-semi-space-size=64']
        : [];
    if (server && profileDir !== undefined) execArgv.push('--cpu-prof', `--cpu-prof-dir=${profileDir}`);
    // BENCH_GRPC_SUBJECT_FLAGS="--trace-gc …": more Node flags for endpointd's server, for experiments (its
    // stdout is then the harness's, where --trace-gc writes).
    const subjectFlags = role === 'subject' ? (process.env.BENCH_GRPC_SUBJECT_FLAGS ?? '') : '';
    execArgv.push(...subjectFlags.split(/\s+/).filter((flag) => flag !== ''));
    const child = fork(script, [`--role=${role}`], {
      execArgv,
      stdio: ['ignore', subjectFlags === '' ? 'ignore' : 'inherit', 'inherit', 'ipc'],
      serialization: 'advanced',
    });
    return new Role(child);
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
  async next<T extends FromChild['type']>(
    type: T,
    timeoutMs: number,
  ): Promise<Extract<FromChild, { type: T }>> {
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
    await this.#exit;
    clearTimeout(timer);
  }
}

/** The watched service in one of its two variants; the subject starts at 0 and flips on each change. */
export function watchedService(variant: 0 | 1): ServiceEndpoints {
  return mergeEndpointSlices(
    WATCHED,
    endpointSlices({ ...WATCHED, slices: 1, endpointsPerSlice: 10, index: 7, variant }),
  );
}

export function identity(bytes: Buffer): Buffer {
  return bytes;
}

/** A length-delimited protobuf field (wire type 2) with a one- or two-byte tag and length. */
export function field(number: number, value: Buffer): Buffer {
  const length = value.length < 128 ? [value.length] : [(value.length & 0x7f) | 0x80, value.length >> 7];
  return Buffer.concat([Buffer.from([(number << 3) | 2, ...length]), value]);
}
