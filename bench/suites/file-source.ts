// The file source against the Kubernetes source on the same content, in the same run: 10,000 Services (Service
// object + one EndpointSlice of 10 endpoints each) served from the fake kube-apiserver, and from manifest trees
// written from the very same objects — a YAML file per Service, a JSON file per Service, four large YAML files.
// Each subject is the real endpointd in a child process (bench/support/kube-endpointd-child.ts, shared with the
// kubernetes suite); rows: sync time (servers listening → every source synced) and RSS after GC, file vs kube.
// Beside the wall-clock sync time, the CPU the child spent syncing (all its threads, from /proc/PID/stat, between the
// same two moments): on a machine shared with other work the wall clock says how the subject fared against the
// others, its CPU time what it cost, which does not depend on them.
// Then one edit of an 8 MB manifest, in a child of its own (bench/support/file-edit-child.ts): how long until the store has it, and the worst event-loop
// delay meanwhile (perf_hooks.monitorEventLoopDelay), against the loop's delay over an idle second and against
// the time parsing that file on the event loop would take.
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeApiServer } from '../../test/support/fake-apiserver/index.ts';
import { dataset, writeLayout, type Layout } from '../support/file-dataset.ts';
import { forkChild, now, type Child } from '../support/kube-child.ts';
import { productionNodeFlags } from '../support/node-flags.ts';
import type { FromEndpointdChild, ToEndpointdChild } from '../support/kube-endpointd-child.ts';
import type { FromFileEditChild } from '../support/file-edit-child.ts';
import { ensureEndpointdBuilt } from '../support/endpointd-build.ts';
import { result, skippedResult, type BenchResult } from '../support/report.ts';
import { median } from '../support/stats.ts';
import type { SuiteContext } from '../support/suite.ts';

export const description =
  'file source vs the Kubernetes source on the same 10k Services × 10 endpoints: sync time and RSS (YAML, JSON, 4 large files); an 8 MB manifest edit: apply time, worst event-loop delay';

const SERVICES = 10_000;
const PER_NAMESPACE = 100;
const ENDPOINTS = 10;
const LAYOUTS: readonly Layout[] = ['yaml-per-service', 'json-per-service', 'yaml-4-files'];
const MB = 2 ** 20;
const CHILD = new URL('../support/kube-endpointd-child.ts', import.meta.url);
const EDIT_CHILD = new URL('../support/file-edit-child.ts', import.meta.url);

type EndpointdChild = Child<ToEndpointdChild, FromEndpointdChild>;

interface Trial {
  readonly readyMs: number;
  readonly syncMs: number;
  /** CPU time of every thread of the child while it synced; undefined where /proc is not there to say. */
  readonly syncCpuMs: number | undefined;
  readonly rss: number;
}

/** Clock ticks per second of /proc/PID/stat's utime and stime (USER_HZ: 100 on Linux wherever it runs). */
const USER_HZ = 100;

/** User + system CPU time of process `pid` so far, all threads, in ms; undefined without /proc. */
function cpuMs(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces), which ends at the last ')': utime and stime are 14, 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / USER_HZ;
  } catch {
    return undefined;
  }
}

