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
    gaugeOf(registry, 'endpointd_grpc_watch_streams', 'Open endpointd.v1.Discovery Watch streams.', () =>
      doors()?.grpcWatchStreams(),
    );
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
    totalOf(
      registry,
      'endpointd_xds_resources_sent_total',
      'xDS resources sent in responses.',
      () => doors()?.xds()?.resourcesSent,
    );
    const perSource = (name: string, help: string, read: (source: Source) => number | undefined): void => {
      new Gauge({
        name,
        help,
        labelNames: ['source'],
        registers: [registry],
        collect() {
          for (const source of sources) {
            const value = read(source);
            if (value !== undefined) this.set({ source: source.name }, value);
          }
        },
      });
    };
    perSource('endpointd_source_synced', '1 once the source has read its initial state.', (source) =>
      source.status().synced ? 1 : 0,
    );
    perSource(
      'endpointd_source_failing',
      '1 while the source is failing (its last known state is served, stale).',
      (source) => (source.status().error === undefined ? 0 : 1),
    );
    perSource(
      'endpointd_source_seconds_since_sync',
      'Seconds since the source last knew it was current (a list, an event, a bookmark, a file read).',
      (source) => {
        const at = source.status().lastSyncAt;
        return at === undefined ? undefined : Math.max(0, (now() - at) / 1000);
      },
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

  /**
   * The recorder of one (route, method) for a handler that knows its route: its series per status code are
   * bound once, so a request costs an array read, not a label lookup.
   */
  httpRecorder(route: string, method: string): (code: number, seconds: number | undefined) => void {
    const duration = this.httpDuration.labels({ route, method });
    const byCode: { inc(): void }[] = [];
    return (code, seconds) => {
      let requests = byCode[code];
      if (requests === undefined) {
        requests = this.httpRequests.labels({ route, method, code: String(code) });
        byCode[code] = requests;
      }
      requests.inc();
      if (seconds !== undefined) duration.observe(seconds);
    };
  }

  /** Lets the scrape read the gRPC and xDS doors, which are created after the metrics. */
  attachDoors(doors: DoorStats): void {
    this.#doors = doors;
  }
}

/** A gauge read at scrape time; `read` undefined leaves it unset (what it reports does not exist yet). */
function gaugeOf(registry: Registry, name: string, help: string, read: () => number | undefined): void {
  new Gauge({
    name,
    help,
    registers: [registry],
    collect() {
      const value = read();
      if (value !== undefined) this.set(value);
    },
  });
}

/** A counter whose total is kept elsewhere (a door's or the store's stats), copied at scrape time. */
function totalOf(registry: Registry, name: string, help: string, read: () => number | undefined): void {
  new Counter({
    name,
    help,
    registers: [registry],
    collect() {
      const value = read();
      if (value === undefined) return;
      this.reset();
      this.inc(value);
    },
  });
}
