// Child-process entry for the kubernetes suite: the real endpointd (startEndpointd, as src/main.ts runs it) with
// `--source kubernetes --kubeconfig <argv[2]>` (or the flags after `--`). It starts at once (no IPC round trip before the clock matters),
// tells the parent its REST port as soon as it listens (the sources are still listing then: the parent polls
// /readyz itself), and on request reports its memory after a full GC (the parent starts it with --expose-gc).
import { enableCompileCache } from 'node:module';
import { Writable } from 'node:stream';
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
      /** endpointd had run its compaction after the first sync (src/observability/heap-compaction.ts) when measured. */
      readonly compacted: boolean;
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
  // The compiled modules of dist/ (built by bench/support/endpointd-build.ts), as the image runs them;
  // BENCH_ENDPOINTD_DIST=0: the TypeScript sources a checkout runs (Node's type stripping loads its own compiler).
  const compiled = process.env.BENCH_ENDPOINTD_DIST !== '0';
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
  // Info lines are dropped, but one is watched for: endpointd's heap compaction a moment after the first sync, which
  // a memory report waits for, so that it measures the steady state rather than the moment before it.
  let compacted = false;
  let onCompacted: (() => void) | undefined;
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      if (!compacted && chunk.toString().includes('"heap compacted after the first sync"')) {
        compacted = true;
        onCompacted?.();
      }
      done();
    },
  });
  const compaction = new Promise<void>((resolve) => (onCompacted = resolve));
  const logger: Logger = pino({ level: 'info' }, sink);
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
      void Promise.race([compaction, new Promise((resolve) => setTimeout(resolve, 10_000))])
        .then(() => {
          const before = process.memoryUsage.rss();
          return collectGarbage().then((gc) => ({ gc, before }));
        })
        .then(({ gc, before }) => {
          const memory = process.memoryUsage();
          const stats = endpointd.store.stats();
          send({
            type: 'memory',
            gc,
            compacted,
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
