// One list+watch loop for one resource collection, in the manner of client-go's Reflector: list (paged, by
// list-pager.ts) to learn the state and its resourceVersion, then watch from there with bookmarks and a server-side
// timeout, resuming from the last resourceVersion seen; relist on 410 Gone; back off with jitter on every other
// failure; go back to work on its own, forever, until stopped. A silent connection (no event, no bookmark) is cut
// and reopened. Time and randomness are injected (a Clock, a random()), so tests drive the backoff and the timers.
import { KUBERNETES_OPTIONS } from '../../config/options/sources.ts';
import type { Logger } from 'pino';
import { DEFAULT_BACKOFF, retryDelay, type BackoffPolicy, type FailureKind } from './backoff.ts';
import { deadline, sleep, SYSTEM_CLOCK, type Clock } from './clock.ts';
import { FailureLog } from './failure-log.ts';
import {
  describeFailure,
  ExpiredError,
  failureKind,
  failureSignature,
  IdleTimeoutError,
  ListTimeoutError,
  statusError,
} from './failures.ts';
import { KubeApiError, type KubeClient } from '../../kube/kube-client.ts';
import { listAllPages, listItemTransform } from './list-pager.ts';

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

/** Told of the state: handlers must not throw (a throw is logged and the object skipped, never the loop). */
export interface ReflectorHandler {
  /** The complete current state of the collection, after every (re)list: each item as `transform` left it. */
  replace(items: readonly unknown[]): void;
  /** One change, in the order the API server sent them. */
  apply(type: WatchEventType, object: unknown): void;
}

export interface ReflectorOptions {
  readonly client: KubeClient;
  /** The collection, e.g. `/apis/discovery.k8s.io/v1/endpointslices` or a namespaced form. */
  readonly path: string;
  readonly labelSelector?: string | undefined;
  readonly handler: ReflectorHandler;
  readonly logger: Logger;
  readonly pageSize?: number;
  /**
   * Applied to each listed item as its page arrives, so that only what it returns is held until the list is
   * complete (client-go's TransformFunc); must not throw. Default: listItemTransform(path) (list-pager.ts): for
   * EndpointSlices and Services the validated object, for anything else the item without `metadata.managedFields`.
   */
  readonly transform?: (item: unknown) => unknown;
  /** The server ends each watch after a random time in this range (seconds), as client-go asks. */
  readonly watchTimeoutSeconds?: readonly [number, number];
  /** No byte for this long (bookmarks come about once a minute) means the connection is dead: reopen it. */
  readonly idleTimeoutMs?: number;
  /** Bound of one list call (all its pages). */
  readonly listTimeoutMs?: number;
  readonly backoff?: Readonly<Record<FailureKind, BackoffPolicy>>;
  /** In [0, 1): the backoff's jitter and the watch timeout's pick. Default Math.random. */
  readonly random?: () => number;
  /** Default: the system clock. */
  readonly clock?: Clock;
  /**
   * Where failures and recoveries are logged; a source shares one between its reflectors so that one unreachable
   * API server is one log line, not one per collection. Default: one of its own, on `logger`.
   */
  readonly failureLog?: FailureLog;
  /** Told of each event the watch delivers (for metrics). */
  readonly onWatchEvent?: (type: string) => void;
  readonly onRelist?: (reason: RelistReason) => void;
  /**
   * Asked while the reflector is failing, before each new attempt and when a watch it asked for opens: true makes
   * it relist instead of resuming its watch, and stay failing until that list is in. A named cluster marked stale
   * relists so that it is current again only with the state the API server holds now: a resumed watch is open
   * before the events it missed arrive, and marking the cluster current then would serve its pre-outage endpoints
   * as current.
   */
  readonly relistAfterFailure?: () => boolean;
}

/** Why a list is made: the first one, after 410 Gone, after the first failed, after an outage (relistAfterFailure). */
export type RelistReason = 'initial' | 'expired' | 'retry' | 'outage';

export interface ReflectorStatus {
  /** The collection has been listed at least once. */
  readonly listed: boolean;
  /** Last time the reflector knew it was current (a list, an event or a bookmark), ms since the epoch. */
  readonly lastSyncAt: number | undefined;
  /** Why the last attempt failed, while failing. */
  readonly error: string | undefined;
}

