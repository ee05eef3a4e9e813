// One open watch stream: initial events or replay, live changes through the selector, bookmarks, timeouts, faults.

import type { ServerResponse } from 'node:http';
import { tooOldResourceVersion } from './status.ts';
import type { Faults } from './faults.ts';
import type { ResourceInfo } from './resources.ts';
import type { Selector } from './selectors.ts';
import type { ChangeRecord, Store } from './store.ts';
import type { KubeObject, WatchEventType } from './types.ts';

export interface WatchOptions {
  res: ServerResponse;
  info: ResourceInfo;
  namespace: string | undefined;
  labels: Selector;
  fields: Selector;
  store: Store;
  faults: Faults;
  /** Parsed `resourceVersion`; undefined for unset or "0". */
  resourceVersion: number | undefined;
  sendInitialEvents: boolean;
  bookmarkIntervalMs: number | undefined;
  timeoutMs: number;
  onClose: (stream: WatchStream) => void;
}

export class WatchStream {
  readonly #o: WatchOptions;
  readonly #queue: string[] = [];
  readonly #timers: NodeJS.Timeout[] = [];
  #pumping = false;
  #ending = false;
  #closed = false;
  #unsubscribe: () => void = () => {};
  #wake: (() => void) | undefined;

  constructor(options: WatchOptions) {
    this.#o = options;
  }

  get resource(): ResourceInfo {
    return this.#o.info;
  }

  /** Writes the headers at once (clients wait for them before anything else), then the first events. */
  start(): void {
    const { res, store } = this.#o;
    res.on('close', () => this.#cleanup());
    res.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' });
    res.flushHeaders();

    const rv = this.#o.resourceVersion;
    if (rv === undefined || this.#o.sendInitialEvents) {
      for (const obj of store.current(this.#o.info.name)) {
        if (this.#matches(obj)) this.#event('ADDED', obj);
      }
      if (this.#o.sendInitialEvents) {
        this.#event('BOOKMARK', this.#bookmarkObject({ 'k8s.io/initial-events-end': 'true' }));
      }
    } else {
      const changes = store.changesSince(this.#o.info.name, rv);
      if (changes === undefined) {
        this.#event('ERROR', tooOldResourceVersion(rv, store.floor));
        this.end();
        return;
      }
      for (const change of changes) this.#deliver(change);
    }
    // Subscribing in the same tick as the replay leaves no gap and no duplicate between the two.
    this.#unsubscribe = store.subscribe((change) => {
      if (change.resource === this.#o.info.name) this.#deliver(change);
    });
    if (this.#o.bookmarkIntervalMs !== undefined) {
      this.#timers.push(
        setInterval(() => {
          // A stalled stream sends nothing at all, bookmarks included.
          if (!this.#faults.isStalled('watch', this.#o.info.name, 'after-headers')) {
            this.#event('BOOKMARK', this.#bookmarkObject(undefined));
          }
        }, this.#o.bookmarkIntervalMs),
      );
    }
    this.#timers.push(setTimeout(() => this.end(), this.#o.timeoutMs));
  }

  get #faults(): Faults {
    return this.#o.faults;
  }

  #matches(obj: KubeObject | undefined): boolean {
    if (obj === undefined) return false;
    if (this.#o.namespace !== undefined && obj.metadata.namespace !== this.#o.namespace) return false;
    return this.#o.labels.matches(obj) && this.#o.fields.matches(obj);
  }

  /**
   * Enter/leave semantics: with a selector, starting to match is ADDED and stopping is DELETED. As the API
   * server's watch cache does (cacheWatcher.convertToWatchEvent), a leave carries the object as it was when it
   * last matched — the previous content — stamped with the resourceVersion of the change that made it leave.
   */
  #deliver(change: ChangeRecord): void {
    const now = this.#matches(change.object);
    const before = this.#matches(change.previous);
    if (change.type === 'ADDED') {
      if (now) this.#event('ADDED', change.object);
    } else if (change.type === 'DELETED') {
      if (before) this.#event('DELETED', change.object);
    } else if (before && now) {
      this.#event('MODIFIED', change.object);
    } else if (now) {
      this.#event('ADDED', change.object);
    } else if (before && change.previous !== undefined) {
      const previous = change.previous;
      this.#event('DELETED', {
        ...previous,
        metadata: { ...previous.metadata, resourceVersion: change.object.metadata.resourceVersion },
      });
    }
  }

  #bookmarkObject(annotations: Record<string, string> | undefined): KubeObject {
    const metadata: KubeObject['metadata'] = { resourceVersion: String(this.#o.store.resourceVersion) };
    if (annotations !== undefined) metadata.annotations = annotations;
    return { kind: this.#o.info.kind, apiVersion: this.#o.info.apiVersion, metadata };
  }

  #event(type: WatchEventType, obj: object): void {
    if (this.#closed || this.#ending) return;
    const object =
      type === 'ERROR' || type === 'BOOKMARK'
        ? obj
        : { kind: this.#o.info.kind, apiVersion: this.#o.info.apiVersion, ...obj };
    this.#queue.push(JSON.stringify({ type, object }) + '\n');
    void this.#pump();
  }

  /** The in-stream 410 a watch cache sends when it falls behind; the connection stays open. */
  sendExpired(): void {
    const rv = this.#o.store.resourceVersion;
    this.#event('ERROR', tooOldResourceVersion(rv, rv + 1));
  }

  async #sleep(ms: number): Promise<void> {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.#wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    this.#wake = undefined;
  }

  async #pump(): Promise<void> {
    if (this.#pumping) return;
    this.#pumping = true;
    try {
      while (!this.#closed) {
        if (this.#faults.isStalled('watch', this.#o.info.name, 'after-headers')) {
          const wait = this.#faults.waitForUnstall();
          this.#wake = wait.cancel;
          await wait.promise;
          this.#wake = undefined;
          continue;
        }
        const line = this.#queue.shift();
        if (line === undefined) break;
        const split = this.#faults.takeSplit();
        if (split === undefined) {
          this.#o.res.write(line);
          continue;
        }
        const size = Math.ceil(line.length / split.pieces);
        for (let i = 0; i < line.length && !this.#closed; i += size) {
          this.#o.res.write(line.slice(i, i + size));
          if (i + size < line.length) await this.#sleep(split.delayMs);
        }
      }
      if (this.#ending && this.#queue.length === 0 && !this.#closed) this.#o.res.end();
    } finally {
      this.#pumping = false;
    }
  }

  /** Clean end: what is queued is still written, then the chunked body is terminated. */
  end(): void {
    if (this.#closed) return;
    this.#ending = true;
    this.#unsubscribe();
    if (this.#faults.isStalled('watch', this.#o.info.name, 'after-headers')) {
      this.#queue.length = 0;
      this.#o.res.end();
      return;
    }
    void this.#pump();
  }

  /** Abrupt end: the TCP connection is torn down mid-stream. */
  destroy(): void {
    this.#o.res.socket?.destroy();
    this.#cleanup();
  }

  #cleanup(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#unsubscribe();
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.length = 0;
    this.#wake?.();
    this.#o.onClose(this);
  }
}
