// The soak: endpointd as a child process (`node src/main.ts --source kubernetes`) against the fake kube-apiserver
// in this process, for 10 minutes (`--minutes N`, `--quick` = 1 minute), under churn (one Service changes every few
// ms), thousands of watch streams (REST SSE/NDJSON and gRPC Watch, every one read) and continuous lookups (REST and
// gRPC Resolve). Every 10 s it samples the child's RSS, lookup latency and stream traffic; at the end it writes
// bench/soak-report.json with the growth of RSS from the end of the warm-up to the end (goal < 5 %).
// Loopback only; bounded (a watchdog ends everything at duration + 2 min); stops by itself.
//
//   node bench/soak.ts                  # 10 minutes
//   node bench/soak.ts --quick          # 1 minute: checks that it works
//   node bench/soak.ts --minutes 30 --out /tmp/soak.json
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { request as httpRequest, Agent as HttpAgent } from 'node:http';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Client, credentials, Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { loadSync, type ServiceDefinition } from '@grpc/proto-loader';
import { Pool } from 'undici';
import { LOADER_OPTIONS } from '../src/api/grpc/index.ts';
import { endpointSlice, FakeApiServer } from '../test/support/fake-apiserver/index.ts';

const { values: args } = parseArgs({
  options: {
    minutes: { type: 'string' },
    quick: { type: 'boolean', default: false },
    out: { type: 'string', default: fileURLToPath(new URL('./soak-report.json', import.meta.url)) },
    services: { type: 'string', default: '200' },
    'rest-streams': { type: 'string', default: '1000' },
    'grpc-streams': { type: 'string', default: '1000' },
    'churn-ms': { type: 'string', default: '5' },
  },
});
const minutes = args.minutes !== undefined ? Number(args.minutes) : args.quick ? 1 : 10;
if (!(minutes > 0 && minutes <= 24 * 60))
  throw new Error(`--minutes must be from 0 to 1440, got ${args.minutes}`);
const DURATION_MS = minutes * 60_000;
// V8 sizes its heap to the allocation rate over the first minutes: RSS climbs for ~2 min under this load before
// it settles (seen: 530 → 709 MiB in 2 min, then 709 → 738 MiB over the next 8). Growth counts from then.
const WARMUP_MS = Math.max(Math.min(60_000, DURATION_MS / 2), DURATION_MS * 0.2);
const SAMPLE_MS = args.quick ? 5_000 : 10_000;
const SERVICES = Number(args.services);
const REST_STREAMS = Number(args['rest-streams']);
const GRPC_STREAMS = Number(args['grpc-streams']);
const CHURN_MS = Number(args['churn-ms']);
const NS = 'soak';
const round = (x: number, digits = 2): number => Number(x.toFixed(digits));
const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));
const log = (message: string): void =>
  void process.stderr.write(`[soak ${new Date().toISOString()}] ${message}\n`);

// ---- the cluster
const api = await FakeApiServer.start({ bookmarkIntervalMs: 30_000 });
const dir = await mkdtemp(join(tmpdir(), 'endpointd-soak-'));
const kubeconfig = join(dir, 'kubeconfig');
await writeFile(kubeconfig, api.kubeconfigYaml());
let generation = 0;
const sliceOf = (i: number): ReturnType<typeof endpointSlice> => {
  generation += 1;
  const size = 3 + (generation % 5);
  return endpointSlice({
    service: `svc-${i}`,
    namespace: NS,
    name: `svc-${i}-slice`,
    endpoints: Array.from({ length: size }, (_, k) => ({
      addresses: `10.${i % 250}.${(generation + k) % 250}.${k + 1}`,
      ready: (generation + k) % 7 !== 0,
      pod: `svc-${i}-pod-${k}`,
    })),
    ports: [{ name: 'http', port: 8080 }],
  });
};
for (let i = 0; i < SERVICES; i += 1) api.create('endpointslices', sliceOf(i));

