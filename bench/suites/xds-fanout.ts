// One endpoint change fanned out to 1,000 ADS streams subscribed to that assignment: the time until every stream
// has received it (p50/p99 across streams and rounds) and the server's CPU per stream. The server (store + ADS
// service) runs in this process so the suite can write to the store and read process.cpuUsage(); the 1,000 raw
// ADS clients (20 channels × 50 streams) run in a child process, so their work never counts as the server's.
// The same file is the child's entry: run.ts imports it as a suite, the fork runs it with XDS_BENCH_CHILD=1.
import * as grpc from '@grpc/grpc-js';
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { addXdsService } from '../../src/api/xds/index.ts';
import { adsServiceDefinition } from '../../src/api/xds/encoding.ts';
import { TYPE_URL } from '../../src/api/xds/wire.ts';
import type { ServiceEndpoints } from '../../src/model.ts';
import { mergeEndpointSlices } from '../../src/kube/convert.ts';
import { EndpointStore } from '../../src/store/endpoint-store.ts';
import { endpointSlices } from '../support/fixtures.ts';
import { result, type BenchResult } from '../support/report.ts';
import { percentile } from '../support/stats.ts';
import type { SuiteContext } from '../support/suite.ts';

export const description =
  'one assignment change fanned out to 1,000 ADS streams: ms until all have it, CPU µs per stream';

const STREAMS = 1000;
const CHANNELS = 20;
const KEY = { namespace: 'bench', name: 'fanout' };
const RESOURCE = `${KEY.name}.${KEY.namespace}:grpc`;

type ToChild =
  | { readonly type: 'start'; readonly port: number; readonly streams: number; readonly channels: number }
  | { readonly type: 'arm' }
  | { readonly type: 'stop' };
type FromChild =
  | { readonly type: 'subscribed' }
  | { readonly type: 'armed' }
  /** Per stream, when it received the round's response (performance.timeOrigin + now, ms). */
  | { readonly type: 'received'; readonly at: readonly number[] };

function variant(v: 0 | 1): ServiceEndpoints {
  return mergeEndpointSlices(
    KEY,
    endpointSlices({ ...KEY, slices: 2, endpointsPerSlice: 10, index: 1, variant: v }),
  );
}

const now = (): number => performance.timeOrigin + performance.now();

export async function run(context: SuiteContext): Promise<BenchResult[]> {
  const rounds = context.quick ? 3 : 15;
  const store = new EndpointStore({ encodedCacheBytes: 64 * 2 ** 20 });
  store.upsert('bench', variant(0));
  const server = new grpc.Server();
  const plane = addXdsService(server, {
    store,
    readiness: { synced: true },
    logger: pino({ level: 'silent' }),
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) =>
      e === null ? resolve(p) : reject(e),
    ),
  );
  const child = fork(fileURLToPath(import.meta.url), [], {
    env: { ...process.env, XDS_BENCH_CHILD: '1' },
    execArgv: [],
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  const messages: FromChild[] = [];
  const waiters: ((m: FromChild) => void)[] = [];
  child.on('message', (m: FromChild) => {
    const waiter = waiters.shift();
    if (waiter === undefined) messages.push(m);
    else waiter(m);
  });
  const next = (type: FromChild['type'], timeoutMs = 60_000): Promise<FromChild> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`child: no ${type} within ${timeoutMs} ms`)),
        timeoutMs,
      );
      const take = (m: FromChild): void => {
        clearTimeout(timer);
        if (m.type === type) resolve(m);
        else reject(new Error(`child: expected ${type}, got ${m.type}`));
      };
      const ready = messages.shift();
      if (ready === undefined) waiters.push(take);
      else take(ready);
    });
  const send = (m: ToChild): void => {
    child.send(m);
  };
  try {
    send({ type: 'start', port, streams: STREAMS, channels: CHANNELS });
    await next('subscribed');
    context.log(`${plane.stats().sotwStreams} ADS streams subscribed to ${RESOURCE}`);
    const latencies: number[] = [];
    const roundMax: number[] = [];
    const cpuPerStream: number[] = [];
    for (let round = 0; round < rounds; round++) {
      send({ type: 'arm' });
      await next('armed');
      const cpu = process.cpuUsage();
      const started = now();
      store.upsert('bench', variant(round % 2 === 0 ? 1 : 0));
      const received = (await next('received')) as Extract<FromChild, { type: 'received' }>;
      const used = process.cpuUsage(cpu);
      const times = received.at.map((t) => t - started);
      latencies.push(...times);
      roundMax.push(Math.max(...times));
      cpuPerStream.push((used.user + used.system) / STREAMS);
    }
    const p50 = percentile(latencies, 50);
    const p99 = percentile(latencies, 99);
    const cpu = percentile(cpuPerStream, 50);
    context.log(
      `${rounds} rounds: p50 ${p50.toFixed(1)} ms, p99 ${p99.toFixed(1)} ms, all-received median ${percentile(roundMax, 50).toFixed(1)} ms, ` +
        `server CPU ${cpu.toFixed(1)} µs/stream; NACKs ${plane.stats().nacks}`,
    );
    return [
      result('xds_fanout_1000_streams_p50_ms', p50, 'ms'),
      result('xds_fanout_1000_streams_p99_ms', p99, 'ms'),
      result('xds_fanout_1000_streams_all_received_ms', percentile(roundMax, 50), 'ms'),
      result('xds_fanout_cpu_us_per_stream', cpu, 'µs'),
    ];
  } finally {
    if (child.connected) send({ type: 'stop' });
    const exited = once(child, 'exit');
    const kill = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(kill);
    plane.closeStreams();
    server.forceShutdown();
  }
}

