// Every refusal of a client, in one place: counted in `endpointd_rejected_requests_total{door,reason}` and logged
// at warn with the reason. The log is throttled per (door, reason, client), because a client that is refused is
// often one that retries fast, and a log line per refusal would let it flood the log.
import { LogThrottle } from '../observability/log-throttle.ts';
import type { Logger } from 'pino';
import type { Metrics } from '../observability/metrics.ts';

export type Door = 'rest' | 'grpc';

export interface Refusal {
  readonly door: Door;
  /** A short label: unauthenticated, rate_limited, too_many_streams, header_too_large, … */
  readonly reason: string;
  /** Who was refused: the identity or remote address. */
  readonly client: string;
  readonly detail: string;
}

export class Refusals {
  readonly #logger: Logger;
  readonly #metrics: Metrics | undefined;
  readonly #throttle: LogThrottle;

  /** @param logEveryMs at most one log line per (door, reason, client) in this period */
  constructor(logger: Logger, metrics: Metrics | undefined, logEveryMs = 10_000) {
    this.#logger = logger;
    this.#metrics = metrics;
    this.#throttle = new LogThrottle(logEveryMs);
  }

  record(refusal: Refusal): void {
    this.#metrics?.rejected.inc({ door: refusal.door, reason: refusal.reason });
    const { log, notLogged } = this.#throttle.admit(`${refusal.door} ${refusal.reason} ${refusal.client}`);
    if (!log) return;
    this.#logger.warn(
      {
        door: refusal.door,
        reason: refusal.reason,
        client: refusal.client,
        detail: refusal.detail,
        // Refusals of this client for this reason since the last line (all counted in the metric).
        ...(notLogged > 0 ? { refusalsNotLogged: notLogged } : {}),
      },
      'request refused',
    );
  }
}
