// What the fault tests see through each front door of one endpointd: REST lookups, an SSE and an NDJSON watch
// stream, a gRPC Watch stream and a raw state-of-the-world ADS stream subscribed to ClusterLoadAssignments. Each
// observer keeps the latest state it was told (service name → first addresses of its endpoints), so that a test can
// ask "has every door converged to this?" and time it.
import type { ServiceBody, WatchEventBody } from '../../src/api/rest/wire.ts';
import { decodeMessage } from '../../src/api/xds/encoding.ts';
import { TYPE_URL } from '../../src/api/xds/wire.ts';
import { TestClient, type DecodedService, type DecodedWatchResponse } from './grpc-discovery.ts';
import { EventStream, get } from './http.ts';
import { rawSotw, type RawResponse, type RawStream } from './xds-harness.ts';

export const DOORS = ['rest', 'sse', 'ndjson', 'grpc', 'xds'] as const;
export type Door = (typeof DOORS)[number];

/** Service name → its endpoints' first addresses, sorted; a name that is not there is absent (unknown). */
export type Expected = ReadonlyMap<string, readonly string[] | undefined>;

export interface DoorObservers {
  /** Whether `door` currently shows `expected` (every listed name: its addresses, or absent). */
  matches(door: Door, expected: Expected): Promise<boolean>;
  /** Messages received per streaming door (to show they kept flowing). */
  readonly received: Readonly<Record<Exclude<Door, 'rest'>, number>>;
  /** Whether a streaming door's stream ended (it must not, while endpointd runs). */
  ended(door: Exclude<Door, 'rest'>): boolean;
  close(): void;
}

const sortedIps = (addresses: readonly string[]): string[] => [...addresses].sort();
const same = (a: readonly string[] | undefined, b: readonly string[] | undefined): boolean =>
  JSON.stringify(a) === JSON.stringify(b);

/**
 * Opens every observer on namespace `namespace` of the endpointd at `url` / `grpcPort`. `xdsNames` are the
 * services whose `{name}.{namespace}:{port}` assignments the ADS stream subscribes to (SotW: all of them at once).
 */
