// HTTP/1.1 load with wrk (a C generator): a warmup run, then the measured run, on `connections` keep-alive
// connections from one thread; req/s and latency percentiles (wrk's --latency, 10 µs resolution). Any socket error,
// timeout or non-2xx/3xx answer fails the run: a figure over errors would be meaningless.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { LoadRequest, LoadResult } from './load.ts';
import { findExecutable, type PeerAvailability } from './peers.ts';

export const WRK_INSTALL_HINT = 'apt-get install wrk';

/** wrk's binary (`BENCH_WRK` overrides the lookup on PATH), or why it cannot be used. */
export function findWrk(): Promise<PeerAvailability> {
  return findExecutable('wrk', 'BENCH_WRK', `wrk not installed: ${WRK_INSTALL_HINT}`);
}

/** `request.pipelining` must be 1: wrk pipelines only through a Lua script, which this harness does not use. */
export async function runWrk(binary: string, request: LoadRequest): Promise<LoadResult> {
  if (request.pipelining !== 1) throw new Error('runWrk: pipelining is not supported');
  if (request.warmupSeconds > 0) await wrk(binary, request, request.warmupSeconds);
  const run = await wrk(binary, request, request.durationSeconds);
  return {
    requestsPerSecond: run.requests / run.seconds,
    requests: run.requests,
    p50Ms: run.p50Ms,
    p99Ms: run.p99Ms,
    durationSeconds: run.seconds,
  };
}

interface WrkRun {
  readonly requests: number;
  readonly seconds: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
}

async function wrk(binary: string, request: LoadRequest, seconds: number): Promise<WrkRun> {
  const args = [
    `--connections=${request.connections}`,
    // One thread: enough for a C generator against one Node server, and more would take the server's cores.
    '--threads=1',
    `--duration=${seconds}s`,
    '--latency',
    ...Object.entries(request.headers ?? {}).flatMap(([name, value]) => ['--header', `${name}: ${value}`]),
    request.url,
  ];
  const { stdout } = await promisify(execFile)(binary, args, { timeout: (seconds + 30) * 1000 });
  return parseWrk(stdout, request.url);
}

/** Reads wrk 4's text summary. */
export function parseWrk(stdout: string, url: string): WrkRun {
  const total = /(\d+) requests in ([\d.]+)(us|ms|s|m),/.exec(stdout);
  const p50 = /^\s+50%\s+([\d.]+)(us|ms|s|m)$/m.exec(stdout);
  const p99 = /^\s+99%\s+([\d.]+)(us|ms|s|m)$/m.exec(stdout);
  if (total === null || p50 === null || p99 === null)
    throw new Error(`cannot read wrk's summary:\n${stdout}`);
  const errors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(stdout);
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(stdout);
  const failures =
    (errors === null ? 0 : errors.slice(1).reduce((sum, n) => sum + Number(n), 0)) +
    (non2xx === null ? 0 : Number(non2xx[1]));
  const requests = Number(total[1]);
  if (failures > 0 || requests === 0)
    throw new Error(`load against ${url} had failures: ${requests} requests, ${failures} failed\n${stdout}`);
  return {
    requests,
    seconds: toMs(total[2], total[3]) / 1000,
    p50Ms: toMs(p50[1], p50[2]),
    p99Ms: toMs(p99[1], p99[2]),
  };
}

const MS_PER_UNIT: Readonly<Record<string, number>> = { us: 0.001, ms: 1, s: 1000, m: 60_000 };

function toMs(value: string | undefined, unit: string | undefined): number {
  return Number(value) * (MS_PER_UNIT[unit ?? ''] ?? Number.NaN);
}
