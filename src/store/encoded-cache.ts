// The one cache of encoded forms of service snapshots (REST JSON bodies and events, endpointd.v1 protobuf
// messages, xDS resources), each produced once per (service, version, form) and shared by every reader and
// subscriber. Encoding dominates CPU when many clients read the same state, so it must happen once per change,
// not once per client; lru-cache bounds it by bytes, one bound (`--encoded-cache-size`) for every door's forms.
import { LRUCache } from 'lru-cache';
import type { ServiceKey } from '../model.ts';

export interface EncodedCacheStats {
  readonly hits: number;
  readonly misses: number;
  readonly bytes: number;
  readonly entries: number;
}

/** What the cache holds: anything that says how many bytes it keeps alive (a Buffer does). */
export interface EncodedForm {
  readonly byteLength: number;
}

/** The state an encoded form was made from: a Service at one version ('' for "no such Service"). */
export interface EncodedState extends ServiceKey {
  readonly version: string;
}

/**
 * What one entry keeps alive besides its value's bytes: its key string (built, then flattened when hashed: counted
 * twice) and lru-cache's and its Map's slots, ~256 bytes measured on Node 24. Counted, so that the bound is one of
 * memory: small forms (a caller's version, 16 characters; an xDS assignment of a few endpoints) would otherwise
 * hold many times `--encoded-cache-size` (a client naming a new node at each request: ~25 times).
 */
export const ENTRY_OVERHEAD_BYTES = 256;

export class EncodedCache {
  readonly #cache: LRUCache<string, EncodedForm>;
  #hits = 0;
  #misses = 0;

  /**
   * @param maxBytes upper bound of the cached bytes, each entry counted with its key and bookkeeping; an entry
   * larger than that is encoded but not kept.
   */
  constructor(maxBytes: number) {
    this.#cache = new LRUCache<string, EncodedForm>({
      maxSize: maxBytes,
      sizeCalculation: (value, key) => value.byteLength + 2 * key.length + ENTRY_OVERHEAD_BYTES,
    });
  }

  /**
   * The form `form` of `state`, made with `encode` only when not cached. `form` must name every option that
   * changes the result (e.g. `rest:routable:port=http`), and one form is always made by the same encoder: that is
   * what makes the value under a key of the type its caller expects.
   */
  get<S extends EncodedState, T extends EncodedForm>(state: S, form: string, encode: (state: S) => T): T {
    const key = `${state.namespace}/${state.name}@${state.version}#${form}`;
    const cached = this.#cache.get(key);
    if (cached !== undefined) {
      this.#hits += 1;
      return cached as T;
    }
    this.#misses += 1;
    const value = encode(state);
    this.#cache.set(key, value);
    return value;
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
