// How endpointd declares its Prometheus metrics: values read at scrape time from state kept elsewhere (one
// number, or one per label value), and labelled metrics the observing code sets.
import { Counter, Gauge, type Registry } from 'prom-client';

/** What a scrape reads: one number, or one per value of the metric's label; undefined leaves the metric as is. */
export type Reading = number | Readonly<Record<string, number>> | undefined;

/** Declares a metric read at scrape time (`label`: the label a record's keys are values of). */
type ScrapedMetric = (
  registry: Registry,
  name: string,
  help: string,
  read: () => Reading,
  label?: string,
) => void;

/** A gauge read at scrape time. */
export const gaugeOf: ScrapedMetric = (...args) => scraped('gauge', ...args);

/** A counter whose totals are kept elsewhere (a door's or the store's stats), copied at scrape time. */
export const totalOf: ScrapedMetric = (...args) => scraped('total', ...args);

function scraped(
  kind: 'gauge' | 'total',
  ...[registry, name, help, read, label]: Parameters<ScrapedMetric>
): void {
  const config = { name, help, labelNames: label === undefined ? [] : [label], registers: [registry] };
  const each = (value: Reading, write: (labels: Record<string, string>, value: number) => void): void => {
    if (typeof value === 'number') write({}, value);
    else if (value !== undefined && label !== undefined) {
      for (const [key, v] of Object.entries(value)) write({ [label]: key }, v);
    }
  };
  if (kind === 'gauge') {
    new Gauge({
      ...config,
      collect() {
        each(read(), (labels, value) => this.set(labels, value));
      },
    });
    return;
  }
  new Counter({
    ...config,
    collect() {
      const value = read();
      if (value === undefined) return;
      this.reset();
      each(value, (labels, v) => this.inc(labels, v));
    },
  });
}

/** A counter or gauge with labels, set by the code that observes it. */
export function labelled<L extends string, M>(
  Metric: new (config: { name: string; help: string; labelNames: readonly L[]; registers: Registry[] }) => M,
  registry: Registry,
  name: string,
  help: string,
  labelNames: readonly L[],
): M {
  return new Metric({ name, help, labelNames, registers: [registry] });
}
