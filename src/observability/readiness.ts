// Readiness of the whole process: every source has synced once, and no shutdown has begun. The lookups answer
// once synced (a draining replica still answers correctly); /readyz turns false as soon as draining starts, so
// that load balancers stop sending new clients here first. A named cluster counts as synced once listed or once
// its ready wait (--cluster-ready-timeout) is over, so one dead cluster cannot keep a replica unready forever.
import type { ClusterStatus, Source, SourceProblem, SourceStatus } from '../sources/source.ts';

export interface ReadinessDetail {
  readonly ready: boolean;
  readonly synced: boolean;
  readonly shuttingDown: boolean;
  readonly sources: ReadonlyArray<{
    readonly name: string;
    readonly synced: boolean;
    readonly lastSyncAt: string | null;
    readonly error: string | null;
    /** What is wrong with the source's input, one entry per problem (file, document, field, message); bounded. */
    readonly problems: readonly SourceProblem[];
    /** All problems, including those the bounded list leaves out. */
    readonly problemCount: number;
    /** Only for a named cluster (`--cluster`): its name, region, whether it was listed, whether it is stale. */
    readonly cluster?: ClusterStatus;
  }>;
}

export class Readiness {
  readonly #sources: readonly Source[];
  #shuttingDown = false;
  /** Sources never un-sync: once all have, asking them again on every request is wasted work. */
  #syncedLatch = false;
  #clusterNames: readonly string[] | undefined;
  #held = false;

  constructor(sources: readonly Source[]) {
    this.#sources = sources;
  }

  /** Every source has read its initial state. */
  get synced(): boolean {
    this.#syncedLatch ||= this.#sources.every((s) => s.status().synced);
    return this.#syncedLatch;
  }

  get shuttingDown(): boolean {
    return this.#shuttingDown;
  }

  get ready(): boolean {
    return !this.#shuttingDown && !this.#held && this.synced;
  }

  /**
   * Keeps `ready` false, once synced too, until the returned function is called: for the one step the process takes
   * between its first sync and taking traffic (compose/endpointd.ts), so that no probe sees ready before it.
   */
  hold(): () => void {
    this.#held = true;
    return () => {
      this.#held = false;
    };
  }

  beginShutdown(): void {
    this.#shuttingDown = true;
  }

  /** The named clusters (`--cluster`), sorted: the doors refuse a `cluster` no source is. */
  clusterNames(): readonly string[] {
    this.#clusterNames ??= this.#sources
      .flatMap((s) => {
        const name = s.status().cluster?.name;
        return name === undefined ? [] : [name];
      })
      .sort();
    return this.#clusterNames;
  }

  detail(): ReadinessDetail {
    const sources = this.#sources.map((source) => describe(source.name, source.status()));
    const synced = sources.every((s) => s.synced);
    return {
      ready: synced && !this.#held && !this.#shuttingDown,
      synced,
      shuttingDown: this.#shuttingDown,
      sources,
    };
  }
}

function describe(name: string, status: SourceStatus): ReadinessDetail['sources'][number] {
  return {
    name,
    synced: status.synced,
    lastSyncAt: status.lastSyncAt === undefined ? null : new Date(status.lastSyncAt).toISOString(),
    error: status.error ?? null,
    problems: status.problems ?? [],
    problemCount: status.problemCount ?? status.problems?.length ?? 0,
    ...(status.cluster === undefined ? {} : { cluster: status.cluster }),
  };
}
