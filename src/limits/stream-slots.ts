// Caps on long-lived streams (watch streams, long-polls, ADS): so many open in total on a door, so many per
// client. A stream holds a slot from its admission until it ends, whichever way it ends.

export interface StreamCaps {
  /** Streams open at once on the door; 0: no cap. */
  readonly total: number;
  /** Streams one client (remote address or identity) may hold at once; 0: no cap. */
  readonly perClient: number;
}

export type Admission =
  | { readonly admitted: true; readonly release: () => void }
  | {
      readonly admitted: false;
      readonly reason: 'too_many_streams' | 'too_many_client_streams';
      readonly limit: number;
    };

export class StreamSlots {
  readonly caps: StreamCaps;
  readonly #perClient = new Map<string, number>();
  #open = 0;

  constructor(caps: StreamCaps) {
    this.caps = caps;
  }

  /** Streams open now. */
  get open(): number {
    return this.#open;
  }

  /** Admits one more stream of `client`, or says which cap it would exceed. `release` is idempotent. */
  acquire(client: string): Admission {
    const { total, perClient } = this.caps;
    if (total > 0 && this.#open >= total)
      return { admitted: false, reason: 'too_many_streams', limit: total };
    const held = this.#perClient.get(client) ?? 0;
    if (perClient > 0 && held >= perClient) {
      return { admitted: false, reason: 'too_many_client_streams', limit: perClient };
    }
    this.#open += 1;
    this.#perClient.set(client, held + 1);
    let released = false;
    return {
      admitted: true,
      release: () => {
        if (released) return;
        released = true;
        this.#open -= 1;
        const left = (this.#perClient.get(client) ?? 1) - 1;
        if (left === 0) this.#perClient.delete(client);
        else this.#perClient.set(client, left);
      },
    };
  }
}
