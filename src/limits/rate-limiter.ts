// Per-client token buckets: each client may make `perSecond` requests a second on average and `burst` at once.
// Buckets live in a bounded LRU, so a flood of distinct clients costs bounded memory (an evicted client starts
// again with a full bucket, which errs on the side of serving).
import { LRUCache } from 'lru-cache';

export interface RateLimit {
  /** Tokens added per second. */
  readonly perSecond: number;
  /** Bucket size: requests a client may make at once after being idle. */
  readonly burst: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

export interface RateLimiterOptions {
  readonly now?: () => number;
  /** Clients remembered at once. Default 100 000. */
  readonly maxClients?: number;
}

export class RateLimiter {
  readonly limit: RateLimit;
  readonly #now: () => number;
  readonly #buckets: LRUCache<string, Bucket>;

  constructor(limit: RateLimit, options: RateLimiterOptions = {}) {
    if (!(limit.perSecond > 0) || !(limit.burst >= 1)) {
      throw new Error(
        `a rate limit needs perSecond > 0 and burst >= 1, got ${limit.perSecond}/s burst ${limit.burst}`,
      );
    }
    this.limit = limit;
    this.#now = options.now ?? Date.now;
    this.#buckets = new LRUCache({ max: options.maxClients ?? 100_000 });
  }

  /** Takes one token for `client`: 0 when allowed, else the ms until one will be there (nothing is taken then). */
  take(client: string): number {
    const known = this.#buckets.get(client);
    const bucket = this.#refill(known);
    // A known bucket was made the most recent by get(): only a new one is stored.
    if (known === undefined) this.#buckets.set(client, bucket);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 0;
    }
    return this.#waitMs(bucket);
  }

  /** Like `take`, but takes nothing: 0 when a token is there, else the ms until one will be. */
  peek(client: string): number {
    const known = this.#buckets.get(client);
    // A client never seen has a full bucket, and a burst is at least 1.
    if (known === undefined) return 0;
    const bucket = this.#refill(known);
    return bucket.tokens >= 1 ? 0 : this.#waitMs(bucket);
  }

  /** Gives back a token taken for something that turned out not to count (never beyond the burst). */
  giveBack(client: string): void {
    const known = this.#buckets.get(client);
    if (known === undefined) return;
    const bucket = this.#refill(known);
    bucket.tokens = Math.min(this.limit.burst, bucket.tokens + 1);
  }

  /** The client's bucket brought up to now (a full one, not yet stored, for a client never seen). */
  #refill(bucket: Bucket | undefined): Bucket {
    if (bucket === undefined) return { tokens: this.limit.burst, at: this.#now() };
    const now = this.#now();
    bucket.tokens = Math.min(
      this.limit.burst,
      bucket.tokens + ((now - bucket.at) * this.limit.perSecond) / 1000,
    );
    bucket.at = now;
    return bucket;
  }

  #waitMs(bucket: Bucket): number {
    return Math.ceil(((1 - bucket.tokens) * 1000) / this.limit.perSecond);
  }
}

/** Parses `N/s`, `N/m` (or a bare N per second); undefined for `off`, `0` or an empty value; NaN when malformed. */
export function parseRate(text: string): number | undefined {
  const value = text.trim().toLowerCase();
  if (value === '' || value === 'off' || value === '0') return undefined;
  const match = /^(\d+(?:\.\d+)?)\s*(?:\/\s*(s|sec|second|m|min|minute))?$/.exec(value);
  if (match === null) return Number.NaN;
  const n = Number(match[1]);
  return match[2]?.startsWith('m') === true ? n / 60 : n;
}