// ---- endpointd, a child process as in production
const child = spawn(
  process.execPath,
  [
    MAIN,
    '--source',
    'kubernetes',
    '--kubeconfig',
    kubeconfig,
    '--http-port',
    '0',
    '--grpc-port',
    '0',
    '--bind',
    '127.0.0.1',
    '--log-level',
    'info',
  ],
  { stdio: ['ignore', 'pipe', 'pipe'] },
);
let childOut = '';
child.stdout.on('data', (chunk: Buffer) => (childOut = (childOut + chunk.toString()).slice(-200_000)));
child.stderr.on('data', (chunk: Buffer) => process.stderr.write(chunk));
let childExited = false;
const childExit = once(child, 'exit').then(([code, signal]) => {
  childExited = true;
  return { code: code as number | null, signal: signal as string | null };
});

const watchdog = setTimeout(() => {
  log('watchdog: the soak overran its time; killing everything');
  child.kill('SIGKILL');
  process.exit(2);
}, DURATION_MS + 120_000);

async function ports(): Promise<{ http: number; grpc: number }> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    const lines = childOut.split('\n').filter((l) => l.startsWith('{'));
    const find = (msg: string) =>
      lines.map((l) => JSON.parse(l) as { msg?: string; port?: number }).find((l) => l.msg === msg);
    const rest = find('REST API listening');
    const grpc = find('gRPC API listening');
    if (find('ready') !== undefined && rest?.port !== undefined && grpc?.port !== undefined)
      return { http: rest.port, grpc: grpc.port };
    if (childExited) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`endpointd did not become ready:\n${childOut.slice(-2000)}`);
}
const { http: httpPort, grpc: grpcPort } = await ports();
log(`endpointd pid ${child.pid}: REST ${httpPort}, gRPC ${grpcPort}; ${SERVICES} services`);

/** The child's V8 heap in use and its external memory, from its own Prometheus metrics. */
async function heapMiB(): Promise<{ heapUsedMiB: number; externalMiB: number }> {
  try {
    const answer = await fetch(`http://127.0.0.1:${httpPort}/metrics`, { signal: AbortSignal.timeout(5000) });
    const text = await answer.text();
    const metric = (name: string): number =>
      Number(new RegExp(`^${name} (\\S+)`, 'm').exec(text)?.[1] ?? NaN);
    return {
      heapUsedMiB: round(metric('nodejs_heap_size_used_bytes') / 1048576),
      externalMiB: round(metric('nodejs_external_memory_bytes') / 1048576),
    };
  } catch {
    return { heapUsedMiB: NaN, externalMiB: NaN };
  }
}

async function rssBytes(): Promise<number> {
  const status = await readFile(`/proc/${child.pid}/status`, 'utf8');
  const kb = /VmRSS:\s+(\d+) kB/.exec(status)?.[1];
  return Number(kb ?? 0) * 1024;
}

// ---- streams
let stopping = false;
const traffic = { restEvents: 0, grpcMessages: 0, streamErrors: 0, reconnects: 0 };
const streamAgent = new HttpAgent({ keepAlive: false, maxSockets: Infinity });
const openRest: Array<{ destroy(): void }> = [];

function openRestStream(i: number): void {
  const service = `svc-${i % SERVICES}`;
  const sse = i % 2 === 0;
  const path =
    i % 100 === 99 ? `/v1/watch?namespace=${NS}` : `/v1/namespaces/${NS}/services/${service}/watch`;
  const req = httpRequest(
    {
      host: '127.0.0.1',
      port: httpPort,
      path,
      agent: streamAgent,
      headers: sse ? { Accept: 'text/event-stream' } : {},
    },
    (res) => {
      res.on('data', (chunk: Buffer) => {
        for (const byte of chunk) if (byte === 10) traffic.restEvents += sse ? 0.5 : 1;
      });
      res.on('error', () => {});
      res.on('close', () => {
        if (stopping) return;
        traffic.reconnects += 1;
        setTimeout(() => openRestStream(i), 100);
      });
    },
  );
  req.on('error', () => {
    if (stopping) return;
    traffic.streamErrors += 1;
    setTimeout(() => openRestStream(i), 500);
  });
  req.end();
  openRest.push(req);
}

