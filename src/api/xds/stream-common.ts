// What the state-of-the-world and the delta ADS streams share: their dependencies, the counters they keep, the
// mapping of type URLs to resource kinds, and the pump that writes only when the client reads.
import type * as grpc from '@grpc/grpc-js';
import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import { clip } from '../../limits/bounded-text.ts';
import { LogThrottle } from '../../observability/log-throttle.ts';
import type { ResourceCatalog } from './catalog.ts';
import type { ServiceInterest, ServiceWatchers } from './subscriptions.ts';
import { TYPE_URL, type ResourceKind, type Status } from './wire.ts';

/** Counters of the xDS front door since it started (streams: currently open). */
export interface XdsStats {
  sotwStreams: number;
  deltaStreams: number;
  requests: number;
  responses: number;
  acks: number;
  nacks: number;
  staleRequests: number;
  resourcesSent: number;
}

export function emptyStats(): XdsStats {
  return {
    sotwStreams: 0,
    deltaStreams: 0,
    requests: 0,
    responses: 0,
    acks: 0,
    nacks: 0,
    staleRequests: 0,
    resourcesSent: 0,
  };
}

export interface StreamDeps {
  readonly catalog: ResourceCatalog;
  readonly watchers: ServiceWatchers;
  readonly stats: XdsStats;
  readonly logger: Logger;
  /** False until the sources' first sync: responses wait, so no client ever sees a premature "does not exist". */
  readonly synced: () => boolean;
  /** Unique per stream of this server instance: prefixes nonces. */
  readonly streamId: number;
  /** This server instance's id: suffix of every version, so two instances' versions never collide. */
  readonly instanceId: string;
  /** Resource names one stream may subscribe to, all types together (a wildcard counts as none). */
  readonly maxNamesPerStream: number;
  /** The client's remote address (what NACK logs and refusals are throttled by). */
  readonly client: string;
  /** The server's NACK log (throttled per client and type). */
  readonly nackLog: NackLog;
  /** Throttles the warning about a node locality that cannot be used, per client and fields wrong. */
  readonly localityLog: LogThrottle;
  /** Told when a stream is ended for breaking a limit (counted and logged as a refusal). */
  readonly onRefused: (reason: string, details: string) => void;
}

const KINDS = new Map<string, ResourceKind>(
  (Object.entries(TYPE_URL) as [ResourceKind, string][]).map(([kind, url]) => [url, kind]),
);

export function kindOfTypeUrl(typeUrl: string): ResourceKind | undefined {
  return KINDS.get(typeUrl);
}

/**
 * A response version from what it describes (`name@version` pairs): equal content, equal version. One resource's
 * version is its own (the common case of a client watching one assignment: no hashing per stream).
 */
export function versionOf(entries: Iterable<readonly [string, string]>, instanceId: string): string {
  const list = [...entries];
  if (list.length === 1 && list[0] !== undefined) return list[0][1];
  const hash = createHash('sha256');
  for (const [name, version] of list.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    hash.update(name).update('@').update(version).update('\n');
  }
  return `${hash.digest('base64url').slice(0, 16)}.${instanceId}`;
}

/** The most characters of a client's NACK message that are logged. */
export const MAX_LOGGED_NACK_CHARS = 512;

/**
 * The NACK log of the server: at most one line per client (remote address) and type URL per `everyMs`, saying how
 * many NACKs it stands for, with the client's message clipped. A client that NACKs in a loop (or with megabytes of
 * error text, or on many streams) thus costs a few bounded lines, while `endpointd_xds_nacks_total` still counts
 * every NACK. The clients remembered are bounded too (LRU).
 */
export class NackLog {
  readonly #logger: Logger;
  readonly #throttle: LogThrottle;

  constructor(logger: Logger, everyMs = 10_000, now: () => number = Date.now) {
    this.#logger = logger;
    this.#throttle = new LogThrottle(everyMs, 10_000, now);
  }

