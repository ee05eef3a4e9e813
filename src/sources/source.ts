// What every source of endpoint state (files, Kubernetes) offers the composition root.

export interface SourceStatus {
  /** The initial state has been read in full once. */
  readonly synced: boolean;
  /** When the source last knew it was up to date (ms since the epoch); undefined before the first sync. */
  readonly lastSyncAt: number | undefined;
  /** The last error, while the source is failing; undefined when healthy. */
  readonly error: string | undefined;
  /** Each thing wrong with the source's input (a file source's bad files), at most a bounded number of them. */
  readonly problems?: readonly SourceProblem[];
  /** How many problems there are in all, when `problems` had to leave some out. */
  readonly problemCount?: number;
  /** A named cluster's source (`--cluster`): which one, and whether its endpoints are served stale. */
  readonly cluster?: ClusterStatus;
}

export interface ClusterStatus {
  readonly name: string;
  readonly region?: string;
  /** Every collection has been listed once (false: ready only because the ready wait ran out). */
  readonly listed: boolean;
  /** Its watches are failing (or it never answered): its endpoints are the last known ones. */
  readonly stale: boolean;
}

/** One problem of a source's input, precise enough to find and fix: which file, which document, which field. */
export interface SourceProblem {
  readonly file: string;
  /** 1-based document of the file; absent when the problem is the file itself (unreadable, too large, a loop). */
  readonly document?: number;
  /** The field inside the document, e.g. `endpoints.0.addresses.0`, or `(document)`. */
  readonly field?: string;
  readonly message: string;
  /** 1-based, for syntax errors. */
  readonly line?: number;
  readonly column?: number;
}

export interface Source {
  /** Stable identity, e.g. `file:/etc/endpointd`: names the source in logs, conflicts and health. */
  readonly name: string;
  /** Starts reading; resolves once the initial state is in the store. Rejects only on a fatal configuration error. */
  start(): Promise<void>;
  /** Stops reading; the state it wrote stays in the store. */
  stop(): Promise<void>;
  status(): SourceStatus;
}
