// The REST door's request counter and latency histogram, kept as plain numbers per (route, method, code) and
// written out only when /metrics is scraped. Why not prom-client's labelled children: each of their inc() and
// observe() calls validates and hashes its labels again, which on the lookup path cost about a tenth of a request
// (issue 15's REST row); here a request adds to numbers already found. The exposition is prom-client's own: both
// are prom-client metrics on the same registry whose values are read from these numbers at scrape time.
import { Counter, Histogram, type HistogramConfiguration, type Registry } from 'prom-client';

export type HttpLabel = 'route' | 'method' | 'code';

/** Records one request of a (route, method): its status code, and its duration unless it was a stream. */
export type HttpRecorder = (code: number, seconds: number | undefined) => void;

interface DurationSeries {
  readonly route: string;
  readonly method: string;
  /** Per bucket (upper bounds ascending, then +Inf), the observations that fell in it (not cumulative). */
  readonly counts: Float64Array;
  sum: number;
  count: number;
}

interface RequestSeries {
  readonly labels: Record<HttpLabel, string>;
  value: number;
}

export interface HttpSeriesOptions {
  readonly registry: Registry;
  readonly requestsName: string;
  readonly requestsHelp: string;
  readonly durationName: string;
  readonly durationHelp: string;
  /** Upper bounds in seconds, ascending. */
  readonly buckets: readonly number[];
}

export class HttpSeries {
  readonly #buckets: readonly number[];
  readonly #requests = new Map<string, RequestSeries>();
  readonly #durations = new Map<string, DurationSeries>();
  /** Recorders by `route method`: routes and methods are few (patterns, not URLs). */
  readonly #recorders = new Map<string, HttpRecorder>();

  constructor(options: HttpSeriesOptions) {
    this.#buckets = options.buckets;
    const requests = this.#requests;
    const durations = this.#durations;
    const buckets = this.#buckets;
    // prom-client calls `collect` before it reads a metric's values: each scrape starts from these numbers.
    new Counter<HttpLabel>({
      name: options.requestsName,
      help: options.requestsHelp,
      labelNames: ['route', 'method', 'code'],
      registers: [options.registry],
      collect() {
        this.reset();
        for (const series of requests.values()) this.inc(series.labels, series.value);
      },
    });
    new ScrapedHistogram(
      {
        name: options.durationName,
        help: options.durationHelp,
        labelNames: ['route', 'method'],
        buckets: [...buckets],
        registers: [options.registry],
      },
      () => durations.values(),
    );
  }

  /** The recorder of one (route, method); the same function for the same pair. */
  recorder(route: string, method: string): HttpRecorder {
    const id = `${route} ${method}`;
    let recorder = this.#recorders.get(id);
    if (recorder === undefined) {
      recorder = this.#newRecorder(route, method);
      this.#recorders.set(id, recorder);
    }
    return recorder;
  }

  #newRecorder(route: string, method: string): HttpRecorder {
    const buckets = this.#buckets;
    const duration: DurationSeries = {
      route,
      method,
      counts: new Float64Array(buckets.length + 1),
      sum: 0,
      count: 0,
    };
    const byCode: RequestSeries[] = [];
    let durationKnown = false;
    return (code, seconds) => {
      let requests = byCode[code];
      if (requests === undefined) {
        const labels = { route, method, code: String(code) };
        const id = `${route} ${method} ${labels.code}`;
        requests = this.#requests.get(id) ?? { labels, value: 0 };
        this.#requests.set(id, requests);
        byCode[code] = requests;
      }
      requests.value += 1;
      if (seconds === undefined) return;
      if (!durationKnown) {
        this.#durations.set(`${route} ${method}`, duration);
        durationKnown = true;
      }
      let bucket = 0;
      while (bucket < buckets.length && seconds > buckets[bucket]!) bucket += 1;
      duration.counts[bucket]! += 1;
      duration.sum += seconds;
      duration.count += 1;
    };
  }
}

/**
 * A prom-client Histogram whose values are the given series' numbers at scrape time; written in prom-client's
 * own layout (cumulative `_bucket` lines with `le` first, then `_sum` and `_count`), so the text is unchanged.
 */
class ScrapedHistogram extends Histogram<'route' | 'method'> {
  readonly #series: () => Iterable<DurationSeries>;
  readonly #bounds: readonly number[];
  readonly #name: string;
  readonly #help: string;

  constructor(
    config: HistogramConfiguration<'route' | 'method'> & { buckets: number[] },
    series: () => Iterable<DurationSeries>,
  ) {
    super(config);
    this.#series = series;
    this.#bounds = config.buckets;
    this.#name = config.name;
    this.#help = config.help;
  }

  override get(): Promise<HistogramValues> {
    const values: ScrapedValue[] = [];
    const bucketName = `${this.#name}_bucket`;
    for (const series of this.#series()) {
      const labels = { route: series.route, method: series.method };
      let cumulative = 0;
      this.#bounds.forEach((bound, i) => {
        cumulative += series.counts[i]!;
        values.push({ labels: { le: bound, ...labels }, value: cumulative, metricName: bucketName });
      });
      values.push({ labels: { le: '+Inf', ...labels }, value: series.count, metricName: bucketName });
      values.push({ labels, value: series.sum, metricName: `${this.#name}_sum` });
      values.push({ labels, value: series.count, metricName: `${this.#name}_count` });
    }
    const scraped = { name: this.#name, help: this.#help, type: 'histogram', values, aggregator: 'sum' };
    // prom-client's declared value type has no room for `le` (its own histogram adds it internally): the shape is
    // the one its registry reads (name, help, type, values with labels, value and metricName).
    return Promise.resolve(scraped as unknown as HistogramValues);
  }

  /** The registry prefers this one for the text form; the values are the same. */
  getForPromString(): Promise<HistogramValues> {
    return this.get();
  }
}

type HistogramValues = Awaited<ReturnType<Histogram<'route' | 'method'>['get']>>;

interface ScrapedValue {
  readonly labels: Readonly<Record<string, string | number>>;
  readonly value: number;
  readonly metricName: string;
}