  log(client: string, fields: Readonly<Record<string, unknown>> & { typeUrl: string }, error: Status): void {
    const { log, notLogged } = this.#throttle.admit(`${client} ${fields.typeUrl}`);
    if (!log) return;
    this.#logger.warn(
      {
        client,
        ...fields,
        errorCode: error.code,
        error: clip(error.message, MAX_LOGGED_NACK_CHARS),
        // NACKs of this client and type that the throttle kept out of the log since its previous line.
        ...(notLogged > 0 ? { nacksNotLogged: notLogged } : {}),
      },
      'xDS client rejected a response (NACK)',
    );
  }
}

/** Counted for every NACK and logged (throttled), so that a resource a client cannot take is visible. */
export function reportNack(
  deps: StreamDeps,
  fields: { typeUrl: string; nonce: string; version: string; node: string | undefined; error: Status },
): void {
  deps.stats.nacks += 1;
  deps.nackLog.log(
    deps.client,
    {
      stream: deps.streamId,
      node: fields.node === undefined ? undefined : clip(fields.node),
      typeUrl: clip(fields.typeUrl),
      nonce: clip(fields.nonce),
      rejectedVersion: clip(fields.version),
    },
    fields.error,
  );
}

/**
 * Runs a stream's `flush` soon after anything is scheduled, and only while the call accepts writes: when the
 * client stops reading, flushes wait for 'drain', and what changes meanwhile stays in the stream's state, where the
 * latest version of each resource replaces the older one (bounded memory, no queue).
 */
export class StreamPump {
  readonly #call: grpc.ServerDuplexStream<unknown, unknown>;
  readonly #flush: () => void;
  readonly #synced: () => boolean;
  #scheduled = false;
  #blocked = false;
  #ended = false;

  constructor(call: grpc.ServerDuplexStream<unknown, unknown>, flush: () => void, synced: () => boolean) {
    this.#call = call;
    this.#flush = flush;
    this.#synced = synced;
  }

  get ended(): boolean {
    return this.#ended;
  }

  schedule(): void {
    if (this.#scheduled || this.#blocked || this.#ended) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      if (!this.#ended && !this.#blocked && this.#synced()) this.#flush();
    });
  }

  /** Writes one response; false means the call is full: stop writing, flush will run again on 'drain'. */
  write(message: unknown): boolean {
    if (this.#ended) return false;
    if (this.#call.write(message)) return true;
    this.#blocked = true;
    this.#call.once('drain', () => {
      this.#blocked = false;
      this.schedule();
    });
    return false;
  }

  /** Ends the call with `status` (e.g. UNAVAILABLE on shutdown) unless it has ended already. */
  end(status?: Partial<grpc.StatusObject>): void {
    if (this.#ended) return;
    this.#ended = true;
    if (status === undefined) this.#call.end();
    else this.#call.emit('error', status);
  }

  markEnded(): void {
    this.#ended = true;
  }
}

/** The part of a stream's per-type state that change notifications touch. */
export interface DirtyTracking {
  readonly wildcard: boolean;
  readonly dirty: Set<string>;
  allDirty: boolean;
}

/**
 * Marks, for the next flush, the names that belong to a changed Service (every name of a wildcard type). Costs the
 * names of the changed Services, found through `interest`, not a walk of every name the stream holds.
 */
export function markChanged(
  types: ReadonlyMap<string, DirtyTracking>,
  interest: ServiceInterest,
  serviceIds: ReadonlySet<string>,
): void {
  for (const state of types.values()) if (state.wildcard) state.allDirty = true;
  for (const id of serviceIds) {
    for (const [typeUrl, names] of interest.namesOf(id)) {
      const state = types.get(typeUrl);
      if (state === undefined || state.allDirty) continue;
      for (const name of names) state.dirty.add(name);
    }
  }
}

/** Wires a server call's events to a stream: requests in, end answered by ending, close/error run `closed` once. */
export function wireCall<Req>(
  call: grpc.ServerDuplexStream<Req, unknown>,
  onRequest: (request: Req) => void,
  pump: StreamPump,
  closed: () => void,
): void {
  call.on('data', onRequest);
  call.on('end', () => pump.end());
  call.on('close', closed);
  call.on('error', closed);
}
