// Prometheus metrics (prom-client) for the whole process, on one registry that `/metrics` serves. State that
// already lives elsewhere (store sizes, source sync times) is read at scrape time, never copied on the hot path.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
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
  /** REST requests by route (the route pattern, not the URL), method and status code. */
  readonly httpRequests: Counter<'route' | 'method' | 'code'>;
  readonly httpDuration: Histogram<'route' | 'method'>;
  /** Kubernetes watch events by resource and type (ADDED, MODIFIED, DELETED, BOOKMARK, ERROR). */
  readonly watchEvents: Counter<'resource' | 'type'>;
  /** Lists by resource and reason: initial, expired (410), retry (after a failed first list). */
  readonly relists: Counter<'resource' | 'reason'>;
  /** Requests refused before any work, by door and reason (bad_request, not_ready, …). */
  readonly rejected: Counter<'door' | 'reason'>;
  /** Open streams and waiting long-polls per front door, reported by each door. */
  readonly subscribers: Gauge<'door'>;
  #doors: DoorStats | undefined;
  /** Routes, methods and codes are few (route patterns, not URLs): this map stays small. */
  readonly #httpSeries = new Map<
    string,
    { readonly requests: { inc(): void }; readonly duration: { observe(value: number): void } }
  >();

  constructor(options: MetricsOptions) {
    const { store, sources } = options;
    const now = options.now ?? Date.now;
    const registry = this.registry;
    collectDefaultMetrics({ register: registry });
    this.httpRequests = new Counter({
      name: 'endpointd_http_requests_total',
      help: 'REST requests by route pattern, method and status code.',
      labelNames: ['route', 'method', 'code'],
      registers: [registry],
    });
    this.httpDuration = new Histogram({
      name: 'endpointd_http_request_duration_seconds',
      help: 'REST request latency until the answer is complete (streams excluded), by route pattern and method.',
      labelNames: ['route', 'method'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5, 30, 300],
      registers: [registry],
    });
    this.watchEvents = new Counter({
      name: 'endpointd_kubernetes_watch_events_total',
      help: 'Kubernetes watch events received, by resource and event type.',
      labelNames: ['resource', 'type'],
      registers: [registry],
    });
    this.relists = new Counter({
      name: 'endpointd_kubernetes_lists_total',
      help: 'Kubernetes full lists, by resource and reason (initial, expired = after 410 Gone, retry).',
      labelNames: ['resource', 'reason'],
      registers: [registry],
    });
    this.rejected = new Counter({
      name: 'endpointd_rejected_requests_total',
      help: 'Requests refused, by front door and reason.',
      labelNames: ['door', 'reason'],
      registers: [registry],
    });
    this.subscribers = new Gauge({
      name: 'endpointd_subscribers',
      help: 'Open watch streams and waiting long-polls, by front door.',
      labelNames: ['door'],
      registers: [registry],
    });
    const doors = (): DoorStats | undefined => this.#doors;
    new Gauge({
      name: 'endpointd_grpc_watch_streams',
      help: 'Open endpointd.v1.Discovery Watch streams.',
      registers: [registry],
      collect() {
        const stats = doors();
        if (stats !== undefined) this.set(stats.grpcWatchStreams());
      },
    });
    new Gauge({
      name: 'endpointd_xds_streams',
      help: 'Open ADS streams, by variant (sotw = state of the world, delta).',
      labelNames: ['variant'],
      registers: [registry],
      collect() {
        const stats = doors()?.xds();
        if (stats === undefined) return;
        this.set({ variant: 'sotw' }, stats.sotwStreams);
        this.set({ variant: 'delta' }, stats.deltaStreams);
      },
    });
    new Counter({
      name: 'endpointd_xds_requests_total',
      help: 'ADS requests by outcome: ack, nack (the client rejected what we sent), stale (an old nonce, ignored).',
      labelNames: ['outcome'],
      registers: [registry],
      collect() {
        const stats = doors()?.xds();
        if (stats === undefined) return;
        this.reset();
        this.inc({ outcome: 'ack' }, stats.acks);
        this.inc({ outcome: 'nack' }, stats.nacks);
        this.inc({ outcome: 'stale' }, stats.staleRequests);
        this.inc(
          { outcome: 'other' },
          Math.max(0, stats.requests - stats.acks - stats.nacks - stats.staleRequests),
        );
      },
    });
    new Counter({
      name: 'endpointd_xds_resources_sent_total',
      help: 'xDS resources sent in responses.',
      registers: [registry],
      collect() {
        const stats = doors()?.xds();
        if (stats === undefined) return;
        this.reset();
        this.inc(stats.resourcesSent);
      },
    });
    new Gauge({
      name: 'endpointd_source_synced',
      help: '1 once the source has read its initial state.',
      labelNames: ['source'],
      registers: [registry],
      collect() {
        for (const source of sources) this.set({ source: source.name }, source.status().synced ? 1 : 0);
      },
    });
    new Gauge({
      name: 'endpointd_source_failing',
      help: '1 while the source is failing (its last known state is served, stale).',
      labelNames: ['source'],
      registers: [registry],
      collect() {
        for (const source of sources)
          this.set({ source: source.name }, source.status().error === undefined ? 0 : 1);
      },
    });
    new Gauge({
      name: 'endpointd_source_seconds_since_sync',
      help: 'Seconds since the source last knew it was current (a list, an event, a bookmark, a file read).',
      labelNames: ['source'],
      registers: [registry],
      collect() {
        for (const source of sources) {
          const at = source.status().lastSyncAt;
          if (at !== undefined) this.set({ source: source.name }, Math.max(0, (now() - at) / 1000));
        }
      },
    });
    new Gauge({
      name: 'endpointd_services',
      help: 'Services held in the store.',
      registers: [registry],
      collect() {
        this.set(store.stats().services);
      },
    });
    new Gauge({
      name: 'endpointd_endpoints',
      help: 'Endpoints held in the store, whatever their conditions.',
      registers: [registry],
      collect() {
        this.set(store.stats().endpoints);
      },
    });
    new Gauge({
      name: 'endpointd_store_subscriptions',
      help: 'Subscriptions to the store (every front door together).',
      registers: [registry],
      collect() {
        this.set(store.stats().subscribers);
      },
    });
    new Counter({
      name: 'endpointd_coalesced_updates_total',
      help: 'Changes merged into a newer one before a slow subscriber took them (latest state wins).',
      registers: [registry],
      collect() {
        this.reset();
        this.inc(store.stats().coalescedUpdates);
      },
    });
    new Counter({
      name: 'endpointd_store_changes_total',
      help: 'Changes of a service state published by the store (updates that changed nothing excluded).',
      registers: [registry],
      collect() {
        this.reset();
        this.inc(store.stats().changes);
      },
    });
    new Gauge({
      name: 'endpointd_encoded_cache_bytes',
      help: 'Bytes held by the cache of encoded answers.',
      registers: [registry],
      collect() {
        this.set(store.encoded.stats().bytes);
      },
    });
  }

  /**
   * Counts one REST request and, unless it was a stream, its duration. The labelled series are looked up once per
   * (route, method, code) and kept: resolving labels costs more than the observation itself on the lookup path.
   */
  observeHttp(route: string, method: string, code: number, seconds: number | undefined): void {
    const key = `${route} ${method} ${code}`;
    let series = this.#httpSeries.get(key);
    if (series === undefined) {
      series = {
        requests: this.httpRequests.labels({ route, method, code: String(code) }),
        duration: this.httpDuration.labels({ route, method }),
      };
      this.#httpSeries.set(key, series);
    }
    series.requests.inc();
    if (seconds !== undefined) series.duration.observe(seconds);
  }

  /** Lets the scrape read the gRPC and xDS doors, which are created after the metrics. */
  attachDoors(doors: DoorStats): void {
    this.#doors = doors;
  }
}
