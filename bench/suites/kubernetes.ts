// The Kubernetes source end to end against the fake kube-apiserver (test/support/fake-apiserver) on 127.0.0.1:
// start-to-ready with 10,000 EndpointSlices, propagation of one slice change to 1,000 SSE subscribers, and RSS.
//
// Processes: this one hosts the fake (so the emit time of a change is taken where the change is made); endpointd
// runs in a child (bench/support/kube-endpointd-child.ts, started with --expose-gc); the subscribers in another
// (kube-sse-clients-child.ts); the floor of the ready time in a third (kube-raw-list-child.ts). Times that cross
// processes use performance.timeOrigin + performance.now() in each (one machine clock); the offset between this
// process and the subscribers' is measured over IPC and logged.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeApiServer } from '../../test/support/fake-apiserver/index.ts';
import {
  ENDPOINTS,
  PER_NAMESPACE,
  kubeServiceShape,
  kubeSlice,
  populateKubeDataset,
} from '../support/kube-dataset.ts';
import { availableParallelism } from 'node:os';
import { schedstat } from '../support/grpc-process-cpu.ts';
import { forkChild, now, type Child } from '../support/kube-child.ts';
import { productionNodeFlags } from '../support/node-flags.ts';
import type { FromEndpointdChild, ToEndpointdChild } from '../support/kube-endpointd-child.ts';
import type { FromRawListChild } from '../support/kube-raw-list-child.ts';
import type { FromSseClientsChild, ToSseClientsChild } from '../support/kube-sse-clients-child.ts';
import type { FloorOptions, FromSseFloorChild } from '../support/kube-sse-floor-child.ts';
import { ensureEndpointdBuilt } from '../support/endpointd-build.ts';
import { result, type BenchResult } from '../support/report.ts';
import { median, percentile } from '../support/stats.ts';
import type { SuiteContext } from '../support/suite.ts';

export const description =
  'Kubernetes source vs the fake API server: ready with 10k slices, 1k-subscriber SSE propagation p50/p99, RSS';

const SERVICES = 10_000;
const SUBSCRIBERS = 1000;
/** The service whose slice changes, in the middle of the data set; every subscriber watches it (the fan-out case). */
const WATCHED = 4242;
const POLL_MS = 10;
const MB = 2 ** 20;

const ENDPOINTD_CHILD = new URL('../support/kube-endpointd-child.ts', import.meta.url);
const RAW_LIST_CHILD = new URL('../support/kube-raw-list-child.ts', import.meta.url);
const SSE_CLIENTS_CHILD = new URL('../support/kube-sse-clients-child.ts', import.meta.url);
const SSE_FLOOR_CHILD = new URL('../support/kube-sse-floor-child.ts', import.meta.url);

type EndpointdChild = Child<ToEndpointdChild, FromEndpointdChild>;
type MemoryReport = Extract<FromEndpointdChild, { type: 'memory' }>;

interface Propagation {
  /** Every subscriber's receipt of every measured change, ms after the fake's update call. */
  readonly sse: number[];
  /** The raw watch on the fake, per change. */
  readonly api: number[];
  /** The first and the last subscriber's receipt, per change. */
  readonly firstOfRound: number[];
  readonly lastOfRound: number[];
}

