// The HTTP load generator's side: runs autocannon (a warmup, then the measured run) on its own event loop, as a
// worker thread or a child process, and posts back the figures. Never imported: started by load.ts.
import { createRequire } from 'node:module';
import { parentPort, workerData } from 'node:worker_threads';
import type { LoadRequest, LoadOutcome, LoadRun } from './load.ts';

/** The part of autocannon's result this harness reads (autocannon ships no types). */
interface AutocannonResult {
  readonly duration: number;
  readonly errors: number;
  readonly timeouts: number;
  readonly non2xx: number;
  readonly '2xx': number;
  readonly resets: number;
  readonly latency: { readonly p50: number; readonly p99: number };
}

interface AutocannonInstance {
  on(
    event: 'response',
    listener: (client: unknown, statusCode: number, bytes: number, responseTimeMs: number) => void,
  ): void;
}

type Autocannon = (
  options: Record<string, unknown>,
  done: (error: Error | null, result: AutocannonResult) => void,
) => AutocannonInstance;

const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;

function cannon(request: LoadRequest, seconds: number, latencies?: number[]): Promise<AutocannonResult> {
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url: request.url,
        connections: request.connections,
        pipelining: request.pipelining,
        duration: seconds,
        headers: request.headers ?? {},
        // No `workers` option: one generator event loop is enough here, and more would fight the server for cores.
      },
      (error, result) => (error === null ? resolve(result) : reject(error)),
    );
    // autocannon's histogram keeps whole milliseconds; at loopback latencies that hides everything, so keep the
    // exact response times (a push per response costs the generator far less than the server spends on it).
    if (latencies !== undefined) {
      instance.on('response', (_client, statusCode, _bytes, responseTimeMs) => {
        if (statusCode >= 200 && statusCode < 300) latencies.push(responseTimeMs);
      });
    }
  });
}

async function run(request: LoadRequest): Promise<LoadRun> {
  if (request.warmupSeconds > 0) await cannon(request, request.warmupSeconds);
  const latencies: number[] = [];
  const result = await cannon(request, request.durationSeconds, latencies);
  return {
    ok2xx: result['2xx'],
    durationSeconds: result.duration,
    errors: result.errors,
    timeouts: result.timeouts,
    non2xx: result.non2xx,
    resets: result.resets,
    latenciesMs: Float64Array.from(latencies),
  };
}

async function answer(request: LoadRequest, post: (outcome: LoadOutcome) => void): Promise<void> {
  try {
    post({ ok: true, run: await run(request) });
  } catch (error) {
    post({ ok: false, error: error instanceof Error ? (error.stack ?? error.message) : String(error) });
  }
}

if (parentPort !== null) {
  const port = parentPort;
  await answer(workerData as LoadRequest, (outcome) => port.postMessage(outcome));
} else if (process.send !== undefined) {
  process.once('message', (request: LoadRequest) => {
    void answer(request, (outcome) => process.send?.(outcome, () => process.disconnect()));
  });
  // The parent went away: nothing to report to.
  process.once('disconnect', () => process.exit(0));
}