const discovery = loadSync('endpointd/v1/discovery.proto', LOADER_OPTIONS)[
  'endpointd.v1.Discovery'
] as ServiceDefinition;
// Each channel its own connection (grpc-js shares one between equal channels by default, and a connection carries
// at most --grpc-max-concurrent-streams calls: a Resolve would queue behind 1,000 Watch streams).
const channels = Array.from(
  { length: 8 },
  () =>
    new Client(`127.0.0.1:${grpcPort}`, credentials.createInsecure(), {
      'grpc.use_local_subchannel_pool': 1,
    }),
);
const openGrpc: Array<{ cancel(): void }> = [];
function openGrpcStream(i: number): void {
  const m = discovery.Watch!;
  const request =
    i % 100 === 99
      ? { namespace: NS }
      : {
          services: [
            { namespace: NS, name: `svc-${i % SERVICES}` },
            { namespace: NS, name: `svc-${(i * 7) % SERVICES}` },
          ],
        };
  const call = channels[i % channels.length]!.makeServerStreamRequest(
    m.path,
    m.requestSerialize,
    (b: Buffer) => b,
    request,
    new Metadata(),
  );
  call.on('data', () => (traffic.grpcMessages += 1));
  call.on('error', (error: ServiceError) => {
    if (stopping || error.code === status.CANCELLED) return;
    traffic.streamErrors += 1;
    setTimeout(() => openGrpcStream(i), 500);
  });
  openGrpc.push(call);
}

for (let i = 0; i < REST_STREAMS; i += 1) {
  openRestStream(i);
  if (i % 100 === 99) await new Promise((resolve) => setTimeout(resolve, 20));
}
for (let i = 0; i < GRPC_STREAMS; i += 1) {
  openGrpcStream(i);
  if (i % 100 === 99) await new Promise((resolve) => setTimeout(resolve, 20));
}
log(`${REST_STREAMS} REST and ${GRPC_STREAMS} gRPC watch streams opened`);

// ---- churn
let changes = 0;
const churn = setInterval(() => {
  api.update('endpointslices', sliceOf(changes % SERVICES));
  changes += 1;
}, CHURN_MS);

