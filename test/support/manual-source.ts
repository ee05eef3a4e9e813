// A source whose sync state the test sets by hand: stands for a Kubernetes list still under way, or done.
import type { Source, SourceStatus } from '../../src/sources/source.ts';

export class ManualSource implements Source {
  readonly name = 'manual';
  synced: boolean;

  constructor(synced = true) {
    this.synced = synced;
  }

  start(): Promise<void> {
    return Promise.resolve();
  }

  stop(): Promise<void> {
    return Promise.resolve();
  }

  status(): SourceStatus {
    return { synced: this.synced, lastSyncAt: this.synced ? Date.now() : undefined, error: undefined };
  }
}
