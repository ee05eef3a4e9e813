// Several clusters behind one endpointd (issue 13's benchmark): ready time (fork → /readyz 200) and RSS after GC of
// one endpointd reading 3 clusters × 3,000 Services with --cluster, against one endpointd reading one cluster of
// 9,000 (--source kubernetes), same data volume, same run, alternated trial by trial. A third row merges 3 clusters
// that each define the same 3,000 Services (distinct pods): the union's cost when every Service has three parts.
//
// Processes: each fake kube-apiserver runs in a child of its own (bench/support/fake-apiserver-child.ts), as
// separate API servers would; endpointd in another (kube-endpointd-child.ts, with the production Node flags and
// --expose-gc); this process only forks, polls /readyz and collects the figures.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FromFakeApiServerChild } from '../support/fake-apiserver-child.ts';
import { ensureEndpointdBuilt } from '../support/endpointd-build.ts';
import { forkChild, now, type Child } from '../support/kube-child.ts';
import type { FromEndpointdChild, ToEndpointdChild } from '../support/kube-endpointd-child.ts';
import { productionNodeFlags } from '../support/node-flags.ts';
import { result, type BenchResult } from '../support/report.ts';
import { median } from '../support/stats.ts';
import type { SuiteContext } from '../support/suite.ts';

export const description =
  'Several clusters: ready time and RSS with 3 clusters × 3,000 Services vs 1 cluster of 9,000 (and 3 × the same 3,000, merged)';

const TOTAL = 9000;
const CLUSTERS = 3;
const PER_CLUSTER = TOTAL / CLUSTERS;
const MB = 2 ** 20;

const FAKE_CHILD = new URL('../support/fake-apiserver-child.ts', import.meta.url);
const ENDPOINTD_CHILD = new URL('../support/kube-endpointd-child.ts', import.meta.url);

type FakeChild = Child<never, FromFakeApiServerChild>;
type EndpointdChild = Child<ToEndpointdChild, FromEndpointdChild>;

interface Layout {
  readonly what: string;
  /** Per fake API server: [first Service name number, count, first address/pod number]. */
  readonly clusters: ReadonlyArray<readonly [number, number, number]>;
  readonly named: boolean;
  readonly services: number;
}

const LAYOUTS = {
  single: { what: '1 cluster × 9,000', clusters: [[0, TOTAL, 0]], named: false, services: TOTAL },
  split: {
    what: '3 clusters × 3,000',
    clusters: [0, 1, 2].map((k) => [k * PER_CLUSTER, PER_CLUSTER, k * PER_CLUSTER] as const),
    named: true,
    services: TOTAL,
  },
  shared: {
    what: '3 clusters × the same 3,000',
    clusters: [0, 1, 2].map((k) => [0, PER_CLUSTER, k * PER_CLUSTER] as const),
    named: true,
    services: PER_CLUSTER,
  },
} satisfies Record<string, Layout>;

