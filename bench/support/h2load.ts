// gRPC unary load with h2load (nghttp2's C load generator), so that the generator is never what saturates first:
// one request message, POSTed as a gRPC frame (content-type application/grpc, te: trailers) on `connections` h2c
// connections × `streams` concurrent streams, for a warmup then a measured duration. Returns req/s and latency
// percentiles from h2load's per-request log.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { findExecutable, type PeerAvailability } from './peers.ts';
import { percentileOfSorted } from './stats.ts';

export const H2LOAD_INSTALL_HINT = 'apt-get install nghttp2-client';

export interface GrpcLoadRequest {
  /** host:port of an h2c (plaintext HTTP/2) gRPC server. */
  readonly target: string;
  /** e.g. /endpointd.v1.Discovery/Resolve */
  readonly path: string;
  /** The serialized request message (without the gRPC frame header). */
  readonly message: Uint8Array;
  /**
   * The size of the serialized response message every call must carry. h2load sees HTTP status 200 even for a
   * failed gRPC call (grpc-status travels in the trailers, and a failed call has no DATA), so the run is checked by
   * its DATA bytes: a run where calls failed carries fewer. (The caller checks the content with a real client.)
   */
  readonly responseBytes: number;
  readonly connections: number;
  /** Concurrent streams (calls in flight) on each connection. */
  readonly streams: number;
  readonly warmupSeconds: number;
  readonly durationSeconds: number;
}

export interface GrpcLoadResult {
  readonly requestsPerSecond: number;
  readonly requests: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
}

/** h2load's binary (`BENCH_H2LOAD` overrides the lookup on PATH), or why it cannot be used. */
export function findH2load(): Promise<PeerAvailability> {
  return findExecutable('h2load', 'BENCH_H2LOAD', `h2load not installed: ${H2LOAD_INSTALL_HINT}`);
}

/** gRPC's length-prefixed message: a zero compression flag, a 4-byte big-endian length, the message. */
export function grpcFrame(message: Uint8Array): Buffer {
  const frame = Buffer.alloc(5 + message.byteLength);
  frame.writeUInt32BE(message.byteLength, 1);
  frame.set(message, 5);
  return frame;
}

/**
 * A warmup run, then the measured run (two h2load processes: with --warm-up-time, h2load 1.52's DATA and status
 * counters mix the two phases); fails if any call of either failed or the responses did not carry the expected bytes.
 */
export async function runGrpcLoad(binary: string, request: GrpcLoadRequest): Promise<GrpcLoadResult> {
  const dir = await mkdtemp(join(tmpdir(), 'bench-h2load-'));
  try {
    const dataFile = join(dir, 'request.bin');
    await writeFile(dataFile, grpcFrame(request.message));
    if (request.warmupSeconds > 0) await h2load(binary, request, dataFile, request.warmupSeconds, undefined);
    const logFile = join(dir, 'requests.tsv');
    const summary = await h2load(binary, request, dataFile, request.durationSeconds, logFile);
    const latencies = parseLatenciesMs(await readFile(logFile, 'utf8'));
    if (latencies.length !== summary.succeeded)
      throw new Error(`h2load logged ${latencies.length} calls, counted ${summary.succeeded}`);
    return {
      requestsPerSecond: summary.succeeded / request.durationSeconds,
      requests: summary.succeeded,
      p50Ms: percentileOfSorted(latencies, 50),
      p99Ms: percentileOfSorted(latencies, 99),
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function h2load(
  binary: string,
  request: GrpcLoadRequest,
  dataFile: string,
  seconds: number,
  logFile: string | undefined,
): Promise<Summary> {
  const args = [
    `--clients=${request.connections}`,
    `--max-concurrent-streams=${request.streams}`,
    // One native thread: a C event loop is far cheaper per call than either server, and more would take the
    // servers' cores on a small machine.
    '--threads=1',
    `--duration=${seconds}`,
    `--data=${dataFile}`,
    '--header=content-type: application/grpc',
    '--header=te: trailers',
    ...(logFile === undefined ? [] : [`--log-file=${logFile}`]),
    `http://${request.target}${request.path}`,
  ];
  const { stdout } = await promisify(execFile)(binary, args, {
    timeout: (seconds + 30) * 1000,
    maxBuffer: 4 * 2 ** 20,
  });
  const summary = parseSummary(stdout);
  const failed =
    summary.failed + summary.errored + summary.timeout + Math.max(0, summary.succeeded - summary.ok2xx);
  if (failed > 0 || summary.succeeded === 0) {
    throw new Error(`h2load ${request.path}: ${summary.succeeded} succeeded, ${failed} failed\n${stdout}`);
  }
  // Every 2xx response carries one whole message, except those h2load cut off when the duration ended: every call
  // in flight then (up to `streams` on each connection) may have had its headers and part of its message, or none
  // of it. A call that failed inside gRPC carries no message at all.
  const frame = 5 + request.responseBytes;
  const most = summary.ok2xx * frame;
  const inFlightAtEnd = request.connections * request.streams;
  if (summary.dataBytes > most || summary.dataBytes < most - inFlightAtEnd * frame) {
    throw new Error(
      `h2load ${request.path}: ${summary.dataBytes} DATA bytes for ${summary.ok2xx} 2xx responses of ${frame} ` +
        `bytes: some calls failed inside gRPC\n${stdout}`,
    );
  }
  return summary;
}

interface Summary {
  readonly succeeded: number;
  readonly failed: number;
  readonly errored: number;
  readonly timeout: number;
  readonly ok2xx: number;
  readonly dataBytes: number;
}

/** The counters of h2load's summary ("requests: …", "status codes: …", "traffic: … (N) data"). */
function parseSummary(stdout: string): Summary {
  const requests =
    /requests: \d+ total, \d+ started, \d+ done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout/.exec(
      stdout,
    );
  const status = /status codes: (\d+) 2xx/.exec(stdout);
  const data = /\((\d+)\) data/.exec(stdout);
  if (requests === null || status === null || data === null)
    throw new Error(`cannot read h2load's summary:\n${stdout}`);
  return {
    succeeded: Number(requests[1]),
    failed: Number(requests[2]),
    errored: Number(requests[3]),
    timeout: Number(requests[4]),
    ok2xx: Number(status[1]),
    dataBytes: Number(data[1]),
  };
}

/** The third column of the log (µs until the end of the response) of every 2xx row, in ms, sorted. */
function parseLatenciesMs(log: string): Float64Array {
  const latencies: number[] = [];
  for (const line of log.split('\n')) {
    const [, status, micros] = line.split('\t');
    if (status === '200' && micros !== undefined) latencies.push(Number(micros) / 1000);
  }
  return Float64Array.from(latencies).sort();
}
