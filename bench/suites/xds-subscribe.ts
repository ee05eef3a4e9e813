// The cost of one delta ADS request as the stream's subscriptions grow: the same request (subscribe one more name,
// answered with it in removed_resources) on a stream that holds 9,000 names and on one that holds 10. A request
// must cost what it changes, not what the stream holds (issue: at 1 M names each request stalled the server for a
// second); the ratio of the two round trips is that promise measured. Server and client share this process: the
// client's work is the same in both, so it cannot make the ratio.
import * as grpc from '@grpc/grpc-js';
import { pino } from 'pino';
import { addXdsService } from '../../src/api/xds/index.ts';
import { adsServiceDefinition } from '../../src/api/xds/encoding.ts';
import { TYPE_URL } from '../../src/api/xds/wire.ts';
import { EndpointStore } from '../../src/store/endpoint-store.ts';
import { result, type BenchResult } from '../support/report.ts';
import { median, relativeSpread } from '../support/stats.ts';
import type { SuiteContext } from '../support/suite.ts';

export const description =
  'µs per delta ADS request (one more name) on a stream holding 9,000 names vs 10: cost per change';

const LARGE = 9000;
const SMALL = 10;

interface DeltaResponse {
  readonly removed_resources: readonly string[];
}

type DeltaCall = grpc.ClientDuplexStream<object, DeltaResponse>;

export async function run(context: SuiteContext): Promise<BenchResult[]> {
  const { quick, log } = context;
  const requestsPerRound = quick ? 100 : 300;
  const rounds = quick ? 3 : 7;
  const store = new EndpointStore({ encodedCacheBytes: 16 * 2 ** 20 });
  const server = new grpc.Server();
  const plane = addXdsService(server, {
    store,
    readiness: { synced: true },
    logger: pino({ level: 'silent' }),
    // Room for every round's new names on top of the large stream's.
    maxNamesPerStream: LARGE + (rounds + 1) * requestsPerRound + 100,
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, p) =>
      error === null ? resolve(p) : reject(error),
    ),
  );
  const Client = grpc.makeGenericClientConstructor(adsServiceDefinition, 'AggregatedDiscoveryService');
  const client = new Client(
    `127.0.0.1:${port}`,
    grpc.credentials.createInsecure(),
  ) as unknown as grpc.Client & {
    DeltaAggregatedResources(): DeltaCall;
  };
  try {
    const small = await openStream(client, 'small', SMALL);
    const large = await openStream(client, 'large', LARGE);
    log(`streams hold ${SMALL} and ${LARGE} names`);
    await small.time(requestsPerRound); // warm-up: JIT, first allocations
    await large.time(requestsPerRound);
    const smallUs: number[] = [];
    const largeUs: number[] = [];
    for (let round = 0; round < rounds; round++) {
      smallUs.push(await small.time(requestsPerRound));
      largeUs.push(await large.time(requestsPerRound));
    }
    const smallMedian = median(smallUs);
    const largeMedian = median(largeUs);
    log(
      `${SMALL} names: median ${smallMedian.toFixed(0)} µs (spread ${(relativeSpread(smallUs) * 100).toFixed(0)}%), ` +
        `${LARGE} names: median ${largeMedian.toFixed(0)} µs (spread ${(relativeSpread(largeUs) * 100).toFixed(0)}%)`,
    );
    small.call.cancel();
    large.call.cancel();
    return [
      result('xds_delta_request_us_9k_names', largeMedian, 'µs', {
        name: 'xds_delta_request_us_10_names',
        value: smallMedian,
      }),
    ];
  } finally {
    client.close();
    plane.closeStreams();
    server.forceShutdown();
  }
}

interface TimedStream {
  readonly call: DeltaCall;
  /** µs per request over `count` sequential requests, each subscribing one new name and awaiting its answer. */
  time(count: number): Promise<number>;
}

async function openStream(
  client: { DeltaAggregatedResources(): DeltaCall },
  prefix: string,
  names: number,
): Promise<TimedStream> {
  const call = client.DeltaAggregatedResources();
  const waiters: ((response: DeltaResponse) => void)[] = [];
  call.on('data', (response: DeltaResponse) => waiters.shift()?.(response));
  call.on('error', () => {});
  const next = (): Promise<DeltaResponse> => new Promise((resolve) => waiters.push(resolve));
  const name = (i: number): string => `${prefix}${i}.bench:8080`;
  const first = next();
  call.write({
    node: { id: prefix, locality: {} },
    type_url: TYPE_URL.endpoint,
    resource_names_subscribe: Array.from({ length: names }, (_, i) => name(i)),
  });
  await first;
  let counter = names;
  return {
    call,
    time: async (count) => {
      const started = process.hrtime.bigint();
      for (let i = 0; i < count; i++) {
        const answer = next();
        const added = name(counter++);
        call.write({ type_url: TYPE_URL.endpoint, resource_names_subscribe: [added] });
        const response = await answer;
        if (response.removed_resources[0] !== added) throw new Error(`unexpected answer for ${added}`);
      }
      return Number(process.hrtime.bigint() - started) / 1000 / count;
    },
  };
}