export class Reflector {
  readonly #options: ReflectorOptions;
  readonly #random: () => number;
  readonly #clock: Clock;
  readonly #failureLog: FailureLog;
  readonly #stop = new AbortController();
  #resourceVersion: string | undefined;
  #listed = false;
  #lastSyncAt: number | undefined;
  #error: string | undefined;
  /** The current watch delivered something: the trouble before it is over, so the next one backs off afresh. */
  #watchReceived = false;
  #running: Promise<void> | undefined;
  #firstList: { promise: Promise<void>; resolve: () => void };

  constructor(options: ReflectorOptions) {
    this.#options = options;
    this.#random = options.random ?? Math.random;
    this.#clock = options.clock ?? SYSTEM_CLOCK;
    this.#failureLog =
      options.failureLog ??
      new FailureLog({
        logger: options.logger,
        clock: this.#clock,
        servingStateFrom: () => (this.#listed ? this.#lastSyncAt : undefined),
      });
    let resolve!: () => void;
    const promise = new Promise<void>((r) => (resolve = r));
    this.#firstList = { promise, resolve };
  }

  /** Starts the loop; resolves once the first list is in (it retries until it is, or until stopped). */
  start(): Promise<void> {
    this.#running ??= this.#run();
    return Promise.race([this.#firstList.promise, this.#running]);
  }

  async stop(): Promise<void> {
    this.#stop.abort(new Error('stopped'));
    this.#firstList.resolve();
    await this.#running;
  }

  status(): ReflectorStatus {
    return { listed: this.#listed, lastSyncAt: this.#lastSyncAt, error: this.#error };
  }

  async #run(): Promise<void> {
    const policies = this.#options.backoff ?? DEFAULT_BACKOFF;
    let failures = 0;
    let expiredInARow = 0;
    let relistReason: RelistReason = 'initial';
    while (!this.#stop.signal.aborted) {
      const started = this.#clock.now();
      if (this.#resourceVersion !== undefined && this.#relistAfterFailure()) {
        this.#resourceVersion = undefined;
        relistReason = 'outage';
      }
      try {
        if (this.#resourceVersion === undefined) {
          this.#options.onRelist?.(relistReason);
          await this.#list();
        }
        const received = await this.#watch();
        this.#error = undefined;
        if (received) {
          failures = 0;
          expiredInARow = 0;
        } else if (this.#clock.now() - started < 1000) {
          // A watch that ends at once with nothing in it must not become a tight loop.
          failures += 1;
          await this.#sleep(retryDelay(policies.network, failures, this.#random));
        }
      } catch (error) {
        if (this.#stop.signal.aborted) break;
        // A watch that worked for a while and then failed starts a new incident: do not carry the backoff of an
        // old one (it would delay recovery by up to the policy's maximum, however long ago that was).
        if (this.#watchReceived) {
          this.#watchReceived = false;
          failures = 0;
          expiredInARow = 0;
        }
        if (error instanceof OutageRelist) {
          this.#resourceVersion = undefined;
          relistReason = 'outage';
          continue;
        }
        if (error instanceof ExpiredError) {
          this.#resourceVersion = undefined;
          relistReason = 'expired';
          expiredInARow += 1;
          this.#options.logger.info(
            { path: this.#options.path },
            'resourceVersion expired (410 Gone): relisting',
          );
          // The first 410 relists at once; a storm of them backs off like any server trouble.
          if (expiredInARow > 1)
            await this.#sleep(retryDelay(policies.server, expiredInARow - 1, this.#random));
          continue;
        }
        failures += 1;
        const delay = this.#reportFailure(error, failures, policies);
        if (!this.#listed) relistReason = 'retry';
        await this.#sleep(delay);
      }
    }
  }

  /** Records why the attempt failed (status, log) and returns how long to wait before the next one. */
  #reportFailure(
    error: unknown,
    attempt: number,
    policies: Readonly<Record<FailureKind, BackoffPolicy>>,
  ): number {
    const kind = failureKind(error);
    const retryAfterMs = error instanceof KubeApiError ? error.retryAfterMs : undefined;
    const delay = retryDelay(policies[kind], attempt, this.#random, retryAfterMs);
    this.#error = describeFailure(error);
    this.#failureLog.failed({
      path: this.#options.path,
      kind,
      signature: failureSignature(error, this.#options.path),
      error: this.#error,
      attempt,
      retryInMs: delay,
      maxRetryMs: Math.max(policies[kind].maxMs, retryAfterMs ?? 0),
    });
    return delay;
  }

  /** Lists every page of the collection within the list timeout, then hands the whole state to the handler. */
  async #list(): Promise<void> {
    const { client, path, labelSelector, listTimeoutMs = 60_000 } = this.#options;
    const timeout = deadline(
      this.#clock,
      listTimeoutMs,
      () => new ListTimeoutError(`the list did not complete within ${listTimeoutMs} ms`),
    );
    let listed;
    try {
      listed = await listAllPages({
        client,
        path,
        labelSelector,
        pageSize: this.#options.pageSize ?? 500,
        transform: this.#options.transform ?? listItemTransform(path),
        signal: AbortSignal.any([this.#stop.signal, timeout.signal]),
      });
    } finally {
      timeout.cancel();
    }
    this.#resourceVersion = listed.resourceVersion;
    // Listed and no longer failing before the handler takes the items: what it decides from this reflector's
    // status while it writes them (a named cluster's staleness) must see the list that succeeded, not the failure
    // before it.
    this.#listed = true;
    this.#lastSyncAt = this.#clock.now();
    this.#error = undefined;
    this.#safely(() => this.#options.handler.replace(listed.items));
    this.#failureLog.recovered(path); // before the first list is announced: a recovery is told before the sync
    this.#firstList.resolve();
  }

  /** Watches until the server ends the stream; returns whether anything (event or bookmark) arrived. */
  async #watch(): Promise<boolean> {
    const { client, path, labelSelector, handler } = this.#options;
    const idleMs = this.#options.idleTimeoutMs ?? KUBERNETES_OPTIONS.watchIdleTimeoutMs.defaultValue;
    const [min, max] = this.#options.watchTimeoutSeconds ?? [300, 600];
    const timeoutSeconds = Math.round(min + this.#random() * (max - min));
    let received = false;
    this.#watchReceived = false;
    const idle = deadline(this.#clock, idleMs, () => new IdleTimeoutError(`no data for ${idleMs} ms`));
    try {
      await client.watch(
        path,
        {
          resourceVersion: this.#resourceVersion,
          allowWatchBookmarks: 'true',
          timeoutSeconds: String(timeoutSeconds),
          labelSelector,
        },
        AbortSignal.any([this.#stop.signal, idle.signal]),
        {
          onOpen: () => {
            // A watch asked for before the cluster was marked stale and accepted after: it must not make the
            // cluster current before the events it missed arrive; relist instead (relistAfterFailure).
            if (this.#relistAfterFailure()) throw new OutageRelist();
            // Connected and accepted: whatever failed before is over.
            this.#error = undefined;
            this.#failureLog.recovered(path);
          },
          onData: () => idle.restart(),
          onEvent: (event) => {
            this.#options.onWatchEvent?.(event.type);
            if (event.type === 'ERROR') throw statusError(event.object);
            const resourceVersion = resourceVersionOf(event.object);
            if (event.type === 'ADDED' || event.type === 'MODIFIED' || event.type === 'DELETED') {
              const type = event.type;
              this.#safely(() => handler.apply(type, event.object));
            } else if (event.type !== 'BOOKMARK') {
              return; // an event type this version does not know: skip it, as client-go does
            }
            if (resourceVersion !== undefined) this.#resourceVersion = resourceVersion;
            received = true;
            this.#watchReceived = true;
            this.#lastSyncAt = this.#clock.now();
          },
        },
      );
    } catch (error) {
      if (idle.signal.aborted && !this.#stop.signal.aborted) throw idle.signal.reason as Error;
      if (error instanceof KubeApiError && error.status === 410) throw new ExpiredError(error.message);
      throw error;
    } finally {
      idle.cancel();
    }
    return received;
  }

  /** Failing, and told to relist rather than resume (ReflectorOptions.relistAfterFailure). */
  #relistAfterFailure(): boolean {
    return this.#error !== undefined && this.#options.relistAfterFailure?.() === true;
  }

  #safely(work: () => void): void {
    try {
      work();
    } catch (error) {
      this.#options.logger.error(
        { err: error, path: this.#options.path },
        'handling a Kubernetes object failed',
      );
    }
  }

  #sleep(ms: number): Promise<void> {
    return sleep(this.#clock, ms, this.#stop.signal);
  }
}

/** A watch opened while its cluster is stale: dropped for a relist, its error kept until that list is in. */
class OutageRelist extends Error {
  constructor() {
    super('the cluster is stale: relisting instead of resuming the watch');
  }
}

function resourceVersionOf(object: unknown): string | undefined {
  const rv = (object as { metadata?: { resourceVersion?: unknown } } | null)?.metadata?.resourceVersion;
  return typeof rv === 'string' && rv !== '' ? rv : undefined;
}
