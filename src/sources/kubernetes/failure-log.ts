// The log of a Kubernetes source's list/watch trouble, shared by its reflectors: a failure is logged once when it
// starts (with its retry schedule and what is served meanwhile), then at most once per `repeatEveryMs` while it
// lasts, and its end once at info. Retries of an unreachable API server come every second; logging each of them
// (times every collection watched) would bury every other line and tell nothing new.
import type { Logger } from 'pino';
import type { FailureKind } from './backoff.ts';
import { SYSTEM_CLOCK, type Clock } from './clock.ts';

/** One failed list or watch attempt, as the reflector that made it saw it. */
export interface FailureReport {
  /** The collection, e.g. `/apis/discovery.k8s.io/v1/endpointslices`. */
  readonly path: string;
  readonly kind: FailureKind;
  /** Tells one failure from another (see failureSignature): the same signature is the same trouble going on. */
  readonly signature: string;
  /** For people, e.g. `HTTP 403: endpointslices is forbidden: ...` or `fetch failed (ECONNREFUSED)`. */
  readonly error: string;
  /** How many attempts in a row have failed for this collection. */
  readonly attempt: number;
  /** When the next attempt is made. */
  readonly retryInMs: number;
  /** The longest wait between attempts this kind of failure backs off to. */
  readonly maxRetryMs: number;
}

export interface FailureLogOptions {
  readonly logger: Logger;
  readonly clock?: Clock;
  /** When the state being served was last known current (ms since the epoch); undefined: nothing to serve yet. */
  readonly servingStateFrom: () => number | undefined;
  /** While a failure lasts, how often it is logged again; default one minute. */
  readonly repeatEveryMs?: number;
}

interface Incident {
  readonly signature: string;
  /** The collections failing this way now; empty once all recovered (the record stays a while, see failed()). */
  readonly paths: Set<string>;
  readonly startedAt: number;
  /** When a failure line of this incident was last written. */
  lastLoggedAt: number;
  /** A failure line was written since the last recovery line: the next recovery is news. */
  announced: boolean;
  attempts: number;
  attemptsSinceLogged: number;
  latest: FailureReport;
}

export const DEFAULT_REPEAT_EVERY_MS = 60_000;

export class FailureLog {
  readonly #logger: Logger;
  readonly #clock: Clock;
  readonly #servingStateFrom: () => number | undefined;
  readonly #repeatEveryMs: number;
  readonly #bySignature = new Map<string, Incident>();
  readonly #byPath = new Map<string, Incident>();

  constructor(options: FailureLogOptions) {
    this.#logger = options.logger;
    this.#clock = options.clock ?? SYSTEM_CLOCK;
    this.#servingStateFrom = options.servingStateFrom;
    this.#repeatEveryMs = options.repeatEveryMs ?? DEFAULT_REPEAT_EVERY_MS;
  }

  /**
   * An attempt failed: logged if this failure is new, or has not been logged for `repeatEveryMs`. A failure that
   * comes back within `repeatEveryMs` of its last line (a connection that is accepted, then drops, again and again)
   * continues that incident instead of starting a new one, so that flapping cannot flood the log either.
   */
  failed(report: FailureReport): void {
    const now = this.#clock.now();
    this.#forgetQuietIncidents(now);
    const previous = this.#byPath.get(report.path);
    const incident = this.#bySignature.get(report.signature);
    if (previous !== undefined && previous !== incident) this.#leave(previous, report.path);
    if (incident === undefined) {
      const started: Incident = {
        signature: report.signature,
        paths: new Set([report.path]),
        startedAt: now,
        lastLoggedAt: now,
        announced: true,
        attempts: 1,
        attemptsSinceLogged: 0,
        latest: report,
      };
      this.#bySignature.set(report.signature, started);
      this.#byPath.set(report.path, started);
      this.#logStart(report);
      return;
    }
    incident.paths.add(report.path);
    this.#byPath.set(report.path, incident);
    incident.attempts += 1;
    incident.attemptsSinceLogged += 1;
    incident.latest = report;
    if (now - incident.lastLoggedAt >= this.#repeatEveryMs) {
      this.#logOngoing(incident, now);
      incident.lastLoggedAt = now;
      incident.attemptsSinceLogged = 0;
      incident.announced = true;
    }
  }

