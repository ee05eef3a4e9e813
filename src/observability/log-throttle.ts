// At most one log line per key and period: what a client can make happen again and again (a refusal, a NACK, a
// stream opened with a locality we cannot use) is logged when it starts and then at most once a period, each line
// saying how many it stands for, so that one client looping costs a few lines rather than the log. The keys
// remembered are bounded (LRU): a flood of distinct clients only forgets the oldest, and is logged as new.
import { LRUCache } from 'lru-cache';

/** What admit() decided: whether to log now, and how many earlier occurrences of the key were not logged. */
export interface Admission {
  readonly log: boolean;
  /** Occurrences of this key kept out of the log since its last line (0 on a key's first line). */
  readonly notLogged: number;
}

export class LogThrottle {
  readonly #everyMs: number;
  readonly #now: () => number;
  readonly #recent: LRUCache<string, { lastAt: number; notLogged: number }>;

  /**
   * @param everyMs at most one line per key in this period
   * @param maxKeys how many keys are remembered
   */
  constructor(everyMs: number, maxKeys = 10_000, now: () => number = Date.now) {
    this.#everyMs = everyMs;
    this.#now = now;
    this.#recent = new LRUCache({ max: maxKeys });
  }

  /** One occurrence of `key`: whether it is to be logged now. */
  admit(key: string): Admission {
    const now = this.#now();
    const recent = this.#recent.get(key);
    if (recent !== undefined && now - recent.lastAt < this.#everyMs) {
      recent.notLogged += 1;
      return { log: false, notLogged: recent.notLogged };
    }
    this.#recent.set(key, { lastAt: now, notLogged: 0 });
    return { log: true, notLogged: recent?.notLogged ?? 0 };
  }
}
