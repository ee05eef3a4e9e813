// Readiness of the whole process: every source has synced once, and no shutdown has begun. The lookups answer
// once synced (a draining replica still answers correctly); /readyz turns false as soon as draining starts, so
// that load balancers stop sending new clients here first.
import type { Source, SourceProblem, SourceStatus } from '../sources/source.ts';

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
  }>;
}

export class Readiness {
  readonly #sources: readonly Source[];
  #shuttingDown = false;
  /** Sources never un-sync: once all have, asking them again on every request is wasted work. */
  #syncedLatch = false;

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
    return !this.#shuttingDown && this.synced;
  }

  beginShutdown(): void {
    this.#shuttingDown = true;
  }

  detail(): ReadinessDetail {
    const sources = this.#sources.map((source) => describe(source.name, source.status()));
    const synced = sources.every((s) => s.synced);
    return { ready: synced && !this.#shuttingDown, synced, shuttingDown: this.#shuttingDown, sources };
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
  };
}
