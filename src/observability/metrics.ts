// Prometheus metrics (prom-client) for the whole process, on one registry that `/metrics` serves. State that
// already lives elsewhere (store sizes, source sync times) is read at scrape time, never copied on the hot path.
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { gaugeOf, labelled, totalOf } from './metric-kinds.ts';
import { HttpSeries, type HttpRecorder } from './http-series.ts';
import type { Source } from '../sources/source.ts';
import type { EndpointStore } from '../store/endpoint-store.ts';

export interface MetricsOptions {
  readonly store: EndpointStore;
  readonly sources: readonly Source[];
  readonly now?: () => number;
}

/** What the gRPC and xDS doors report, read at scrape time; attached once they exist. */
export interface DoorStats {
  readonly grpcWatchStreams: () => number;
  readonly xds: () =>
    | {
        readonly sotwStreams: number;
        readonly deltaStreams: number;
        readonly requests: number;
        readonly responses: number;
        readonly acks: number;
        readonly nacks: number;
        readonly staleRequests: number;
        readonly resourcesSent: number;
      }
    | undefined;
}

export class Metrics {
  readonly registry = new Registry();
  /** REST requests by route (the route pattern, not the URL), method and status code, and their latency. */
  readonly #http: HttpSeries;
  /**
   * Kubernetes watch events by resource and type (ADDED, MODIFIED, DELETED, BOOKMARK, ERROR), and by cluster for
   * named clusters (`--cluster`; without, the label is absent).
   */
  readonly watchEvents: Counter<'resource' | 'type' | 'cluster'>;
  /** Lists by resource and reason: initial, expired (410), retry (after a failed first list); and cluster. */
  readonly relists: Counter<'resource' | 'reason' | 'cluster'>;
  /** Conflicts between named clusters as they appear: `address` (one IP in two clusters), type, headless, ports,
   * topologyMode, trafficDistribution. */
  readonly clusterConflicts: Counter<'kind'>;
  /** Requests refused before any work, by door and reason (bad_request, not_ready, …). */
  readonly rejected: Counter<'door' | 'reason'>;
  /** Open streams and waiting long-polls per front door, reported by each door. */
  readonly subscribers: Gauge<'door'>;
  #doors: DoorStats | undefined;
  constructor(options: MetricsOptions) {
    const { store, sources } = options;
    const now = options.now ?? Date.now;
    const registry = this.registry;
    collectDefaultMetrics({ register: registry });
    this.#http = new HttpSeries({
      registry,
      requestsName: 'endpointd_http_requests_total',
      requestsHelp: 'REST requests by route pattern, method and status code.',
      durationName: 'endpointd_http_request_duration_seconds',
      durationHelp:
        'REST request latency until the answer is complete (streams excluded), by route pattern and method.',
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5, 30, 300],
    });
    this.watchEvents = labelled(
      Counter,
      registry,
      'endpointd_kubernetes_watch_events_total',
      'Kubernetes watch events received, by resource and event type (and cluster, for --cluster clusters).',
      ['resource', 'type', 'cluster'],
    );
    this.relists = labelled(
      Counter,
      registry,
      'endpointd_kubernetes_lists_total',
      'Kubernetes full lists, by resource and reason (initial, expired = after 410 Gone, retry), and cluster.',
      ['resource', 'reason', 'cluster'],
    );
    this.clusterConflicts = labelled(
      Counter,
      registry,
      'endpointd_cluster_conflicts_total',
      'Conflicts between --cluster clusters as they appeared: address (the same IP from two clusters, both served), type, headless, ports, topologyMode, trafficDistribution (oldest Service wins).',
      ['kind'],
    );
    this.rejected = labelled(
      Counter,
      registry,
      'endpointd_rejected_requests_total',
      'Requests refused, by front door and reason.',
      ['door', 'reason'],
    );
    this.subscribers = labelled(
      Gauge,
      registry,
      'endpointd_subscribers',
      'Open watch streams and waiting long-polls, by front door.',
      ['door'],
    );
    const doors = (): DoorStats | undefined => this.#doors;
    gaugeOf(registry, 'endpointd_grpc_watch_streams', 'Open endpointd.v1.Discovery Watch streams.', () =>
      doors()?.grpcWatchStreams(),
    );
    gaugeOf(
      registry,
      'endpointd_xds_streams',
      'Open ADS streams, by variant (sotw = state of the world, delta).',
      () => {
        const stats = doors()?.xds();
        return stats && { sotw: stats.sotwStreams, delta: stats.deltaStreams };
      },
      'variant',
    );
    totalOf(
      registry,
      'endpointd_xds_requests_total',
      'ADS requests by outcome: ack, nack (the client rejected what we sent), stale (an old nonce, ignored).',
      () => {
        const stats = doors()?.xds();
        if (stats === undefined) return undefined;
        const { acks, nacks, staleRequests } = stats;
        const other = Math.max(0, stats.requests - acks - nacks - staleRequests);
        return { ack: acks, nack: nacks, stale: staleRequests, other };
      },
      'outcome',
    );
    totalOf(
      registry,
      'endpointd_xds_resources_sent_total',
      'xDS resources sent in responses.',
      () => doors()?.xds()?.resourcesSent,
    );
    /** One value per source, by its name (a source without a value is left out). */
    const perSource =
      (read: (source: Source) => number | undefined): (() => Record<string, number>) =>
      () => {
        const values: Record<string, number> = {};
        for (const source of sources) {
          const value = read(source);
          if (value !== undefined) values[source.name] = value;
        }
        return values;
      };
    gaugeOf(
      registry,
      'endpointd_source_synced',
      '1 once the source has read its initial state.',
      perSource((source) => (source.status().synced ? 1 : 0)),
      'source',
    );
    gaugeOf(
      registry,
      'endpointd_source_failing',
      '1 while the source is failing (its last known state is served, stale).',
      perSource((source) => (source.status().error === undefined ? 0 : 1)),
      'source',
    );
    gaugeOf(
      registry,
      'endpointd_source_seconds_since_sync',
      'Seconds since the source last knew it was current (a list, an event, a bookmark, a file read).',
      perSource((source) => {
        const at = source.status().lastSyncAt;
        return at === undefined ? undefined : Math.max(0, (now() - at) / 1000);
      }),
      'source',
    );
    /** One value per named cluster (`--cluster`), by its name. */
    const perCluster =
      (read: (cluster: NonNullable<ReturnType<Source['status']>['cluster']>) => number) =>
      (): Record<string, number> => {
        const values: Record<string, number> = {};
        for (const source of sources) {
          const cluster = source.status().cluster;
          if (cluster !== undefined) values[cluster.name] = read(cluster);
        }
        return values;
      };
    gaugeOf(
      registry,
      'endpointd_cluster_stale',
      '1 while a --cluster cluster is failing (or never answered): its last known endpoints are served, marked stale.',
      perCluster((cluster) => (cluster.stale ? 1 : 0)),
      'cluster',
    );
    gaugeOf(
      registry,
      'endpointd_cluster_listed',
      '1 once a --cluster cluster has been listed (0: endpointd became ready without it, after --cluster-ready-timeout).',
      perCluster((cluster) => (cluster.listed ? 1 : 0)),
      'cluster',
    );
    gaugeOf(registry, 'endpointd_services', 'Services held in the store.', () => store.stats().services);
    gaugeOf(
      registry,
      'endpointd_endpoints',
      'Endpoints held in the store, whatever their conditions.',
      () => store.stats().endpoints,
    );
    gaugeOf(
      registry,
      'endpointd_store_subscriptions',
      'Subscriptions to the store (every front door together).',
      () => store.stats().subscribers,
    );
    totalOf(
      registry,
      'endpointd_coalesced_updates_total',
      'Changes merged into a newer one before a slow subscriber took them (latest state wins).',
      () => store.stats().coalescedUpdates,
    );
    totalOf(
      registry,
      'endpointd_store_changes_total',
      'Changes of a service state published by the store (updates that changed nothing excluded).',
      () => store.stats().changes,
    );
    gaugeOf(
      registry,
      'endpointd_encoded_cache_bytes',
      'Bytes held by the cache of encoded answers (REST, gRPC and xDS forms together; --encoded-cache-size).',
      () => store.encoded.stats().bytes,
    );
    gaugeOf(
      registry,
      'endpointd_encoded_cache_entries',
      'Encoded answers held by the cache (REST, gRPC and xDS forms together).',
      () => store.encoded.stats().entries,
    );
    // Misses growing while bytes and entries sit at the bound: the cache thrashes (e.g. a client cycling through
    // distinct caller nodes or zones, each its own view on REST and gRPC), and encodings are made again.
    totalOf(
      registry,
      'endpointd_encoded_cache_hits_total',
      'Encoded answers served from the cache (REST, gRPC and xDS forms together).',
      () => store.encoded.stats().hits,
    );
    totalOf(
      registry,
      'endpointd_encoded_cache_misses_total',
      'Encoded answers not in the cache, made anew (a new state or view, or one the bound evicted).',
      () => store.encoded.stats().misses,
    );
  }

  /** Counts one REST request and, unless it was a stream, its duration. */
  observeHttp(route: string, method: string, code: number, seconds: number | undefined): void {
    this.#http.recorder(route, method)(code, seconds);
  }

  /** The recorder of one (route, method), for a handler that knows its route: a request adds to plain numbers. */
  httpRecorder(route: string, method: string): HttpRecorder {
    return this.#http.recorder(route, method);
  }

  /** Lets the scrape read the gRPC and xDS doors, which are created after the metrics. */
  attachDoors(doors: DoorStats): void {
    this.#doors = doors;
  }
}
