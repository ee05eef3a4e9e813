// Child-process entry for the file-source suite's 8 MB edit: a FileSource on a directory holding one 8 MB manifest
// (argv[2]), edited argv[3] times (one Service's slice flipped each time). Reports how long each edit took to reach
// the store and the worst event-loop delay meanwhile (perf_hooks.monitorEventLoopDelay, 1 ms resolution), the
// loop's delay over an idle stretch as long as the slowest edit, and how long parsing the file on the loop takes.
// A process of its own, so that no other heap (the harness holds the fake API server's 20,000 objects) is collected
// on this loop while it is measured.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createLogger } from '../../src/observability/logger.ts';
import { FileSource } from '../../src/sources/file/file-source.ts';
import { parseFile } from '../../src/sources/file/parse-file.ts';
import { EndpointStore } from '../../src/store/endpoint-store.ts';
import { datasetService, serviceYaml } from './file-dataset.ts';
import { childFailed, onParentMessage, toParent } from './kube-child.ts';

export interface FromFileEditChild {
  readonly type: 'done';
  readonly services: number;
  readonly bytes: number;
  readonly applyMs: readonly number[];
  readonly worstDelayMs: readonly number[];
  readonly idleDelayMs: number;
  readonly inlineParseMs: number;
}

const EIGHT_MB = 8 * 2 ** 20;
const PER_NAMESPACE = 100;
const ENDPOINTS = 10;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function main(dir: string, edits: number): Promise<FromFileEditChild> {
  const parts: string[] = [];
  let bytes = 0;
  for (let i = 0; bytes < EIGHT_MB; i++) {
    parts.push(serviceYaml(datasetService(i, PER_NAMESPACE, ENDPOINTS)));
    bytes += Buffer.byteLength(parts[i] ?? '') + 4;
  }
  const edited = Math.floor(parts.length / 2);
  const render = (variant: 0 | 1): Buffer => {
    const copy = [...parts];
    copy[edited] = serviceYaml(datasetService(edited, PER_NAMESPACE, ENDPOINTS, variant));
    return Buffer.from(copy.join('---\n'));
  };
  // Both contents made once, before anything is measured: making them per edit would leave megabytes of this
  // harness's garbage for the collector to find during the measured window.
  const contents = [render(0), render(1)] as const;
  await mkdir(dir, { recursive: true });
  const file = join(dir, 'big.yaml');
  await writeFile(file, contents[0]);
  const inlineStarted = performance.now();
  parseFile(contents[0], { format: 'yaml' });
  const inlineParseMs = performance.now() - inlineStarted;

  const store = new EndpointStore({ encodedCacheBytes: 16 * 2 ** 20 });
  const source = new FileSource({ path: dir, store, logger: createLogger('silent') });
  await source.start();
  const key = { namespace: `team-${Math.floor(edited / PER_NAMESPACE)}`, name: `svc-${edited}` };
  const readyOf = (): number => store.get(key)?.endpoints.filter((e) => e.ready).length ?? -1;
  const applyMs: number[] = [];
  const worstDelayMs: number[] = [];
  try {
    for (let i = 0; i < edits; i++) {
      const variant: 0 | 1 = i % 2 === 0 ? 1 : 0;
      const content = contents[variant];
      const expected = ENDPOINTS - variant;
      await sleep(300);
      const histogram = monitorEventLoopDelay({ resolution: 1 });
      histogram.enable();
      const started = performance.now();
      await writeFile(file, content);
      while (readyOf() !== expected) {
        if (performance.now() - started > 10_000)
          throw new Error('the 8 MB edit was not applied within 10 s');
        await sleep(2);
      }
      applyMs.push(performance.now() - started);
      histogram.disable();
      worstDelayMs.push(histogram.max / 1e6);
    }
  } finally {
    await source.stop();
  }
  const idle = monitorEventLoopDelay({ resolution: 1 });
  idle.enable();
  await sleep(Math.max(...applyMs));
  idle.disable();
  return {
    type: 'done',
    services: parts.length,
    bytes,
    applyMs,
    worstDelayMs,
    idleDelayMs: idle.max / 1e6,
    inlineParseMs,
  };
}

onParentMessage<never>(() => {});
main(process.argv[2] ?? '', Number(process.argv[3] ?? '3')).then(toParent, childFailed);