export async function run(context: SuiteContext): Promise<BenchResult[]> {
  const { quick, log } = context;
  const trials = quick ? 1 : 2;
  const edits = quick ? 3 : 7;
  await ensureEndpointdBuilt(log);
  const api = await FakeApiServer.start();
  const dir = await mkdtemp(join(tmpdir(), 'endpointd-bench-files-'));
  const agent = new Agent({ keepAlive: true });
  const children = new Set<EndpointdChild>();
  try {
    const services = dataset(SERVICES, PER_NAMESPACE, ENDPOINTS);
    for (const s of services) {
      api.create('services', s.service);
      api.create('endpointslices', s.slice);
    }
    const kubeconfig = join(dir, 'kubeconfig');
    await writeFile(kubeconfig, api.kubeconfigYaml());
    for (const layout of LAYOUTS) await writeLayout(join(dir, layout), services, layout);
    log(`${SERVICES} Services × ${ENDPOINTS} endpoints in the fake API server and as ${LAYOUTS.join(', ')}`);

    const measure = async (what: string, args: readonly string[]): Promise<Trial> => {
      const child = forkChild<ToEndpointdChild, FromEndpointdChild>(CHILD, {
        // The flags production runs with (npm start, the image), as the Kubernetes suite's children: RSS is compared.
        execArgv: [...productionNodeFlags(), '--expose-gc'],
        args,
      });
      children.add(child);
      try {
        const listening = await child.next('listening', 60_000);
        const cpuAtListening = cpuMs(child.pid);
        const syncedMessage = child.next('synced', 120_000);
        const cpuAtSynced = syncedMessage.then(() => cpuMs(child.pid));
        // Awaited below, after /readyz: until then a failure must not count as unhandled.
        cpuAtSynced.catch(() => {});
        const readyAt = await pollReady(agent, listening.port, 120_000);
        const synced = await syncedMessage;
        const cpuSynced = await cpuAtSynced;
        await sleep(300);
        child.send({ type: 'memory' });
        const memory = await child.next('memory');
        if (memory.services !== SERVICES || memory.endpoints !== SERVICES * ENDPOINTS) {
          throw new Error(`${what}: serves ${memory.services} services, ${memory.endpoints} endpoints`);
        }
        const trial = {
          readyMs: readyAt - child.forkedAt,
          syncMs: synced.at - listening.listening,
          syncCpuMs:
            cpuAtListening === undefined || cpuSynced === undefined ? undefined : cpuSynced - cpuAtListening,
          rss: memory.rss,
        };
        log(
          `${what}: sync ${trial.syncMs.toFixed(0)} ms (listening → synced; CPU ${trial.syncCpuMs?.toFixed(0) ?? '?'} ms), ready ${trial.readyMs.toFixed(0)} ms after fork, RSS ${(trial.rss / MB).toFixed(1)} MB after GC`,
        );
        return trial;
      } finally {
        children.delete(child);
        await child.stop();
      }
    };

    const kube: Trial[] = [];
    const files = new Map<Layout, Trial[]>(LAYOUTS.map((l) => [l, []]));
    // Alternated, so that a burst of other work on the machine does not land on one subject only.
    for (let trial = 1; trial <= trials; trial++) {
      kube.push(await measure(`trial ${trial} kubernetes`, [kubeconfig]));
      for (const layout of LAYOUTS) {
        files
          .get(layout)
          ?.push(await measure(`trial ${trial} ${layout}`, ['--', '--source', `file:${join(dir, layout)}`]));
      }
    }
    const kubeSync = median(kube.map((t) => t.syncMs));
    const kubeRss = median(kube.map((t) => t.rss)) / MB;
    const kubeCpu = cpuOf(kube);
    const rows: BenchResult[] = [];
    for (const layout of LAYOUTS) {
      const layoutTrials = files.get(layout) ?? [];
      const key = layout.replaceAll('-', '_');
      rows.push(
        result(`file_sync_ms_10k_${key}`, median(layoutTrials.map((t) => t.syncMs)), 'ms', {
          name: 'kube_sync_ms_10k_services',
          value: kubeSync,
        }),
        result(`file_rss_mb_10k_${key}`, median(layoutTrials.map((t) => t.rss)) / MB, 'MB', {
          name: 'kube_rss_mb_10k_services',
          value: kubeRss,
        }),
      );
      const fileCpu = cpuOf(layoutTrials);
      if (fileCpu === undefined) {
        rows.push(
          skippedResult(`file_sync_cpu_ms_10k_${key}`, 'ms', NO_PROC, 'kube_sync_cpu_ms_10k_services'),
        );
      } else {
        rows.push(
          result(
            `file_sync_cpu_ms_10k_${key}`,
            fileCpu,
            'ms',
            kubeCpu === undefined
              ? { name: 'kube_sync_cpu_ms_10k_services', skipped: NO_PROC }
              : { name: 'kube_sync_cpu_ms_10k_services', value: kubeCpu },
          ),
        );
      }
    }
    rows.push(...(await eightMegabyteEdit(join(dir, 'big'), edits, log)));
    return rows;
  } finally {
    await Promise.allSettled([...children].map((c) => c.stop()));
    agent.destroy();
    await api.close();
    await rm(dir, { recursive: true, force: true });
  }
}

const NO_PROC = 'no /proc/PID/stat to read the child CPU time from';

/** The median sync CPU time of `trials`, or undefined when some trial could not read it. */
function cpuOf(trials: readonly Trial[]): number | undefined {
  const values = trials.map((t) => t.syncCpuMs);
  return values.every((v): v is number => v !== undefined) ? median(values) : undefined;
}

/** The 8 MB edit, in a process of its own (bench/support/file-edit-child.ts) whose heap holds nothing else. */
async function eightMegabyteEdit(
  dir: string,
  edits: number,
  log: (message: string) => void,
): Promise<BenchResult[]> {
  const child = forkChild<never, FromFileEditChild>(EDIT_CHILD, {
    execArgv: productionNodeFlags(),
    args: [dir, String(edits)],
  });
  try {
    const done = await child.next('done', 300_000);
    log(
      `8 MB manifest (${done.services} Services, ${(done.bytes / MB).toFixed(1)} MB): ${edits} edits applied in median ${median(done.applyMs).toFixed(0)} ms ` +
        `(max ${Math.max(...done.applyMs).toFixed(0)}); worst event-loop delay ${Math.max(...done.worstDelayMs).toFixed(1)} ms ` +
        `(idle loop ${done.idleDelayMs.toFixed(1)} ms; parsing it on the loop takes ${done.inlineParseMs.toFixed(0)} ms)`,
    );
    return [
      result('file_edit_8mb_apply_ms', median(done.applyMs), 'ms', {
        name: 'inline_parse_8mb_ms',
        value: done.inlineParseMs,
      }),
      result('file_edit_8mb_max_loop_delay_ms', Math.max(...done.worstDelayMs), 'ms', {
        name: 'idle_max_loop_delay_ms',
        value: done.idleDelayMs,
      }),
    ];
  } finally {
    await child.stop();
  }
}

/** Polls /readyz every 10 ms until it answers 200; returns now() at that answer. */
async function pollReady(agent: Agent, port: number, timeoutMs: number): Promise<number> {
  const deadline = now() + timeoutMs;
  for (;;) {
    const status = await new Promise<number>((resolve) => {
      const req = request({ host: '127.0.0.1', port, path: '/readyz', agent }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', () => resolve(0));
      req.end();
    });
    if (status === 200) return now();
    if (now() > deadline)
      throw new Error(`endpointd not ready after ${timeoutMs} ms (last status ${status})`);
    await sleep(10);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
