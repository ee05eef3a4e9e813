// Where a Kubernetes-sourced endpointd's memory goes: the kubernetes suite's endpointd child (production Node flags,
// --expose-gc) against the fake API server holding N Services of one 10-endpoint slice each (default 10,000; 0 for
// idle), then, after two gc() 300 ms after ready: RSS by kind of mapping from /proc/PID/smaps, V8's heap spaces, and
// with --snapshot DIR a heap snapshot of the child (written by --heapsnapshot-signal); the child's CPU time when its
// servers listen and when it is synced. A tool for profiling, not a suite:
// `node bench/kube-memory.ts [--services N] [--snapshot DIR] [--cpu-prof DIR] [--later MS,…] [--tree OTHER-CHECKOUT]
// [--node-flags=FLAGS]`.
import { readFileSync } from 'node:fs';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { FakeApiServer } from '../test/support/fake-apiserver/index.ts';
import { ensureEndpointdBuilt } from './support/endpointd-build.ts';
import { populateKubeDataset } from './support/kube-dataset.ts';
import { forkChild, type Child } from './support/kube-child.ts';
import type { FromEndpointdChild, ToEndpointdChild } from './support/kube-endpointd-child.ts';
import { productionNodeFlags } from './support/node-flags.ts';

const MB = 2 ** 20;
const { values } = parseArgs({
  options: {
    services: { type: 'string', default: '10000' },
    snapshot: { type: 'string' },
    'cpu-prof': { type: 'string' },
    /** Also measure (after two more gc()) at these times after ready, e.g. 5000,30000: does the RSS settle lower? */
    later: { type: 'string', default: '' },
    /** Another checkout whose endpointd to measure (its bench/support child and its start script's Node flags). */
    tree: { type: 'string' },
    /** Node flags instead of the start script's, e.g. "--max-semi-space-size=8" (space-separated). */
    'node-flags': { type: 'string' },
  },
});
const services = Number(values.services);

/** RSS per kind of mapping: the node executable, other files, the brk heap, thread stacks, other anonymous memory. */
function smapsByKind(pid: number): Record<string, number> {
  const out: Record<string, number> = {};
  let kind = 'anonymous';
  for (const line of readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
    const mapping = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (mapping !== null) {
      const path = mapping[1] ?? '';
      kind =
        path === ''
          ? 'anonymous (V8 heap pages, mmapped malloc arenas, thread stacks)'
          : path === '[heap]'
            ? 'brk heap (malloc)'
            : path.startsWith('[')
              ? path
              : /\/node$/.test(path)
                ? 'node executable'
                : 'other files';
      continue;
    }
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    if (rss !== null) out[kind] = (out[kind] ?? 0) + Number(rss[1]) * 1024;
  }
  return out;
}

/**
 * User + system CPU time of a process so far, in ms (from /proc/PID/stat, in clock ticks of 10 ms); with `thread`,
 * of that thread only (the main thread's id is the process's): what the one serving thread spent, without V8's
 * helper threads (concurrent marking, parallel scavenges) that run on the other cores.
 */
function cpuMs(pid: number, thread?: number): number {
  const stat = thread === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${thread}/stat`;
  const fields = readFileSync(stat, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

// --tree measures another checkout as it is (its own child decides what it runs).
if (values.tree === undefined) await ensureEndpointdBuilt((line) => console.log(line));
const api = await FakeApiServer.start();
const dir = await mkdtemp(join(tmpdir(), 'endpointd-kube-memory-'));
let child: Child<ToEndpointdChild, FromEndpointdChild> | undefined;
try {
  populateKubeDataset(api, services);
  const kubeconfig = join(dir, 'kubeconfig');
  await writeFile(kubeconfig, api.kubeconfigYaml());
  const execArgv = [
    ...(values['node-flags']?.split(' ').filter((f) => f !== '') ?? productionNodeFlags(values.tree)),
    '--expose-gc',
    ...(values.snapshot === undefined
      ? []
      : ['--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${values.snapshot}`]),
    ...(values['cpu-prof'] === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${values['cpu-prof']}`]),
  ];
  child = forkChild<ToEndpointdChild, FromEndpointdChild>(
    values.tree === undefined
      ? new URL('./support/kube-endpointd-child.ts', import.meta.url)
      : pathToFileURL(join(values.tree, 'bench/support/kube-endpointd-child.ts')),
    {
      execArgv,
      args: [kubeconfig],
      env: { NODE_COMPILE_CACHE: join(dir, 'cache') },
    },
  );
  const listening = await child.next('listening', 60_000);
  const cpuListening = cpuMs(child.pid);
  const synced = await child.next('synced', 120_000);
  const cpuSynced = cpuMs(child.pid);
  const mainThreadSynced = cpuMs(child.pid, child.pid);
  await new Promise((resolve) => setTimeout(resolve, 300));
  child.send({ type: 'memory' });
  const memory = await child.next('memory');
  console.log(
    `${memory.services} services, ${memory.endpoints} endpoints; synced ${(synced.at - child.forkedAt).toFixed(0)} ms after fork ` +
      `(listening at ${(listening.listening - child.forkedAt).toFixed(0)} ms); CPU time ${cpuListening} ms when listening, ` +
      `${cpuSynced} ms when synced, ${mainThreadSynced} ms of it on the main thread (robust to other load, unlike the times)`,
  );
  console.log(
    `RSS ${(memory.rss / MB).toFixed(1)} MB; heap ${(memory.heapUsed / MB).toFixed(1)} used of ${(memory.heapTotal / MB).toFixed(1)} MB; external ${(memory.external / MB).toFixed(1)} MB`,
  );
  for (const [kind, bytes] of Object.entries(smapsByKind(child.pid)).sort((a, b) => b[1] - a[1]))
    console.log(`  ${(bytes / MB).toFixed(1).padStart(7)} MB  ${kind}`);
  for (const space of memory.spaces)
    console.log(
      `  V8 ${space.name.padEnd(24)} ${(space.size / MB).toFixed(1).padStart(6)} MB reserved, ${(space.used / MB).toFixed(1).padStart(6)} MB used`,
    );
  let waited = 300;
  for (const at of values.later
    .split(',')
    .filter((t) => t !== '')
    .map(Number)) {
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, at - waited)));
    waited = Math.max(waited, at);
    child.send({ type: 'memory' });
    const later = await child.next('memory');
    const space = (name: string) => later.spaces.find((s) => s.name === name)?.size ?? 0;
    console.log(
      `${at} ms after ready: RSS ${(later.rss / MB).toFixed(1)} MB, heap ${(later.heapUsed / MB).toFixed(1)} used of ${(later.heapTotal / MB).toFixed(1)} MB, new space ${(space('new_space') / MB).toFixed(1)} MB, old space ${(space('old_space') / MB).toFixed(1)} MB reserved`,
    );
  }
  if (values.snapshot !== undefined) {
    const before = new Set(await readdir(values.snapshot));
    process.kill(child.pid, 'SIGUSR2');
    for (let i = 0; i < 600; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      const fresh = (await readdir(values.snapshot)).filter(
        (f) => !before.has(f) && f.endsWith('.heapsnapshot'),
      );
      // Written when its size stops changing.
      if (fresh.length > 0) {
        await new Promise((resolve) => setTimeout(resolve, 3000));
        console.log(`heap snapshot: ${join(values.snapshot, fresh[0] ?? '')}`);
        break;
      }
    }
  }
} finally {
  await child?.stop(10_000);
  await api.close();
  await rm(dir, { recursive: true, force: true });
}