  /** The collection answers again (listed, or its watch accepted): the end of its failure is logged once. */
  recovered(path: string): void {
    const incident = this.#byPath.get(path);
    if (incident === undefined) return;
    this.#byPath.delete(path);
    incident.paths.delete(path);
    if (incident.paths.size > 0) return; // the same trouble goes on elsewhere: its end is told when that ends
    if (!incident.announced) return; // a flap inside an incident already told to be over
    incident.announced = false;
    const failedForMs = this.#clock.now() - incident.startedAt;
    this.#logger.info(
      { path, error: incident.latest.error, failedForMs, failedAttempts: incident.attempts },
      `the API server answers again, after ${seconds(failedForMs)} of failures (${incident.attempts} failed attempts)`,
    );
  }

  /** A collection that fails differently now: its old failure is over for it (the new one is logged instead). */
  #leave(incident: Incident, path: string): void {
    incident.paths.delete(path);
    this.#byPath.delete(path);
  }

  /** Incidents over for longer than `repeatEveryMs`: the same failure again is a new incident, logged at once. */
  #forgetQuietIncidents(now: number): void {
    for (const [signature, incident] of this.#bySignature) {
      if (incident.paths.size === 0 && now - incident.lastLoggedAt >= this.#repeatEveryMs)
        this.#bySignature.delete(signature);
    }
  }

  #logStart(report: FailureReport): void {
    const state = this.#state();
    const fields = {
      path: report.path,
      error: report.error,
      attempt: report.attempt,
      retryInMs: Math.round(report.retryInMs),
      maxRetryInMs: report.maxRetryMs,
      servingStateFrom: state.from,
    };
    const schedule = `retrying in ${seconds(report.retryInMs)}, then backing off to at most ${seconds(report.maxRetryMs)}`;
    if (report.kind === 'auth') {
      this.#logger.error(
        fields,
        `the API server refuses endpointd (check its credentials and RBAC): ${state.text}; ${schedule}`,
      );
    } else {
      this.#logger.warn(fields, `list/watch failed: ${state.text}; ${schedule}`);
    }
  }

  #logOngoing(incident: Incident, now: number): void {
    const state = this.#state();
    const { latest } = incident;
    const failingForMs = now - incident.startedAt;
    const fields = {
      path: latest.path,
      failingPaths: [...incident.paths],
      error: latest.error,
      attempt: latest.attempt,
      failingForMs,
      attemptsSinceLastLog: incident.attemptsSinceLogged,
      retryInMs: Math.round(latest.retryInMs),
      maxRetryInMs: latest.maxRetryMs,
      servingStateFrom: state.from,
    };
    const message = `still failing after ${seconds(failingForMs)} (${incident.attemptsSinceLogged} attempts since the last report): ${state.text}; retrying at most every ${seconds(latest.maxRetryMs)}`;
    if (latest.kind === 'auth') this.#logger.error(fields, message);
    else this.#logger.warn(fields, message);
  }

  #state(): { text: string; from: string | null } {
    const from = this.#servingStateFrom();
    if (from === undefined) return { text: 'no state yet', from: null };
    const iso = new Date(from).toISOString();
    return { text: `serving last known state from ${iso}`, from: iso };
  }
}

/** 100 → "0.1 s", 1234 → "1.2 s", 30000 → "30 s". */
function seconds(ms: number): string {
  const s = ms / 1000;
  return `${s < 10 ? (Math.round(s * 10) / 10).toString() : Math.round(s).toString()} s`;
}
