// A prototype, not endpointd's code: how soon could a process be ready at 10,000 slices if every per-object step of
// the first list ran on a worker thread started on the process's first line, and the main thread only loaded and
// started endpointd and took the worker's Services as text to decode on first use (bench/README.md, "What the
// twelfth round measured")? Against the kubernetes suite's floor (support/kube-raw-list-child.ts), alternated, on
// the suite's dataset (10,000 Services × one 10-endpoint slice, 100 namespaces) and fake API server.
//
//   node bench/list-worker-prototype.ts [--services N] [--trials N] [--mode parse|accept|full]
//
// --mode: what the worker does to each item ('parse': JSON.parse only, items dropped; 'accept': also the list's
// fast path; 'full', the default: also validation, filing, the assembler, and per namespace assembling, hashing and
// the text of each Service). Runs endpointd's dist/ (built first) with the start script's Node flags.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { FakeApiServer } from '../test/support/fake-apiserver/index.ts';
import { ensureEndpointdBuilt } from './support/endpointd-build.ts';
import { populateKubeDataset } from './support/kube-dataset.ts';
import { forkChild } from './support/kube-child.ts';
import type { FromRawListChild } from './support/kube-raw-list-child.ts';
import type { FromPrototypeChild } from './support/list-worker-prototype-child.ts';
import { productionNodeFlags } from './support/node-flags.ts';
import { median } from './support/stats.ts';

const { values } = parseArgs({
  options: {
    services: { type: 'string', default: '10000' },
    trials: { type: 'string', default: '4' },
    mode: { type: 'string', default: 'full' },
  },
});
const services = Number(values.services);
const mode = values.mode;
if (mode !== 'parse' && mode !== 'accept' && mode !== 'full')
  throw new Error('--mode: parse, accept or full');

await ensureEndpointdBuilt((line) => console.log(line));
const api = await FakeApiServer.start();
const cache = await mkdtemp(join(tmpdir(), 'endpointd-list-worker-prototype-cache-'));
try {
  populateKubeDataset(api, services);
  const prototype = (): ReturnType<typeof forkChild<never, FromPrototypeChild>> =>
    forkChild<never, FromPrototypeChild>(
      new URL('./support/list-worker-prototype-child.ts', import.meta.url),
      {
        execArgv: productionNodeFlags(),
        args: [api.url, mode],
        env: { NODE_COMPILE_CACHE: cache },
      },
    );
  // The first start fills the compile cache, as the image's build does.
  await prototype().next('ready', 60_000);
  const ratios: number[] = [];
  for (let trial = 0; trial < Number(values.trials); trial++) {
    const floor = forkChild<never, FromRawListChild>(
      new URL('./support/kube-raw-list-child.ts', import.meta.url),
      {
        args: [api.url],
        env: { NODE_COMPILE_CACHE: cache },
      },
    );
    const listed = await floor.next('listed', 60_000);
    const floorMs = listed.listEnd - floor.forkedAt;
    const child = prototype();
    const ready = await child.next('ready', 60_000);
    const readyMs = ready.ready - child.forkedAt;
    const expected = mode === 'parse' ? 0 : mode === 'accept' ? 2 * services : services;
    if (ready.services !== expected || (mode === 'full' && ready.endpoints !== 10 * services))
      throw new Error(`the prototype took ${ready.services} Services / ${ready.endpoints} endpoints`);
    ratios.push(readyMs / floorMs);
    const at = (time: number): string => `${(time - child.forkedAt).toFixed(0)} ms`;
    console.log(
      `floor ${floorMs.toFixed(0)} ms from fork | prototype (${mode}) ready ${readyMs.toFixed(0)} ms: ` +
        `${(readyMs / floorMs).toFixed(2)}× — endpointd loaded at ${at(ready.imported)}, listening at ${at(ready.listening)}; ` +
        `the worker's lists ${ready.workerListMs.toFixed(0)} ms, then ${ready.workerTailMs.toFixed(0)} ms to its last post; ` +
        `the main thread took the batches in ${ready.receiveMs.toFixed(0)} ms; ${ready.services} Services, ` +
        `decoding all of them afterwards: ${ready.decodeMs.toFixed(0)} ms`,
    );
  }
  console.log(`median ratio ${median(ratios).toFixed(2)}× over ${ratios.length} pairs`);
} finally {
  await api.close();
  await rm(cache, { recursive: true, force: true });
}