export async function run(context: SuiteContext): Promise<BenchResult[]> {
  const { quick, log } = context;
  // BENCH_KUBE_TRIALS=N: that many floor/endpointd start pairs; BENCH_KUBE_READY_ONLY=1: the start-up and RSS
  // rows only, without the propagation rounds (a narrowed run for start-up work; the floor still runs alongside).
  const trials = Number(process.env.BENCH_KUBE_TRIALS ?? (quick ? 1 : 3));
  const readyOnly = process.env.BENCH_KUBE_READY_ONLY === '1';
  const warmupRounds = quick ? 1 : 3;
  const rounds = quick ? 5 : 20;
  // BENCH_KUBE_CPU_PROF=DIR: endpointd children write a V8 CPU profile there when they exit.
  const profileDir = process.env.BENCH_KUBE_CPU_PROF;
  const execArgv = [
    ...productionNodeFlags(),
    '--expose-gc',
    ...(profileDir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${profileDir}`]),
  ];

  await ensureEndpointdBuilt(log);
  const api = await FakeApiServer.start();
  const dir = await mkdtemp(join(tmpdir(), 'endpointd-bench-kube-'));
  const kubeconfig = join(dir, 'kubeconfig');
  // endpointd's children share a compile cache of their own, new for this run and filled by the first (idle) start,
  // as a deployed endpointd's is by its image or its first start.
  const compileCache = join(dir, 'node-compile-cache');
  await writeFile(kubeconfig, api.kubeconfigYaml());
  const agent = new Agent({ keepAlive: true });
  const children = new Set<{ stop(): Promise<void> }>();
  const track = <T extends { stop(): Promise<void> }>(child: T): T => {
    children.add(child);
    return child;
  };
  const stop = async (child: { stop(): Promise<void> }): Promise<void> => {
    children.delete(child);
    await child.stop();
  };

  /** endpointd from fork to /readyz 200, with where the time went. */
  const startSubject = async (
    expectServices: number,
  ): Promise<{
    child: EndpointdChild;
    port: number;
    readyMs: number;
    listPhaseMs: number;
    cpu: StartCpu;
  }> => {
    api.clearRequests();
    const benchCpuAtFork = process.cpuUsage();
    const child = track(
      forkChild<ToEndpointdChild, FromEndpointdChild>(ENDPOINTD_CHILD, {
        execArgv,
        args: [kubeconfig],
        env: { NODE_COMPILE_CACHE: compileCache },
      }),
    );
    const listening = await child.next('listening', 60_000);
    const readyAt = await pollReady(agent, listening.port, 60_000);
    const synced = await child.next('synced');
    const cpu = await startCpu(child.pid, benchCpuAtFork);
    const readyMs = readyAt - child.forkedAt;
    // The fake's request log: endpointd's first list request, and each collection's watch request, which the
    // reflector sends right after its list was parsed, converted and handed to the store.
    const watches = await Promise.all(
      (['endpointslices', 'services'] as const).map((resource) =>
        api.waitForRequest((e) => e.verb === 'watch' && e.resource === resource, 5_000),
      ),
    );
    const lists = api.requests.filter((e) => e.verb === 'list');
    const firstList = Math.min(...lists.map((e) => e.at));
    const listPhaseMs = Math.max(...watches.map((e) => e.at)) - firstList;
    const memory = await measureMemory(child);
    if (memory.services !== expectServices) {
      throw new Error(`endpointd serves ${memory.services} services, expected ${expectServices}`);
    }
    log(
      `endpointd pid ${child.pid}: ready ${readyMs.toFixed(0)} ms after fork — node boot ${ms(listening.scriptStart - child.forkedAt)}, ` +
        `imports ${ms(listening.imported - listening.scriptStart)}, servers listening +${ms(listening.listening - listening.imported)}, ` +
        `first list request at ${ms(firstList - child.forkedAt)}, lists (${lists.length} pages) + conversion until the last watch ${listPhaseMs} ms, ` +
        `synced at ${ms(synced.at - child.forkedAt)}, /readyz 200 seen at ${ms(readyMs)}; ${describeCpu(cpu)}; ` +
        `${memory.services} services, ${memory.endpoints} endpoints, RSS ${mb(memory.rss)} after GC (${mb(memory.rssBeforeGc)} before; ${memory.compacted ? 'after' : 'WITHOUT'} endpointd's post-sync compaction), heap ${mb(memory.heapUsed)} used of ${mb(memory.heapTotal)}, external ${mb(memory.external)}`,
    );
    return { child, port: listening.port, readyMs, listPhaseMs, cpu };
  };
  let latestMemory: MemoryReport | undefined;
  const measureMemory = async (child: EndpointdChild): Promise<MemoryReport> => {
    // Let the watches open and anything that follows the first sync finish before looking.
    await sleep(Number(process.env.BENCH_KUBE_SETTLE_MS ?? 300));
    child.send({ type: 'memory' });
    latestMemory = await child.next('memory');
    if (!latestMemory.gc) throw new Error('endpointd child has no gc(): start it with --expose-gc');
    return latestMemory;
  };

  try {
    // ---- idle endpointd: the RSS baseline (the same source against an empty API server) ----------------------
    // The first start fills the compile cache, as the image's build does (Dockerfile); the row is the median of
    // `trials` starts after it, as a deployed endpointd starts. One start is one sample: the RSS of one idle child
    // varied by ~15 MB with the same heap (109 against 125 MB in two runs of one morning).
    await stop((await startSubject(0)).child);
    const coldIdleRss = latestMemory?.rss ?? Number.NaN;
    const idleRssSamples: number[] = [];
    for (let trial = 1; trial <= trials; trial++) {
      await stop((await startSubject(0)).child);
      idleRssSamples.push(latestMemory?.rss ?? Number.NaN);
    }
    const idleRss = median(idleRssSamples);
    log(
      `idle RSS ${mb(idleRss)} (median of ${idleRssSamples.map(mb).join(', ')}; the first start, filling the compile cache: ${mb(coldIdleRss)})`,
    );

    // ---- 10,000 Services with one 10-endpoint slice each -----------------------------------------------------
    const populateStart = now();
    populateKubeDataset(api, SERVICES);
    log(
      `fake API server ${api.url}: ${SERVICES} Services and ${SERVICES} EndpointSlices of ${ENDPOINTS} endpoints in ` +
        `${Math.floor(SERVICES / PER_NAMESPACE)} namespaces (${ms(now() - populateStart)} to create)`,
    );

    // ---- ready: the floor (a bare process doing the same paged lists) and endpointd, alternated ---------------
    const rawFromSpawn: number[] = [];
    const rawList: number[] = [];
    const readyMs: number[] = [];
    const listPhase: number[] = [];
    const rss: number[] = [];
    const rawCpu: StartCpu[] = [];
    const readyCpu: StartCpu[] = [];
    let subject: Awaited<ReturnType<typeof startSubject>> | undefined;
    for (let trial = 1; trial <= trials; trial++) {
      // With a compile cache as endpointd's children have, so that both pay the same to boot a TypeScript child.
      const benchCpuAtFork = process.cpuUsage();
      const lister = track(
        forkChild<never, FromRawListChild>(RAW_LIST_CHILD, {
          args: [api.url],
          env: { NODE_COMPILE_CACHE: compileCache },
        }),
      );
      const listed = await lister.next('listed', 60_000);
      const listedAt = now();
      const listerCpu = await startCpu(lister.pid, benchCpuAtFork);
      rawCpu.push(listerCpu);
      await stop(lister);
      if (listed.slices !== SERVICES || listed.services !== SERVICES) {
        throw new Error(`raw list got ${listed.slices} slices and ${listed.services} services`);
      }
      rawFromSpawn.push(listedAt - lister.forkedAt);
      rawList.push(listed.listEnd - listed.listStart);
      log(
        `trial ${trial}/${trials} raw lister: ${ms(listedAt - lister.forkedAt)} from fork (node boot ${ms(listed.scriptStart - lister.forkedAt)}, ` +
          `${listed.pages} pages in ${ms(listed.listEnd - listed.listStart)}); ${describeCpu(listerCpu)}`,
      );
      if (subject !== undefined) await stop(subject.child);
      subject = await startSubject(SERVICES);
      readyMs.push(subject.readyMs);
      listPhase.push(subject.listPhaseMs);
      readyCpu.push(subject.cpu);
      rss.push(latestMemory?.rss ?? Number.NaN);
    }
    if (subject === undefined) throw new Error('no trial ran');
    const readyRow = result('kube_ready_ms_10k_slices', median(readyMs), 'ms', {
      name: 'raw_list_from_spawn_ms_10k_slices',
      value: median(rawFromSpawn),
    });
    const listPhaseRow = result('kube_ready_list_phase_ms_10k_slices', median(listPhase), 'ms', {
      name: 'raw_paged_list_ms_10k_slices',
      value: median(rawList),
    });
    // What the start costs the machine, against what the floor's costs it: CPU of every thread of the process until
    // it is ready (the floor: until its last page is parsed). And the shortest ready that CPU allows here: the
    // process's CPU and the fake API server's in the same window (this process: it serves every page), spread over
    // every core as if nothing ever waited. A ready time under it needs less work, not more threads.
    const cores = availableParallelism();
    const cpuRow = result('kube_ready_cpu_ms_10k_slices', median(readyCpu.map((c) => c.processMs)), 'ms', {
      name: 'raw_list_cpu_ms_10k_slices',
      value: median(rawCpu.map((c) => c.processMs)),
    });
    const cpuBoundRow = result(
      'kube_ready_cpu_bound_ms_10k_slices',
      median(readyCpu.map((c) => (c.processMs + c.benchMs) / cores)),
      'ms',
      { name: 'raw_list_from_spawn_ms_10k_slices', value: median(rawFromSpawn) },
    );
    const rssRow = result('kube_rss_mb_10k_services', median(rss) / MB, 'MB', {
      name: 'kube_rss_mb_idle',
      value: idleRss / MB,
    });
    if (readyOnly) {
      log('BENCH_KUBE_READY_ONLY=1: the propagation rounds are left out');
      return [readyRow, listPhaseRow, cpuRow, cpuBoundRow, rssRow];
    }

    // ---- propagation: one slice change → 1,000 SSE subscribers of its service -------------------------------
    const watched = kubeServiceShape(WATCHED);
    const servicePath = `/v1/namespaces/${watched.namespace}/services/${watched.name}`;
    const apiWatchPath =
      `/apis/discovery.k8s.io/v1/namespaces/${watched.namespace}/endpointslices?watch=true&` +
      `fieldSelector=${encodeURIComponent(`metadata.name=${kubeSlice(WATCHED).metadata.name ?? ''}`)}`;
    let variant: 0 | 1 = 0;
    /** `rounds` changes (after warmups) seen by SUBSCRIBERS streams of `port`; checks each with `check`. */
    const propagate = async (
      what: string,
      port: number,
      check: (received: Extract<FromSseClientsChild, { type: 'received' }>) => Promise<void>,
    ): Promise<Propagation> => {
      const clients = track(forkChild<ToSseClientsChild, FromSseClientsChild>(SSE_CLIENTS_CHILD));
      try {
        clients.send({
          type: 'start',
          restPort: port,
          servicePath: `${servicePath}/watch`,
          streams: SUBSCRIBERS,
          apiPort: api.port,
          apiWatchPath,
        });
        const subscribed = await clients.next('subscribed', 60_000);
        const offset = await clockOffset(clients);
        log(
          `${what}: ${subscribed.streams} SSE streams on ${watched.namespace}/${watched.name} and a raw watch on the fake; ` +
            `clock offset subscribers − harness ${offset.offsetMs.toFixed(3)} ms (IPC round trip ${offset.rttMs.toFixed(3)} ms)`,
        );
        const out: Propagation = { sse: [], api: [], firstOfRound: [], lastOfRound: [] };
        for (let round = 0; round < warmupRounds + rounds; round++) {
          clients.send({ type: 'arm' });
          await clients.next('armed');
          variant = variant === 0 ? 1 : 0;
          const next = kubeSlice(WATCHED, variant);
          const emitted = now();
          const updated = api.update('endpointslices', next);
          const received = await clients.next('received', 15_000);
          if (received.apiResourceVersion !== updated.metadata.resourceVersion) {
            throw new Error(
              `the fake sent resourceVersion ${received.apiResourceVersion}, expected ${String(updated.metadata.resourceVersion)}`,
            );
          }
          if (received.unexpected > 0)
            throw new Error(`${received.unexpected} MODIFIED events nobody asked for`);
          await check(received);
          const latencies = received.sse.map((t) => t - emitted);
          if (round >= warmupRounds) {
            out.sse.push(...latencies);
            out.api.push(received.api - emitted);
            out.firstOfRound.push(Math.min(...latencies));
            out.lastOfRound.push(Math.max(...latencies));
          }
          await sleep(30 + Math.random() * 20);
        }
        log(
          `${what}: ${rounds} changes after ${warmupRounds} warmup, ${out.sse.length} receipts: ` +
            `p50 ${percentile(out.sse, 50).toFixed(2)} ms, p99 ${percentile(out.sse, 99).toFixed(2)} ms, ` +
            `max ${Math.max(...out.sse).toFixed(2)} ms, first / last subscriber of a change (medians) ${median(out.firstOfRound).toFixed(2)} / ${median(out.lastOfRound).toFixed(2)} ms; ` +
            `raw watch on the fake p50 ${percentile(out.api, 50).toFixed(3)} ms`,
        );
        return out;
      } finally {
        await stop(clients);
      }
    };

    const port = subject.port;
    const kube = await propagate('endpointd', port, async (received) => {
      // What the streams announced must be what endpointd now serves, with the change in it.
      const served = await getJson(agent, port, `${servicePath}?endpoints=all`);
      const readyCount = served.endpoints.filter((e) => e.ready).length;
      if (served.version !== received.version || readyCount !== ENDPOINTS - variant) {
        throw new Error(
          `streams saw version ${received.version}, endpointd serves ${served.version} with ${readyCount} ready endpoints`,
        );
      }
    });
    // The floor sends the bytes endpointd sends for this service, so both write frames of the same size.
    const body = await getJson(agent, port, servicePath);
    const frame =
      `id: ${body.version}\n` +
      `data: ${JSON.stringify({ type: 'MODIFIED', namespace: watched.namespace, name: watched.name, version: body.version, service: body })}\n\n`;
    // endpointd would handle the same watch events meanwhile: it must not compete with the floor for the CPUs.
    await stop(subject.child);
    const floorServer = track(
      forkChild<never, FromSseFloorChild>(SSE_FLOOR_CHILD, {
        args: [JSON.stringify({ apiPort: api.port, apiWatchPath, frame } satisfies FloorOptions)],
      }),
    );
    const floorPort = (await floorServer.next('listening')).port;
    const floor = await propagate('floor', floorPort, () => Promise.resolve());
    await stop(floorServer);

    return [
      readyRow,
      listPhaseRow,
      cpuRow,
      cpuBoundRow,
      result('kube_propagation_p50_ms', percentile(kube.sse, 50), 'ms', {
        name: 'sse_fanout_floor_p50_ms',
        value: percentile(floor.sse, 50),
      }),
      result('kube_propagation_p99_ms', percentile(kube.sse, 99), 'ms', {
        name: 'sse_fanout_floor_p99_ms',
        value: percentile(floor.sse, 99),
      }),
      result('kube_propagation_all_1000_ms', median(kube.lastOfRound), 'ms', {
        name: 'sse_fanout_floor_all_1000_ms',
        value: median(floor.lastOfRound),
      }),
      result('fake_watch_p50_ms', percentile([...kube.api, ...floor.api], 50), 'ms'),
      rssRow,
    ];
  } finally {
    await Promise.allSettled([...children].map((c) => c.stop()));
    agent.destroy();
    await api.close();
    await rm(dir, { recursive: true, force: true });
  }
}

/** Polls /readyz every POLL_MS until it answers 200; returns now() at that answer. */
async function pollReady(agent: Agent, port: number, timeoutMs: number): Promise<number> {
  const deadline = now() + timeoutMs;
  for (;;) {
    const status = await get(agent, port, '/readyz').then(
      (r) => r.status,
      () => 0,
    );
    if (status === 200) return now();
    if (now() > deadline)
      throw new Error(`endpointd not ready after ${timeoutMs} ms (last status ${status})`);
    await sleep(POLL_MS);
  }
}

/** The subscribers' clock minus ours, from the IPC ping with the shortest round trip. */
async function clockOffset(
  clients: Child<ToSseClientsChild, FromSseClientsChild>,
): Promise<{ offsetMs: number; rttMs: number }> {
  let best = { offsetMs: Number.NaN, rttMs: Number.POSITIVE_INFINITY };
  for (let i = 0; i < 20; i++) {
    const sent = now();
    clients.send({ type: 'ping' });
    const pong = await clients.next('pong');
    const back = now();
    if (back - sent < best.rttMs) best = { offsetMs: pong.at - (sent + back) / 2, rttMs: back - sent };
  }
  return best;
}

function get(agent: Agent, port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

interface ServedService {
  readonly version: string;
  readonly endpoints: ReadonlyArray<{ readonly ready: boolean }>;
}

async function getJson(agent: Agent, port: number, path: string): Promise<ServedService> {
  const answer = await get(agent, port, path);
  if (answer.status !== 200)
    throw new Error(`GET ${path}: HTTP ${answer.status} ${answer.body.slice(0, 200)}`);
  return JSON.parse(answer.body) as ServedService;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** CPU spent on one start, from its fork to the moment measured (ms). */
interface StartCpu {
  /** Every thread of the started process (V8's GC and compiler helpers too). */
  readonly processMs: number;
  /** Its main thread alone, and how long that thread was runnable but waited for a core. */
  readonly mainMs: number;
  readonly mainWaitMs: number;
  /** This process's: the fake API server answering the lists (and, for endpointd, the /readyz polls). */
  readonly benchMs: number;
}

async function startCpu(pid: number, benchAtFork: NodeJS.CpuUsage): Promise<StartCpu> {
  const stat = await schedstat(pid);
  if (stat === undefined) throw new Error(`no /proc/${pid}/task/*/schedstat: the CPU rows need Linux`);
  const bench = process.cpuUsage(benchAtFork);
  return {
    processMs: stat.cpu / 1e6,
    mainMs: stat.mainCpu / 1e6,
    mainWaitMs: stat.mainWait / 1e6,
    benchMs: (bench.user + bench.system) / 1000,
  };
}

function describeCpu(cpu: StartCpu): string {
  return (
    `CPU ${ms(cpu.processMs)} (main thread ${ms(cpu.mainMs)}, which waited ${ms(cpu.mainWaitMs)} for a core), ` +
    `the fake API server's ${ms(cpu.benchMs)}`
  );
}

function ms(value: number): string {
  return `${value.toFixed(0)} ms`;
}

function mb(bytes: number): string {
  return `${(bytes / MB).toFixed(1)} MB`;
}
