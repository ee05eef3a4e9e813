// Same-run A/B of the file source's first load: the file-source suite's measurement (bench/suites/file-source.ts:
// servers listening → synced, and the CPU of every thread of the child meanwhile) on one or more layouts, for this
// checkout's endpointd and for other checkouts' (`--tree DIR`, e.g. main: `git archive main | tar -x -C /tmp/base &&
// ln -s $PWD/node_modules /tmp/base/`), their trials alternated so that a burst of other work lands on all of them.
// `--kube` adds the Kubernetes source against the fake API server (the suite's baseline); `--cpu-prof DIR` makes
// every child write a CPU profile there. Each trial also reports the child's RSS after GC once synced, as the suite
// measures it. Run it under the bench lock:
//   flock /work/coord/bench.lock node_modules/.bin/node bench/support/file-sync-ab.ts --layout yaml-per-service \
//     --tree /tmp/base --trials 3 [--kube] [--cpu-prof /tmp/prof]
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify, parseArgs } from 'node:util';
import { FakeApiServer } from '../../test/support/fake-apiserver/index.ts';
import { dataset, writeLayout, type Layout } from './file-dataset.ts';
import { forkChild } from './kube-child.ts';
import type { FromEndpointdChild, ToEndpointdChild } from './kube-endpointd-child.ts';
import { productionNodeFlags } from './node-flags.ts';
import { median } from './stats.ts';

const THIS_TREE = fileURLToPath(new URL('../..', import.meta.url));
const LAYOUTS: readonly Layout[] = ['yaml-per-service', 'json-per-service', 'yaml-4-files'];

const { values } = parseArgs({
  options: {
    layout: { type: 'string', multiple: true },
    tree: { type: 'string', multiple: true },
    trials: { type: 'string', default: '3' },
    services: { type: 'string', default: '10000' },
    kube: { type: 'boolean', default: false },
    'cpu-prof': { type: 'string' },
    /** Run the trees' dist/ as it is (a build of one's own, or one changed by hand to measure something). */
    'no-build': { type: 'boolean', default: false },
  },
});
const layouts = (values.layout ?? ['yaml-per-service']) as Layout[];
for (const layout of layouts) if (!LAYOUTS.includes(layout)) throw new Error(`unknown layout ${layout}`);
const trees = [THIS_TREE, ...(values.tree ?? []).map((t) => resolve(t))];
const trials = Number(values.trials);
const services = Number(values.services);

/** User + system CPU of `pid`, all threads, in ms (USER_HZ 100). */
function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

interface Measured {
  readonly sync: number;
  readonly cpu: number;
  /** RSS after GC once synced (as the suite measures it), in MB. */
  readonly rss: number;
}

async function measure(tree: string, args: readonly string[]): Promise<Measured> {
  const profile = values['cpu-prof'];
  const child = forkChild<ToEndpointdChild, FromEndpointdChild>(
    new URL(`file://${join(tree, 'bench/support/kube-endpointd-child.ts')}`),
    {
      execArgv: [
        ...productionNodeFlags(tree),
        '--expose-gc',
        ...(profile === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${profile}`]),
      ],
      args,
    },
  );
  try {
    const listening = await child.next('listening', 60_000);
    const before = cpuMs(child.pid);
    const synced = await child.next('synced', 120_000);
    const cpu = cpuMs(child.pid) - before;
    await new Promise((resolve) => setTimeout(resolve, 300));
    child.send({ type: 'memory' });
    const memory = await child.next('memory');
    return { sync: synced.at - listening.listening, cpu, rss: memory.rss / 2 ** 20 };
  } finally {
    await child.stop();
  }
}

const dir = await mkdtemp(join(tmpdir(), 'endpointd-file-ab-'));
const api = values.kube ? await FakeApiServer.start() : undefined;
try {
  for (const tree of values['no-build'] ? [] : trees) {
    await promisify(execFile)('npm', ['run', 'build'], { cwd: tree, timeout: 180_000 });
  }
  const set = dataset(services, 100, 10);
  for (const layout of layouts) await writeLayout(join(dir, layout), set, layout);
  const subjects: { name: string; tree: string; args: string[] }[] = [];
  if (api !== undefined) {
    for (const s of set) {
      api.create('services', s.service);
      api.create('endpointslices', s.slice);
    }
    const kubeconfig = join(dir, 'kubeconfig');
    await writeFile(kubeconfig, api.kubeconfigYaml());
    subjects.push({ name: 'kubernetes', tree: THIS_TREE, args: [kubeconfig] });
  }
  for (const layout of layouts) {
    for (const [i, tree] of trees.entries()) {
      subjects.push({
        name: `${layout} ${i === 0 ? 'this' : tree}`,
        tree,
        args: ['--', '--source', `file:${join(dir, layout)}`],
      });
    }
  }
  const results = new Map(subjects.map((s) => [s.name, [] as Measured[]]));
  console.log(
    `load ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  for (let trial = 1; trial <= trials; trial++) {
    for (const subject of subjects) {
      const r = await measure(subject.tree, subject.args);
      results.get(subject.name)?.push(r);
      console.log(
        `trial ${trial} ${subject.name}: sync ${r.sync.toFixed(0)} ms, CPU ${r.cpu.toFixed(0)} ms, RSS ${r.rss.toFixed(1)} MB`,
      );
    }
  }
  console.log(
    `load ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  for (const [name, rs] of results) {
    console.log(
      `${name}: median sync ${median(rs.map((r) => r.sync)).toFixed(0)} ms, CPU ${median(rs.map((r) => r.cpu)).toFixed(0)} ms` +
        ` (CPU ${rs.map((r) => r.cpu.toFixed(0)).join(', ')}), RSS ${median(rs.map((r) => r.rss)).toFixed(1)} MB`,
    );
  }
} finally {
  await api?.close();
  await rm(dir, { recursive: true, force: true });
}