// ---- lookups (REST on keep-alive, gRPC Resolve), latency per window
const pool = new Pool(`http://127.0.0.1:${httpPort}`, { connections: 4, keepAliveTimeout: 60_000 });
let restLatencies: number[] = [];
let grpcLatencies: number[] = [];
let lookupErrors = 0;
const lookupLoops = Array.from({ length: 4 }, async (_, worker) => {
  let n = worker;
  while (!stopping) {
    const started = performance.now();
    try {
      const answer = await pool.request({
        method: 'GET',
        path: `/v1/namespaces/${NS}/services/svc-${n % SERVICES}`,
        signal: AbortSignal.timeout(5000),
      });
      await answer.body.text();
      if (answer.statusCode !== 200) lookupErrors += 1;
      restLatencies.push(performance.now() - started);
    } catch {
      lookupErrors += 1;
    }
    n += 4;
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
});
const resolveLoop = (async () => {
  const m = discovery.Resolve!;
  let n = 0;
  while (!stopping) {
    const started = performance.now();
    await new Promise<void>((resolve) =>
      channels[n % channels.length]!.makeUnaryRequest(
        m.path,
        m.requestSerialize,
        (b: Buffer) => b,
        { namespace: NS, name: `svc-${n % SERVICES}` },
        new Metadata(),
        { deadline: Date.now() + 5000 },
        (error: ServiceError | null) => {
          if (error === null) grpcLatencies.push(performance.now() - started);
          else lookupErrors += 1;
          resolve();
        },
      ),
    );
    n += 1;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
})();

// ---- sampling
interface Sample {
  readonly atSeconds: number;
  readonly rssMiB: number;
  readonly heapUsedMiB: number;
  readonly externalMiB: number;
  readonly restLookups: number;
  readonly restP50Ms: number;
  readonly restP99Ms: number;
  readonly grpcResolves: number;
  readonly grpcP99Ms: number;
  readonly changes: number;
  readonly restEvents: number;
  readonly grpcMessages: number;
  readonly streamErrors: number;
  readonly lookupErrors: number;
}
const percentile = (values: number[], p: number): number => {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
};
const samples: Sample[] = [];
const started = performance.now();
while (performance.now() - started < DURATION_MS && !childExited) {
  await new Promise((resolve) =>
    setTimeout(resolve, Math.min(SAMPLE_MS, DURATION_MS - (performance.now() - started))),
  );
  if (childExited) break;
  const sample: Sample = {
    atSeconds: round((performance.now() - started) / 1000, 1),
    rssMiB: round((await rssBytes()) / 1048576),
    ...(await heapMiB()),
    restLookups: restLatencies.length,
    restP50Ms: round(percentile(restLatencies, 50)),
    restP99Ms: round(percentile(restLatencies, 99)),
    grpcResolves: grpcLatencies.length,
    grpcP99Ms: round(percentile(grpcLatencies, 99)),
    changes,
    restEvents: Math.round(traffic.restEvents),
    grpcMessages: traffic.grpcMessages,
    streamErrors: traffic.streamErrors,
    lookupErrors,
  };
  restLatencies = [];
  grpcLatencies = [];
  samples.push(sample);
  log(JSON.stringify(sample));
}

// ---- stop everything
stopping = true;
clearInterval(churn);
await Promise.all([...lookupLoops, resolveLoop]);
const crashed = childExited;
for (const r of openRest) r.destroy();
for (const c of openGrpc) c.cancel();
child.kill('SIGTERM');
const exit = await childExit;
for (const c of channels) c.close();
await pool.close();
streamAgent.destroy();
await api.close();
await rm(dir, { recursive: true, force: true });
clearTimeout(watchdog);

const afterWarmup = samples.find((s) => s.atSeconds * 1000 >= WARMUP_MS) ?? samples[0];
const last = samples.at(-1);
const growth =
  afterWarmup !== undefined && last !== undefined
    ? (last.rssMiB - afterWarmup.rssMiB) / afterWarmup.rssMiB
    : NaN;
const steady = samples.filter((s) => s.atSeconds * 1000 >= WARMUP_MS);
// A leak shows as a rising floor of what the heap and Buffers hold (samples fall between collections, so the
// minimum of each window is the closest to "live after GC"): compare the first and the last third after warm-up.
const third = Math.max(1, Math.floor(steady.length / 3));
const floorMiB = (part: Sample[]): number => Math.min(...part.map((s) => s.heapUsedMiB + s.externalMiB));
const liveFloorFirstMiB = round(floorMiB(steady.slice(0, third)));
const liveFloorLastMiB = round(floorMiB(steady.slice(-third)));
const report = {
  minutes,
  config: {
    services: SERVICES,
    restStreams: REST_STREAMS,
    grpcStreams: GRPC_STREAMS,
    churnEveryMs: CHURN_MS,
    sampleEveryMs: SAMPLE_MS,
    warmupMs: WARMUP_MS,
  },
  result: {
    rssAfterWarmupMiB: afterWarmup?.rssMiB,
    rssEndMiB: last?.rssMiB,
    rssMaxMiB: Math.max(...samples.map((s) => s.rssMiB)),
    rssGrowthPercent: round(growth * 100),
    heapPlusExternalFloorFirstThirdMiB: liveFloorFirstMiB,
    heapPlusExternalFloorLastThirdMiB: liveFloorLastMiB,
    goalPercent: 5,
    pass: !crashed && Number.isFinite(growth) && growth < 0.05,
    restP99MsMaxAfterWarmup: Math.max(...steady.map((s) => s.restP99Ms)),
    restP99MsMedianAfterWarmup: percentile(
      steady.map((s) => s.restP99Ms),
      50,
    ),
    grpcP99MsMaxAfterWarmup: Math.max(...steady.map((s) => s.grpcP99Ms)),
    changes,
    restLookups: samples.reduce((n, s) => n + s.restLookups, 0),
    grpcResolves: samples.reduce((n, s) => n + s.grpcResolves, 0),
    restEvents: Math.round(traffic.restEvents),
    grpcMessages: traffic.grpcMessages,
    streamErrors: traffic.streamErrors,
    streamReconnects: traffic.reconnects,
    lookupErrors,
    crashed,
    exit,
  },
  machine: {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model,
    node: process.version,
    date: new Date().toISOString(),
  },
  samples,
};
await writeFile(args.out, `${JSON.stringify(report, null, 2)}\n`);
log(`report written to ${args.out}`);
console.log(JSON.stringify(report.result, null, 2));
process.exitCode = report.result.pass ? 0 : 1;
