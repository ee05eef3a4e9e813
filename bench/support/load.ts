// HTTP load generation for suites: runs autocannon away from the caller's event loop (a worker thread by default,
// or a child process) and returns req/s and latency percentiles at microsecond resolution.
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import { percentileOfSorted } from './stats.ts';

export interface LoadRequest {
  readonly url: string;
  readonly connections: number;
  readonly pipelining: number;
  /** Load applied and thrown away first (JIT, connection setup, CPU frequency). */
  readonly warmupSeconds: number;
  readonly durationSeconds: number;
  readonly headers?: Readonly<Record<string, string>>;
}

/** What the load generator measured, raw. */
export interface LoadRun {
  readonly ok2xx: number;
  readonly durationSeconds: number;
  readonly errors: number;
  readonly timeouts: number;
  readonly non2xx: number;
  readonly resets: number;
  /** Response time of every 2xx response of the measured run, in ms. */
  readonly latenciesMs: Float64Array;
}

export type LoadOutcome =
  { readonly ok: true; readonly run: LoadRun } | { readonly ok: false; readonly error: string };

export interface LoadResult {
  readonly requestsPerSecond: number;
  readonly requests: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly durationSeconds: number;
}

/**
 * Where autocannon runs. 'worker': a worker thread of this process (its own event loop and V8 heap; cheapest to
 * start). 'process': a child process (also its own GC and OS scheduling entity).
 */
export type LoadHost = 'worker' | 'process';

const WORKER = new URL('./load-worker.ts', import.meta.url);

/** Applies the load and fails if any request failed: a figure over errors would be meaningless. */
export async function runLoad(request: LoadRequest, host: LoadHost = 'worker'): Promise<LoadResult> {
  const outcome = host === 'worker' ? await inWorker(request) : await inProcess(request);
  if (!outcome.ok) throw new Error(`load generator failed: ${outcome.error}`);
  const run = outcome.run;
  const failures = run.errors + run.timeouts + run.non2xx;
  if (failures > 0 || run.ok2xx === 0) {
    throw new Error(
      `load against ${request.url} had failures: ${run.ok2xx} ok, ${run.non2xx} non-2xx, ${run.errors} errors, ${run.timeouts} timeouts`,
    );
  }
  const latencies = run.latenciesMs.sort();
  return {
    requestsPerSecond: run.ok2xx / run.durationSeconds,
    requests: run.ok2xx,
    p50Ms: percentileOfSorted(latencies, 50),
    p99Ms: percentileOfSorted(latencies, 99),
    durationSeconds: run.durationSeconds,
  };
}

async function inWorker(request: LoadRequest): Promise<LoadOutcome> {
  const worker = new Worker(WORKER, { workerData: request });
  try {
    const [outcome] = (await Promise.race([
      once(worker, 'message'),
      once(worker, 'error').then(([error]) => {
        throw error;
      }),
    ])) as [LoadOutcome];
    return outcome;
  } finally {
    await worker.terminate();
  }
}

async function inProcess(request: LoadRequest): Promise<LoadOutcome> {
  const child = fork(WORKER, [], {
    execArgv: [],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    serialization: 'advanced',
  });
  const exited = once(child, 'exit');
  try {
    const message = once(child, 'message');
    child.send(request);
    const [outcome] = (await Promise.race([
      message,
      exited.then(([code]) => {
        throw new Error(`load generator exited with code ${String(code)} before answering`);
      }),
    ])) as [LoadOutcome];
    return outcome;
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill();
    await exited;
  }
}