export async function run(context: SuiteContext): Promise<BenchResult[]> {
  const { quick, log } = context;
  await ensureEndpointdBuilt(log);
  const trials = quick ? 1 : 3;
  // BENCH_MULTI_CPU_PROF=DIR: endpointd children write a V8 CPU profile there when they exit.
  const profileDir = process.env.BENCH_MULTI_CPU_PROF;
  const execArgv = [
    ...productionNodeFlags(),
    '--expose-gc',
    ...(profileDir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${profileDir}`]),
  ];
  const dir = await mkdtemp(join(tmpdir(), 'endpointd-bench-multi-'));
  const compileCache = join(dir, 'node-compile-cache');
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

  /** Starts a layout's fake API servers (in parallel, each in its own process); returns their kubeconfig files. */
  const startFakes = async (
    name: keyof typeof LAYOUTS,
  ): Promise<{ fakes: FakeChild[]; kubeconfigs: string[] }> => {
    const layout: Layout = LAYOUTS[name];
    const fakes = layout.clusters.map(([from, count, index]) =>
      track(forkChild<never, FromFakeApiServerChild>(FAKE_CHILD, { args: [from, count, index].map(String) })),
    );
    const ready = await Promise.all(fakes.map((f) => f.next('ready', 120_000)));
    const kubeconfigs = await Promise.all(
      ready.map(async (r, k) => {
        const file = join(dir, `${name}-${k}.kubeconfig`);
        await writeFile(file, r.kubeconfigYaml);
        return file;
      }),
    );
    log(
      `${layout.what}: fake API servers ready (${ready.map((r) => `${r.services} Services in ${r.createMs.toFixed(0)} ms`).join(', ')})`,
    );
    return { fakes, kubeconfigs };
  };

  /** endpointd from fork to /readyz 200 and its RSS after GC. */
  const measure = async (
    name: keyof typeof LAYOUTS,
    kubeconfigs: readonly string[],
  ): Promise<{ readyMs: number; rss: number }> => {
    const layout: Layout = LAYOUTS[name];
    const flags = layout.named
      ? kubeconfigs.flatMap((file, k) => ['--cluster', `c${k}=${file}`])
      : ['--source', 'kubernetes', '--kubeconfig', kubeconfigs[0] ?? ''];
    const child: EndpointdChild = track(
      forkChild<ToEndpointdChild, FromEndpointdChild>(ENDPOINTD_CHILD, {
        execArgv,
        args: ['--', ...flags],
        env: { NODE_COMPILE_CACHE: compileCache },
      }),
    );
    try {
      const listening = await child.next('listening', 60_000);
      const readyAt = await pollReady(agent, listening.port, 120_000);
      await child.next('synced');
      await sleep(300); // the watches open and what follows the first sync settles
      child.send({ type: 'memory' });
      const memory = await child.next('memory');
      if (memory.services !== layout.services) {
        throw new Error(
          `${layout.what}: endpointd serves ${memory.services} Services, expected ${layout.services}`,
        );
      }
      const readyMs = readyAt - child.forkedAt;
      log(
        `${layout.what}: ready ${readyMs.toFixed(0)} ms after fork; ${memory.services} Services, ${memory.endpoints} endpoints, ` +
          `RSS ${(memory.rss / MB).toFixed(1)} MB after GC (heap ${(memory.heapUsed / MB).toFixed(1)} MB used)`,
      );
      return { readyMs, rss: memory.rss };
    } finally {
      await stop(child);
    }
  };

  try {
    const figures = { single: [] as number[][], split: [] as number[][], shared: [] as number[][] };
    const started = {} as Record<keyof typeof LAYOUTS, string[]>;
    for (const name of ['single', 'split', 'shared'] as const)
      started[name] = (await startFakes(name)).kubeconfigs;
    // A first, unmeasured start fills the compile cache, as a deployed endpointd's image or first start does.
    await measure('single', started.single);
    for (let trial = 1; trial <= trials; trial++) {
      for (const name of ['single', 'split', 'shared'] as const) {
        const { readyMs, rss } = await measure(name, started[name]);
        figures[name].push([readyMs, rss]);
      }
      log(`trial ${trial}/${trials} done`);
    }
    const readyOf = (name: keyof typeof figures): number =>
      median(figures[name].map(([r]) => r ?? Number.NaN));
    const rssOf = (name: keyof typeof figures): number =>
      median(figures[name].map(([, r]) => r ?? Number.NaN)) / MB;
    const baselineReady = { name: 'kube_ready_ms_1x9000', value: readyOf('single') };
    const baselineRss = { name: 'kube_rss_mb_1x9000', value: rssOf('single') };
    return [
      result('kube_ready_ms_1x9000', readyOf('single'), 'ms'),
      result('multicluster_ready_ms_3x3000', readyOf('split'), 'ms', baselineReady),
      result('multicluster_ready_ms_3x3000_same', readyOf('shared'), 'ms', baselineReady),
      result('kube_rss_mb_1x9000', rssOf('single'), 'MB'),
      result('multicluster_rss_mb_3x3000', rssOf('split'), 'MB', baselineRss),
      result('multicluster_rss_mb_3x3000_same', rssOf('shared'), 'MB', baselineRss),
    ];
  } finally {
    await Promise.allSettled([...children].map((c) => c.stop()));
    agent.destroy();
    await rm(dir, { recursive: true, force: true });
  }
}

/** Polls /readyz until 200; resolves with now() of the first 200. */
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
    if (now() > deadline) throw new Error(`/readyz not 200 within ${timeoutMs} ms`);
    await sleep(10);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
