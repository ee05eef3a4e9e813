// A named cluster's health as the others see it: how long its first list may keep endpointd from being ready (the
// ready wait), and when its failing watches make it stale in the cross-cluster merge. One dead cluster must not keep
// a replica unready forever, and a blip that heals at once must not rewrite every Service the cluster defines twice.
import type { Logger } from 'pino';
import type { SourceStatus } from '../source.ts';
import type { Clock, TimerHandle } from './clock.ts';
import type { NamedClusterOptions } from './kubernetes-source.ts';

/** What the health reads of the cluster's reflectors. */
export interface ReflectorStates {
  /** Every collection has been listed once. */
  allListed(): boolean;
  /** Some reflector's last list or watch failed. */
  anyFailing(): boolean;
}

export class ClusterHealth {
  readonly #cluster: NamedClusterOptions;
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #reflectors: ReflectorStates;
  /** The ready wait ran out before the first list: the source counts as synced, the cluster as stale. */
  #readyWaitOver = false;
  #failingSince: number | undefined;
  /** The next look at whether the cluster is stale (every 250 ms at most). */
  #timer: TimerHandle;
  #stopped = false;

  constructor(cluster: NamedClusterOptions, clock: Clock, logger: Logger, reflectors: ReflectorStates) {
    this.#cluster = cluster;
    this.#clock = clock;
    this.#logger = logger;
    this.#reflectors = reflectors;
  }

  get readyWaitOver(): boolean {
    return this.#readyWaitOver;
  }

  /**
   * Starts looking at staleness, then resolves once `listed` does or the ready timeout has passed, whichever is
   * first; after a timeout the cluster is marked as not listed yet, and it joins when it answers.
   */
  async waitForFirstList(listed: Promise<unknown>, describeError: () => string | undefined): Promise<void> {
    const clock = this.#clock;
    const cluster = this.#cluster;
    const interval = Math.min(250, cluster.staleAfterMs || 250);
    const poll = (): void => {
      if (this.#stopped) return;
      this.check();
      this.#timer = clock.setTimeout(poll, interval);
    };
    this.#timer = clock.setTimeout(poll, interval);
    let timer: TimerHandle;
    const waited = new Promise<'timeout'>((resolve) => {
      timer = clock.setTimeout(() => resolve('timeout'), cluster.readyTimeoutMs);
    });
    const outcome = await Promise.race([listed.then(() => 'listed' as const), waited]);
    clock.clearTimeout(timer);
    if (outcome === 'timeout' && !this.#reflectors.allListed()) {
      this.#readyWaitOver = true;
      this.#failingSince ??= clock.now();
      this.#logger.warn(
        { cluster: cluster.name, waitedMs: cluster.readyTimeoutMs, error: describeError() },
        'cluster not listed within --cluster-ready-timeout: ready without it; it joins when it answers',
      );
      this.check();
    }
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
  }

  /**
   * A named cluster is stale while its watches have failed for staleAfterMs, or while it has never been listed
   * past the ready wait. Tells the merge when that changes — or, with `write`, hands the staleness to it, to be
   * written with the shares the caller is writing (ClusterMerge.setShares), each Service once.
   */
  check(write?: (stale: boolean) => void): void {
    const cluster = this.#cluster;
    const now = this.#clock.now();
    const unlisted = !this.#reflectors.allListed();
    if (this.#reflectors.anyFailing() || (unlisted && this.#readyWaitOver)) this.#failingSince ??= now;
    else this.#failingSince = undefined;
    const stale =
      (unlisted && this.#readyWaitOver) ||
      (this.#failingSince !== undefined && now - this.#failingSince >= cluster.staleAfterMs);
    if (stale !== cluster.merge.isStale(cluster.name)) {
      this.#logger.warn(
        { cluster: cluster.name, stale },
        stale ? 'cluster marked stale' : 'cluster current again',
      );
      if (write === undefined) cluster.merge.setStale(cluster.name, stale);
    }
    write?.(stale);
  }

  /** The cluster's entry of the source's status (/readyz). */
  status(listed: boolean): NonNullable<SourceStatus['cluster']> {
    const cluster = this.#cluster;
    return {
      name: cluster.name,
      ...(cluster.region === undefined ? {} : { region: cluster.region }),
      listed,
      stale: cluster.merge.isStale(cluster.name),
    };
  }
}
