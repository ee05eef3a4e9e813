// REST lookup throughput of the real endpointd against an express floor: the same load generator (wrk when it is
// installed, else autocannon), route shape, bytes and headers, in the same run, so the ratio says what endpointd
// costs on top of express itself.
import type { FloorPayload } from '../support/express-floor-child.ts';
import { endpointSlices, manifestDir, toManifest } from '../support/fixtures.ts';
import { spawnServer, type ServerChild } from '../support/child-server.ts';
import { startEndpointdProcess } from '../support/endpointd.ts';
import { runLoad, type LoadHost, type LoadResult } from '../support/load.ts';
import { result, type BenchResult } from '../support/report.ts';
import type { SuiteContext } from '../support/suite.ts';
import { findWrk, runWrk } from '../support/wrk.ts';

export const description =
  'REST lookup req/s and p99 of endpointd vs a bare express 5 app serving the same bytes';

const NAMESPACE = 'shop';
const SERVICE = 'checkout';
const PATH = `/v1/namespaces/${NAMESPACE}/services/${SERVICE}?port=http`;
const ROUTE = '/v1/namespaces/:namespace/services/:name';
/** Headers that must be equal on both sides (spelled as endpointd sends them), or the two would not do the same work. */
const REPLAYED_HEADERS = ['Content-Type', 'ETag', 'Cache-Control'] as const;

export async function run(context: SuiteContext): Promise<BenchResult[]> {
  const { quick, log } = context;
  // The machine is noisy (about one 4 s run in four came out 30–50% slow, on either side): alternate the sides so
  // drift hits both, and keep the best run of each. Three rounds, because with two a side is too often hit twice.
  const rounds = quick ? 1 : 3;
  const warmupSeconds = quick ? 1 : 2;
  const durationSeconds = quick ? 3 : 8;
  // A worker thread: measured as fast as a separate process here (see bench/README.md) and cheaper to start.
  const host = (process.env.BENCH_LOAD_HOST ?? 'worker') as LoadHost;
  // wrk spends about a third of autocannon's CPU per request (bench/README.md): on a small machine the generator
  // takes less from the servers, so the faster side is less held back. Both sides always get the same generator.
  const wrk = process.env.BENCH_REST_GENERATOR === 'autocannon' ? undefined : await findWrk();
  const generator = wrk?.available === true ? `wrk (${wrk.path})` : 'autocannon';
  log(`load generator: ${generator}${wrk !== undefined && !wrk.available ? ` — ${wrk.reason}` : ''}`);

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
  const servers: ServerChild[] = [];
  try {
    const subject = await startEndpointdProcess({ manifests: dir.path });
    servers.push(subject);
    const subjectUrl = `http://127.0.0.1:${subject.port}${PATH}`;
    const reference = await fetchOnce(subjectUrl);
    if (reference.status !== 200)
      throw new Error(`subject answered ${reference.status}: ${reference.body.toString()}`);
    log(`subject pid ${subject.pid} answers ${reference.body.byteLength} bytes`);

    const floor = await spawnServer(new URL('../support/express-floor-child.ts', import.meta.url), {
      payload: { route: ROUTE, body: reference.body, headers: reference.headers } satisfies FloorPayload,
    });
    servers.push(floor);
    const floorUrl = `http://127.0.0.1:${floor.port}${PATH}`;
    assertSameAnswer(reference, await fetchOnce(floorUrl), 'floor');

    const load = (url: string): Promise<LoadResult> => {
      const request = { url, connections: 10, pipelining: 1, warmupSeconds, durationSeconds };
      return wrk?.available === true ? runWrk(wrk.path, request) : runLoad(request, host);
    };
    const floorRuns: LoadResult[] = [];
    const subjectRuns: LoadResult[] = [];
    for (let round = 1; round <= rounds; round++) {
      for (const [label, url, runs] of [
        ['floor', floorUrl, floorRuns],
        ['subject', subjectUrl, subjectRuns],
      ] as const) {
        const measured = await load(url);
        runs.push(measured);
        log(
          `round ${round}/${rounds} ${label.padEnd(7)} ${Math.round(measured.requestsPerSecond)} req/s, ` +
            `p50 ${measured.p50Ms.toFixed(3)} ms, p99 ${measured.p99Ms.toFixed(3)} ms`,
        );
      }
    }
    // The load must not have changed what is served (e.g. an error path that is faster).
    assertSameAnswer(reference, await fetchOnce(subjectUrl), 'subject after load');

    const bestRps = (runs: readonly LoadResult[]): number =>
      Math.max(...runs.map((r) => r.requestsPerSecond));
    const bestP99 = (runs: readonly LoadResult[]): number => Math.min(...runs.map((r) => r.p99Ms));
    return [
      result('rest_lookup_rps', bestRps(subjectRuns), 'req/s', {
        name: 'express_floor_rps',
        value: bestRps(floorRuns),
      }),
      result('rest_lookup_p99_ms', bestP99(subjectRuns), 'ms', {
        name: 'express_floor_p99_ms',
        value: bestP99(floorRuns),
      }),
    ];
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
    await dir.remove();
  }
}

interface Answer {
  readonly status: number;
  readonly body: Buffer;
  readonly headers: Record<string, string>;
}

async function fetchOnce(url: string): Promise<Answer> {
  const response = await fetch(url);
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
