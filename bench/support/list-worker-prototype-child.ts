// The process of bench/list-worker-prototype.ts: starts the list worker (list-worker-prototype-worker.ts) on its
// first line, then loads and starts endpointd's compiled modules as the suite's child does, with an empty file
// source (the idle start: imports, servers, readiness), and meanwhile takes the worker's Services as lazy entries
// (version and text, decoded on first use: the most the main thread could leave for later). Reports when both are
// done, then what decoding every entry costs (after "ready": a lookup's first touch would pay it). argv[2]: the API
// server's URL; argv[3]: the worker's mode.
import { mkdtemp } from 'node:fs/promises';
import { enableCompileCache } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { childFailed, now } from './kube-child.ts';
import type { FromPrototypeWorker, PrototypeWorkerData } from './list-worker-prototype-worker.ts';

const scriptStart = now();
enableCompileCache();

export type FromPrototypeChild = {
  readonly type: 'ready';
  readonly scriptStart: number;
  /** now() when endpointd's modules were loaded, when its servers listened and its empty source was synced. */
  readonly imported: number;
  readonly listening: number;
  /** now() when the worker's last Service was taken (and the servers listened). */
  readonly ready: number;
  readonly services: number;
  readonly endpoints: number;
  readonly workerListMs: number;
  readonly workerTailMs: number;
  /** Main-thread time taking the batches, and decoding every entry once afterwards. */
  readonly receiveMs: number;
  readonly decodeMs: number;
};

try {
  const [server, mode] = process.argv.slice(2);
  if (server === undefined || (mode !== 'parse' && mode !== 'accept' && mode !== 'full'))
    throw new Error('usage: list-worker-prototype-child.ts API_SERVER_URL parse|accept|full');
  const dist = new URL('../../dist', import.meta.url).href;
  const workerData: PrototypeWorkerData = { server, dist, mode };
  const worker = new Worker(new URL('./list-worker-prototype-worker.ts', import.meta.url), { workerData });
  const lazy = new Map<string, { readonly version: string; readonly text: string }>();
  let receiveMs = 0;
  const workerDone = new Promise<Extract<FromPrototypeWorker, { done: true }>>((resolve, reject) => {
    worker.on('error', reject);
    worker.on('message', (message: FromPrototypeWorker) => {
      if (!Array.isArray(message)) {
        resolve(message as Extract<FromPrototypeWorker, { done: true }>);
        return;
      }
      const started = performance.now();
      for (let i = 0; i + 2 < message.length; i += 3)
        lazy.set(message[i] as string, { version: message[i + 1] as string, text: message[i + 2] as string });
      receiveMs += performance.now() - started;
    });
  });
  const [{ startEndpointd }, { parseCommandLine }, { pino }] = await Promise.all([
    import(`${dist}/main.js`) as Promise<typeof import('../../src/main.ts')>,
    import(`${dist}/config/index.js`) as Promise<typeof import('../../src/config/index.ts')>,
    import('pino'),
  ]);
  const imported = now();
  const empty = await mkdtemp(join(tmpdir(), 'endpointd-list-worker-prototype-'));
  const parsed = parseCommandLine(
    ['--source', `file:${empty}`, '--bind', '127.0.0.1', '--http-port', '0', '--grpc-port', '0'],
    {},
  );
  if (parsed.kind !== 'run') throw new Error(`config rejected: ${parsed.kind}`);
  const endpointd = await startEndpointd(parsed.config, pino({ level: 'silent' }));
  await endpointd.synced;
  const listening = now();
  const done = await workerDone;
  const ready = now();
  const decodeStarted = performance.now();
  let endpoints = 0;
  for (const entry of lazy.values())
    endpoints += (JSON.parse(entry.text) as { endpoints: unknown[] }).endpoints.length;
  const decodeMs = performance.now() - decodeStarted;
  const report: FromPrototypeChild = {
    type: 'ready',
    scriptStart,
    imported,
    listening,
    ready,
    services: mode === 'full' ? lazy.size : done.services,
    endpoints,
    workerListMs: done.listMs,
    workerTailMs: done.tailMs,
    receiveMs,
    decodeMs,
  };
  // Exits once the report is out: the parent measures nothing after it.
  process.send?.(report, () => process.exit(0));
} catch (error) {
  childFailed(error);
}
