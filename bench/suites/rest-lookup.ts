// REST lookup throughput of the real endpointd against an express floor: the same load generator (wrk when it is
// installed, else autocannon), route shape, bytes and headers, the same Node flags, in the same run, so the ratio
// says what endpointd costs on top of express itself. Floor and subject alternate in pairs whose order flips, each
// run warmed the same way, and the figures are medians with their spread (bench/README.md, "rest-lookup").
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FloorPayload } from '../support/express-floor-child.ts';
import { endpointSlices, manifestDir, toManifest } from '../support/fixtures.ts';
import { spawnServer, type ServerChild } from '../support/child-server.ts';
import { startEndpointdProcess } from '../support/endpointd.ts';
import { processCpuNs } from '../support/grpc-process-cpu.ts';
import { runLoad, type LoadHost, type LoadRequest, type LoadResult } from '../support/load.ts';
import { productionNodeFlags } from '../support/node-flags.ts';
import { result, type BenchResult } from '../support/report.ts';
import { max, median, min } from '../support/stats.ts';
import type { SuiteContext } from '../support/suite.ts';
import { findWrk, runWrk } from '../support/wrk.ts';

export const description =
  'REST lookup req/s, p99 and server CPU per request of endpointd vs a bare express 5 app serving the same bytes';

const NAMESPACE = 'shop';
const SERVICE = 'checkout';
const PATH = `/v1/namespaces/${NAMESPACE}/services/${SERVICE}?port=http`;
const ROUTE = '/v1/namespaces/:namespace/services/:name';
/** Headers that must be equal on both sides (spelled as endpointd sends them), or the two would not do the same work. */
const REPLAYED_HEADERS = ['Content-Type', 'ETag', 'Cache-Control'] as const;

