// Encoded forms of service snapshots (JSON bodies, protobuf messages, xDS resources), produced once per
// (service, version, form) and shared by every reader and subscriber. Encoding dominates CPU when many clients
// read the same state, so it must happen once per change, not once per client; lru-cache bounds it by bytes.
import { LRUCache } from 'lru-cache';
import type { ServiceSnapshot } from '../model.ts';

export interface EncodedCacheStats {
  readonly hits: number;
  readonly misses: number;
  readonly bytes: number;
  readonly entries: number;
}

export class EncodedCache {
  readonly #cache: LRUCache<string, Buffer>;
  #hits = 0;
  #misses = 0;

  /** @param maxBytes upper bound of the cached bytes; an entry larger than that is encoded but not kept. */
  constructor(maxBytes: number) {
    this.#cache = new LRUCache<string, Buffer>({
      maxSize: maxBytes,
      sizeCalculation: (value) => Math.max(1, value.byteLength),
    });
  }

  /**
   * The bytes of `snapshot` in `form`, encoding them with `encode` only when not cached. `form` must name every
   * option that changes the bytes (e.g. `rest:routable:port=http`).
   */
  get(snapshot: ServiceSnapshot, form: string, encode: (snapshot: ServiceSnapshot) => Buffer): Buffer {
    const key = `${snapshot.namespace}/${snapshot.name}@${snapshot.version}#${form}`;
    const cached = this.#cache.get(key);
    if (cached !== undefined) {
      this.#hits += 1;
      return cached;
    }
    this.#misses += 1;
    const bytes = encode(snapshot);
    this.#cache.set(key, bytes);
    return bytes;
  }

  stats(): EncodedCacheStats {
    return {
      hits: this.#hits,
      misses: this.#misses,
      bytes: this.#cache.calculatedSize,
      entries: this.#cache.size,
    };
  }
}
