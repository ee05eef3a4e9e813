// What a stream told a client, per resource name, with a version of the whole set kept up to date as entries
// change: each entry adds its own 64-bit hash to a running sum, so setting or removing one entry costs one hash
// and the set's version costs nothing to read — a response's cost follows what it changes, not what the stream
// holds.
import { createHash } from 'node:crypto';

const MASK = (1n << 64n) - 1n;

function entryHash(name: string, version: string): bigint {
  return createHash('sha256').update(name).update('@').update(version).digest().readBigUInt64BE(0);
}

export class VersionSet {
  readonly #versions = new Map<string, string>();
  readonly #instanceId: string;
  #sum = 0n;

  /** @param instanceId suffix of every set version, so that two server instances' versions never collide */
  constructor(instanceId: string, initial: Iterable<readonly [string, string]> = []) {
    this.#instanceId = instanceId;
    for (const [name, version] of initial) this.set(name, version);
  }

  get size(): number {
    return this.#versions.size;
  }

  get(name: string): string | undefined {
    return this.#versions.get(name);
  }

  has(name: string): boolean {
    return this.#versions.has(name);
  }

  keys(): IterableIterator<string> {
    return this.#versions.keys();
  }

  set(name: string, version: string): void {
    const old = this.#versions.get(name);
    if (old === version) return;
    if (old !== undefined) this.#sum -= entryHash(name, old);
    this.#sum = (this.#sum + entryHash(name, version)) & MASK;
    this.#versions.set(name, version);
  }

  /** True when `name` was there. */
  delete(name: string): boolean {
    const old = this.#versions.get(name);
    if (old === undefined) return false;
    this.#sum = (this.#sum - entryHash(name, old)) & MASK;
    this.#versions.delete(name);
    return true;
  }

  clear(): void {
    this.#versions.clear();
    this.#sum = 0n;
  }

  /** The version of the set: equal entries, equal version; one entry's version is its own. */
  version(): string {
    return this.#versionOf(this.#sum, this.#versions.size, () => this.#versions.values().next().value);
  }

  /** The version the set would have with `changes` applied (without applying them): costs one hash per change. */
  versionWith(changes: Iterable<{ readonly name: string; readonly version: string }>): string {
    let sum = this.#sum;
    let size = this.#versions.size;
    let last: string | undefined;
    for (const { name, version } of changes) {
      const old = this.#versions.get(name);
      if (old === version) continue;
      if (old === undefined) size += 1;
      else sum -= entryHash(name, old);
      sum = (sum + entryHash(name, version)) & MASK;
      last = version;
    }
    return this.#versionOf(sum, size, () => last ?? this.#versions.values().next().value);
  }

  #versionOf(sum: bigint, size: number, only: () => string | undefined): string {
    if (size === 1) {
      const version = only();
      if (version !== undefined) return version;
    }
    return `${sum.toString(36)}.${size}.${this.#instanceId}`;
  }
}