export async function run(context: SuiteContext): Promise<BenchResult[]> {
  const { quick, log } = context;
  // The machine is shared and noisy: a run now and then comes out 30–50% slow, on either side, and the rate drifts
  // over a minute. So many short runs in pairs (floor and subject back to back, the order flipped every pair, so
  // that neither side is always the one after the other), and the medians, with the spread beside them.
  const pairs = Number(process.env.BENCH_REST_PAIRS ?? (quick ? 1 : 7));
  // Before the first pair, each server gets the same longer load: JIT tiers, the young generation grown to what
  // the load needs, connection pools. Before each measured run, the same short one (its caches warm again after
  // the other side's run).
  const firstWarmupSeconds = quick ? 1 : 3;
  const warmupSeconds = 1;
  const durationSeconds = quick ? 2 : 4;
  // The same Node flags for both: endpointd's production flags (npm start), so that only the code differs.
  // BENCH_REST_CPU_PROF=DIR: both write a V8 CPU profile there when they stop.
  const profileDir = process.env.BENCH_REST_CPU_PROF;
  const execArgv = [
    ...productionNodeFlags(),
    ...(profileDir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${profileDir}`]),
  ];
  // A worker thread: measured as fast as a separate process here (see bench/README.md) and cheaper to start.
  const host = (process.env.BENCH_LOAD_HOST ?? 'worker') as LoadHost;
  // wrk spends about a third of autocannon's CPU per request (bench/README.md): on a small machine the generator
  // takes less from the servers, so the faster side is less held back. Both sides always get the same generator.
  const wrk = process.env.BENCH_REST_GENERATOR === 'autocannon' ? undefined : await findWrk();
  const generator = wrk?.available === true ? `wrk (${wrk.path})` : 'autocannon';
  log(`load generator: ${generator}${wrk !== undefined && !wrk.available ? ` — ${wrk.reason}` : ''}`);
  log(`node flags of both servers: ${execArgv.join(' ') || '(none)'}`);

  const others = Array.from({ length: 40 }, (_, i) =>
    endpointSlices({
      namespace: `team-${i % 8}`,
      name: `svc-${i}`,
      slices: 1,
      endpointsPerSlice: 5,
      index: i + 1,
    }),
  );
  const dir = await manifestDir({
    // The looked-up service as the EndpointSlice controller would write it: 3 slices, 30 endpoints, 2 named ports.
    'checkout.yaml': toManifest(
      endpointSlices({ namespace: NAMESPACE, name: SERVICE, slices: 3, endpointsPerSlice: 10, index: 0 }),
    ),
    'others.yaml': toManifest(others.flat()),
  });
  // Every check on in the subject: bearer-token authentication (a tokens file), the per-client rate limit (at a
  // rate this load never reaches, so that it counts every request and refuses none), the request metrics, the
  // readiness gate. Every request of both sides carries the token; the floor ignores it.
  // BENCH_REST_CHECKS=default: endpointd's defaults instead (no authentication, no rate limit).
  const allChecks = process.env.BENCH_REST_CHECKS !== 'default';
  const token = randomBytes(24).toString('base64url');
  const tokensDir = await mkdtemp(join(tmpdir(), 'endpointd-bench-tokens-'));
  const tokensFile = join(tokensDir, 'tokens');
  await writeFile(tokensFile, `${token},bench-client\n`);
  const checkArgs = allChecks ? ['--auth-tokens-file', tokensFile, '--rate-limit-lookups', '1000000/s'] : [];
  const headers: Record<string, string> = allChecks ? { Authorization: `Bearer ${token}` } : {};
  log(
    allChecks
      ? 'subject checks: bearer-token authentication, rate limit 1000000/s per client, request metrics'
      : 'subject checks: endpointd defaults (BENCH_REST_CHECKS=default: no authentication, no rate limit)',
  );
  const servers: ServerChild[] = [];
  try {
    const subject = await startEndpointdProcess({ manifests: dir.path, extraArgs: checkArgs }, execArgv);
    servers.push(subject);
    const subjectUrl = `http://127.0.0.1:${subject.port}${PATH}`;
    if (allChecks && (await fetchOnce(subjectUrl, {})).status !== 401)
      throw new Error('subject answered a lookup without a token: authentication is not on');
    const reference = await fetchOnce(subjectUrl, headers);
    if (reference.status !== 200)
      throw new Error(`subject answered ${reference.status}: ${reference.body.toString()}`);
    log(`subject pid ${subject.pid} answers ${reference.body.byteLength} bytes`);

    const floor = await spawnServer(new URL('../support/express-floor-child.ts', import.meta.url), {
      payload: { route: ROUTE, body: reference.body, headers: reference.headers } satisfies FloorPayload,
      execArgv,
    });
    servers.push(floor);
    const floorUrl = `http://127.0.0.1:${floor.port}${PATH}`;
    assertSameAnswer(reference, await fetchOnce(floorUrl, headers), 'floor');

    const load = (url: string, warmup: number, duration: number): Promise<LoadResult> => {
      const request: LoadRequest = {
        url,
        connections: 10,
        pipelining: 1,
        warmupSeconds: warmup,
        durationSeconds: duration,
        headers,
      };
      return wrk?.available === true ? runWrk(wrk.path, request) : runLoad(request, host);
    };
    const sides = {
      floor: { server: floor, url: floorUrl, runs: [] as Measured[] },
      subject: { server: subject, url: subjectUrl, runs: [] as Measured[] },
    };
    for (const side of Object.values(sides)) await load(side.url, 0, firstWarmupSeconds);
    for (let pair = 1; pair <= pairs; pair++) {
      const order = pair % 2 === 1 ? (['floor', 'subject'] as const) : (['subject', 'floor'] as const);
      for (const label of order) {
        const side = sides[label];
        await load(side.url, 0, warmupSeconds);
        // The server's CPU over the measured run, per request: what a request costs the server, which other work
        // on the machine moves far less than the rate.
        const cpuBefore = await processCpuNs(side.server.pid);
        const measured = await load(side.url, 0, durationSeconds);
        const cpuAfter = await processCpuNs(side.server.pid);
        const cpuUsPerRequest =
          cpuBefore === undefined || cpuAfter === undefined
            ? Number.NaN
            : (cpuAfter - cpuBefore) / 1000 / measured.requests;
        side.runs.push({ ...measured, cpuUsPerRequest });
        log(
          `pair ${pair}/${pairs} ${label.padEnd(7)} ${Math.round(measured.requestsPerSecond)} req/s, ` +
            `p50 ${measured.p50Ms.toFixed(3)} ms, p99 ${measured.p99Ms.toFixed(3)} ms, ` +
            `server CPU ${cpuUsPerRequest.toFixed(1)} µs/request`,
        );
      }
    }
    // The load must not have changed what is served (e.g. an error path that is faster).
    assertSameAnswer(reference, await fetchOnce(subjectUrl, headers), 'subject after load');

    const floorRuns = sides.floor.runs;
    const subjectRuns = sides.subject.runs;
    const pairRatios = subjectRuns.map(
      (s, i) => s.requestsPerSecond / (floorRuns[i]?.requestsPerSecond ?? NaN),
    );
    const rps = (runs: readonly Measured[]): number => median(runs.map((r) => r.requestsPerSecond));
    const p99 = (runs: readonly Measured[]): number => median(runs.map((r) => r.p99Ms));
    const cpu = (runs: readonly Measured[]): number => median(runs.map((r) => r.cpuUsPerRequest));
    const spread = (runs: readonly Measured[]): string =>
      `${Math.round(min(runs.map((r) => r.requestsPerSecond)))}–${Math.round(max(runs.map((r) => r.requestsPerSecond)))}`;
    log(
      `medians of ${pairs} pair(s): subject ${Math.round(rps(subjectRuns))} req/s (${spread(subjectRuns)}), ` +
        `floor ${Math.round(rps(floorRuns))} req/s (${spread(floorRuns)}); ratio of each pair ` +
        `${pairRatios.map((r) => r.toFixed(2)).join(' ')}: median ${median(pairRatios).toFixed(3)}, ` +
        `${min(pairRatios).toFixed(2)}–${max(pairRatios).toFixed(2)}`,
    );
    return [
      result('rest_lookup_rps', rps(subjectRuns), 'req/s', {
        name: 'express_floor_rps',
        value: rps(floorRuns),
      }),
      result('rest_lookup_pair_ratio_median', median(pairRatios), 'ratio'),
      result('rest_lookup_pair_ratio_min', min(pairRatios), 'ratio'),
      result('rest_lookup_pair_ratio_max', max(pairRatios), 'ratio'),
      result('rest_lookup_p99_ms', p99(subjectRuns), 'ms', {
        name: 'express_floor_p99_ms',
        value: p99(floorRuns),
      }),
      result('rest_lookup_cpu_us_per_request', cpu(subjectRuns), 'µs', {
        name: 'express_floor_cpu_us_per_request',
        value: cpu(floorRuns),
      }),
    ];
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
    await dir.remove();
    await rm(tokensDir, { recursive: true, force: true });
  }
}

/** One measured run of one side, with what it cost the server. */
interface Measured extends LoadResult {
  readonly cpuUsPerRequest: number;
}

interface Answer {
  readonly status: number;
  readonly body: Buffer;
  readonly headers: Record<string, string>;
}

async function fetchOnce(url: string, sent: Record<string, string>): Promise<Answer> {
  const response = await fetch(url, { headers: sent });
  const headers: Record<string, string> = {};
  for (const name of REPLAYED_HEADERS) {
    const value = response.headers.get(name);
    if (value !== null) headers[name] = value;
  }
  return { status: response.status, body: Buffer.from(await response.arrayBuffer()), headers };
}

function assertSameAnswer(expected: Answer, actual: Answer, what: string): void {
  const problems: string[] = [];
  if (actual.status !== expected.status) problems.push(`status ${actual.status} != ${expected.status}`);
  if (!actual.body.equals(expected.body)) problems.push('body differs');
  for (const name of REPLAYED_HEADERS) {
    if (actual.headers[name] !== expected.headers[name]) {
      problems.push(`${name} ${actual.headers[name]} != ${expected.headers[name]}`);
    }
  }
  if (problems.length > 0)
    throw new Error(`${what} does not answer like the subject: ${problems.join(', ')}`);
}
