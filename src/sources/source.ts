// What every source of endpoint state (files, Kubernetes) offers the composition root.

export interface SourceStatus {
  /** The initial state has been read in full once. */
  readonly synced: boolean;
  /** When the source last knew it was up to date (ms since the epoch); undefined before the first sync. */
  readonly lastSyncAt: number | undefined;
  /** The last error, while the source is failing; undefined when healthy. */
  readonly error: string | undefined;
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