/** Child: `streams` raw ADS streams over `channels` channels, each subscribed to RESOURCE and ACKing. */
async function runChild(): Promise<void> {
  const [start] = (await once(process, 'message')) as [ToChild];
  if (start.type !== 'start') throw new Error(`expected start, got ${start.type}`);
  const Client = grpc.makeGenericClientConstructor(adsServiceDefinition, 'AggregatedDiscoveryService');
  const clients = Array.from(
    { length: start.channels },
    // A local subchannel pool per client: otherwise grpc-js would share one connection between them all.
    () =>
      new Client(`127.0.0.1:${start.port}`, grpc.credentials.createInsecure(), {
        'grpc.use_local_subchannel_pool': 1,
      }),
  );
  let armed = false;
  const at = new Array<number>(start.streams).fill(0);
  let pending = 0;
  let subscribed = 0;
  const calls = Array.from({ length: start.streams }, (_, i) => {
    const client = clients[i % clients.length] as unknown as grpc.Client & {
      StreamAggregatedResources(): grpc.ClientDuplexStream<object, { version_info: string; nonce: string }>;
    };
    const call = client.StreamAggregatedResources();
    let first = true;
    call.on('data', (response: { version_info: string; nonce: string }) => {
      const t = now();
      call.write({
        type_url: TYPE_URL.endpoint,
        resource_names: [RESOURCE],
        version_info: response.version_info,
        response_nonce: response.nonce,
      });
      if (first) {
        first = false;
        subscribed += 1;
        if (subscribed === start.streams) process.send?.({ type: 'subscribed' } satisfies FromChild);
        return;
      }
      if (!armed || at[i] !== 0) return;
      at[i] = t;
      pending -= 1;
      if (pending === 0) {
        armed = false;
        process.send?.({ type: 'received', at: [...at] } satisfies FromChild);
      }
    });
    call.on('error', () => {});
    call.write({
      node: { id: `bench-${i}`, cluster: '', user_agent_name: 'bench' },
      type_url: TYPE_URL.endpoint,
      resource_names: [RESOURCE],
      version_info: '',
      response_nonce: '',
    });
    return call;
  });
  process.on('message', (message: ToChild) => {
    if (message.type === 'arm') {
      at.fill(0);
      pending = start.streams;
      armed = true;
      process.send?.({ type: 'armed' } satisfies FromChild);
    } else if (message.type === 'stop') {
      for (const call of calls) call.cancel();
      for (const client of clients) client.close();
      process.exit(0);
    }
  });
  process.once('disconnect', () => process.exit(0));
}

if (process.env.XDS_BENCH_CHILD === '1') await runChild();
