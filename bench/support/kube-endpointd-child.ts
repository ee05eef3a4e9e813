// Child-process entry for the kubernetes suite: the real endpointd (startEndpointd, as src/main.ts runs it) with
// `--source kubernetes --kubeconfig <argv[2]>` (or the flags after `--`). It starts at once (no IPC round trip before the clock matters),
// tells the parent its REST port as soon as it listens (the sources are still listing then: the parent polls
// /readyz itself), and on request reports its memory after a full GC (the parent starts it with --expose-gc).
import { enableCompileCache } from 'node:module';
import { getHeapSpaceStatistics } from 'node:v8';
import type { Logger } from 'pino';
import { childFailed, now, onParentMessage, toParent } from './kube-child.ts';

const scriptStart = now();
// As bin/endpointd.cjs starts endpointd: with Node's compile cache (the suite gives each run a fresh directory).
enableCompileCache();

export type ToEndpointdChild = { readonly type: 'memory' } | { readonly type: 'stop' };

export type FromEndpointdChild =
  | {
      readonly type: 'listening';
      readonly port: number;
      /** now() when this script began, when src/ was imported, when the REST and gRPC servers listened. */
      readonly scriptStart: number;
      readonly imported: number;
      readonly listening: number;
    }
  /** now() when `endpointd.synced` resolved (every source listed once). */
  | { readonly type: 'synced'; readonly at: number }
  | {
      readonly type: 'memory';
      readonly gc: boolean;
      readonly rssBeforeGc: number;
      readonly rss: number;
      readonly heapUsed: number;
      readonly heapTotal: number;
      readonly external: number;
      readonly arrayBuffers: number;
      readonly services: number;
      readonly endpoints: number;
      /** V8's heap spaces after the GC: what each has reserved (size) and uses, in bytes. */
      readonly spaces: readonly { readonly name: string; readonly size: number; readonly used: number }[];
    };

const send = (message: FromEndpointdChild): void => toParent(message);

async function collectGarbage(): Promise<boolean> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) return false;
  // Twice with a turn of the loop between: finalizers and weak callbacks of the first pass free more in the second.
  gc();
  await new Promise((resolve) => setImmediate(resolve));
  gc();
  return true;
}

try {
  const kubeconfig = process.argv[2];
  if (kubeconfig === undefined)
    throw new Error('usage: kube-endpointd-child.ts KUBECONFIG | -- SOURCE-FLAGS...');
  // `-- --source file:DIR`: the same child with other sources (the file-source suite compares the two).
  const sourceFlags =
    kubeconfig === '--' ? process.argv.slice(3) : ['--source', 'kubernetes', '--kubeconfig', kubeconfig];
  // Imported here, not statically, so that the parent sees how long loading endpointd's modules takes.
  // BENCH_ENDPOINTD_DIST=1: the compiled modules of dist/ (`npm run build`), as the image runs them, instead of the
  // TypeScript sources a checkout runs (Node's type stripping loads its own compiler: ~17 MB of RSS).
  const compiled = process.env.BENCH_ENDPOINTD_DIST === '1';
  const [{ startEndpointd }, { parseCommandLine }, { pino }] = await Promise.all([
    (compiled
      ? import(new URL('../../dist/main.js', import.meta.url).href)
      : import('../../src/main.ts')) as Promise<typeof import('../../src/main.ts')>,
    (compiled
      ? import(new URL('../../dist/config/index.js', import.meta.url).href)
      : import('../../src/config/index.ts')) as Promise<typeof import('../../src/config/index.ts')>,
    import('pino'),
  ]);
  const imported = now();
  const parsed = parseCommandLine(
    [
      ...sourceFlags,
      '--bind',
      '127.0.0.1',
      '--http-port',
      '0',
      '--grpc-port',
      '0',
      '--log-level',
      'silent',
      '--shutdown-grace',
      '1s',
    ],
    {},
  );
  if (parsed.kind !== 'run') {
    throw new Error(
      `config rejected: ${parsed.kind === 'invalid' ? parsed.problems.join('; ') : parsed.kind}`,
    );
  }
  const logger: Logger = pino({ level: 'silent' });
  const endpointd = await startEndpointd(parsed.config, logger);
  send({
    type: 'listening',
    port: endpointd.httpAddress.port,
    scriptStart,
    imported,
    listening: now(),
  });
  endpointd.synced.then(
    () => send({ type: 'synced', at: now() }),
    (error: unknown) => childFailed(error),
  );
  onParentMessage<ToEndpointdChild>(
    (message) => {
      if (message.type !== 'memory') return;
      const before = process.memoryUsage.rss();
      void collectGarbage().then((gc) => {
        const memory = process.memoryUsage();
        const stats = endpointd.store.stats();
        send({
          type: 'memory',
          gc,
          rssBeforeGc: before,
          rss: memory.rss,
          heapUsed: memory.heapUsed,
          heapTotal: memory.heapTotal,
          external: memory.external,
          arrayBuffers: memory.arrayBuffers,
          services: stats.services,
          endpoints: stats.endpoints,
          spaces: getHeapSpaceStatistics().map((space) => ({
            name: space.space_name,
            size: space.space_size,
            used: space.space_used_size,
          })),
        });
      });
    },
    () => endpointd.stop(),
  );
} catch (error) {
  childFailed(error);
}