export async function openDoorObservers(options: {
  readonly url: string;
  readonly grpcPort: number;
  readonly namespace: string;
  readonly xdsNames: readonly string[];
  readonly xdsPort: number;
}): Promise<DoorObservers> {
  const { url, namespace } = options;
  const received = { sse: 0, ndjson: 0, grpc: 0, xds: 0 };
  let closed = false;

  // --- REST watch streams (SSE and NDJSON), on the namespace
  const streamState = { sse: new Map<string, string[]>(), ndjson: new Map<string, string[]>() };
  const streams = {
    sse: await EventStream.open(`${url}/v1/watch?namespace=${namespace}&endpoints=all`, {
      Accept: 'text/event-stream',
    }),
    ndjson: await EventStream.open(`${url}/v1/watch?namespace=${namespace}&endpoints=all`, {
      Accept: 'application/x-ndjson',
    }),
  };
  for (const format of ['sse', 'ndjson'] as const) {
    const stream = streams[format];
    const state = streamState[format];
    void (async () => {
      while (!closed) {
        let event;
        try {
          event = await stream.next(500);
        } catch {
          if (stream.ended) return;
          continue;
        }
        received[format] += 1;
        const data = event.data as unknown as WatchEventBody;
        if (data.type === 'ADDED' || data.type === 'MODIFIED') {
          state.set(data.name, sortedIps(data.service.endpoints.map((e) => e.addresses[0] ?? '')));
        } else if (data.type === 'DELETED') {
          state.delete(data.name);
        }
      }
    })();
  }

  // --- gRPC Watch, on the namespace
  const grpcClient = new TestClient(`127.0.0.1:${options.grpcPort}`);
  const grpcState = new Map<string, string[]>();
  const watch = grpcClient.watch({ namespace, endpoints: 'ENDPOINT_SET_ALL' });
  let grpcEnded = false;
  void (async () => {
    while (!closed) {
      let message: DecodedWatchResponse;
      try {
        message = await watch.next(500);
      } catch {
        if (watch.error !== undefined || closed) {
          grpcEnded = true;
          return;
        }
        continue;
      }
      received.grpc += 1;
      const put = (s: DecodedService): void => {
        grpcState.set(s.name, sortedIps(s.endpoints.map((e) => e.addresses[0] ?? '')));
      };
      if (message.event === 'added') put(message.added);
      else if (message.event === 'modified') put(message.modified);
      else if (message.event === 'deleted') grpcState.delete(message.deleted.name);
    }
  })();

  // --- xDS: SotW ADS, EDS of every name of interest, each response ACKed
  const resourceNames = options.xdsNames.map((name) => `${name}.${namespace}:${options.xdsPort}`);
  const xdsState = new Map<string, string[]>();
  const ads: RawStream<RawResponse> = rawSotw(options.grpcPort);
  ads.send({
    node: { id: 'fault-observer', locality: {} },
    type_url: TYPE_URL.endpoint,
    resource_names: resourceNames,
  });
  void (async () => {
    while (!closed) {
      let response: RawResponse;
      try {
        response = await ads.next(500);
      } catch {
        if (ads.status !== undefined) return;
        continue;
      }
      received.xds += 1;
      for (const resource of response.resources) {
        const cla = decodeMessage('envoy.config.endpoint.v3.ClusterLoadAssignment', resource.value) as {
          cluster_name?: string;
          endpoints?: Array<{
            lb_endpoints?: Array<{ endpoint: { address: { socket_address: { address: string } } } }>;
          }>;
        };
        const ips = (cla.endpoints ?? [])
          .flatMap((l) => l.lb_endpoints ?? [])
          .map((e) => e.endpoint.address.socket_address.address);
        const name = (cla.cluster_name ?? '').split('.')[0] ?? '';
        xdsState.set(name, sortedIps(ips));
      }
      ads.send({
        type_url: TYPE_URL.endpoint,
        resource_names: resourceNames,
        version_info: response.version_info,
        response_nonce: response.nonce,
      });
    }
  })();

  const matchesMap = (state: ReadonlyMap<string, string[]>, expected: Expected, emptyIsAbsent: boolean) => {
    for (const [name, ips] of expected) {
      const seen = state.get(name);
      if (emptyIsAbsent) {
        if (!same(seen ?? [], ips === undefined ? [] : sortedIps(ips))) return false;
      } else if (!same(seen, ips === undefined ? undefined : sortedIps(ips))) return false;
    }
    return true;
  };

  return {
    received,
    ended: (door) =>
      door === 'grpc'
        ? grpcEnded
        : door === 'xds'
          ? ads.status !== undefined
          : streams[door].ended && !closed,
    matches: async (door, expected) => {
      switch (door) {
        case 'rest': {
          const answers = await Promise.all(
            [...expected.keys()].map(async (name) => {
              const answer = await get(`${url}/v1/namespaces/${namespace}/services/${name}?endpoints=all`);
              if (answer.status === 404) return [name, undefined] as const;
              if (answer.status !== 200) throw new Error(`lookup ${name}: HTTP ${answer.status}`);
              const body = answer.json<ServiceBody>();
              return [name, sortedIps(body.endpoints.map((e) => e.addresses[0] ?? ''))] as const;
            }),
          );
          return answers.every(([name, ips]) => {
            const want = expected.get(name);
            return same(ips, want === undefined ? undefined : sortedIps(want));
          });
        }
        case 'sse':
        case 'ndjson':
          return matchesMap(streamState[door], expected, false);
        case 'grpc':
          return matchesMap(grpcState, expected, false);
        case 'xds':
          // SotW EDS tells a service that went away as an empty assignment.
          return matchesMap(xdsState, expected, true);
      }
    },
    close: () => {
      closed = true;
      streams.sse.close();
      streams.ndjson.close();
      watch.cancel();
      grpcClient.close();
      ads.close();
    },
  };
}

/**
 * Polls every door until it shows `expected`; resolves with each door's time (ms since `since`) of first match.
 * Rejects naming the doors that did not converge within `timeoutMs` of `since`.
 */
export async function timeToConverge(
  observers: DoorObservers,
  expected: Expected,
  since: number,
  timeoutMs = 10_000,
): Promise<Record<Door, number>> {
  const times = {} as Record<Door, number>;
  await Promise.all(
    DOORS.map(async (door) => {
      for (;;) {
        if (await observers.matches(door, expected)) {
          times[door] = performance.now() - since;
          return;
        }
        if (performance.now() - since > timeoutMs) {
          throw new Error(`door ${door} did not converge within ${timeoutMs} ms`);
        }
        await new Promise((resolve) => setTimeout(resolve, door === 'rest' ? 10 : 5));
      }
    }),
  );
  return times;
}
