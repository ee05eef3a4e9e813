// Retry delays for failing list/watch calls: exponential with full jitter, so that many replicas restarting
// together do not hit the API server in step. Randomness is injected so tests can pin it.

export type FailureKind = 'network' | 'server' | 'auth';

export interface BackoffPolicy {
  readonly initialMs: number;
  readonly maxMs: number;
}

/**
 * Per kind of failure: a refused or reset connection retries fast and stays fast (it costs the API server nothing,
 * and a restarted API server is then followed within a second); 5xx and 429 back off further, but no more than
 * 1.6 s, so that the state converges within 2 s of the API server's recovery however long its trouble lasted (a 429
 * or 503 that says Retry-After waits that long instead); 401/403 need a human (or a token refresh), so they retry
 * slowly.
 */
export const DEFAULT_BACKOFF: Record<FailureKind, BackoffPolicy> = {
  network: { initialMs: 100, maxMs: 1_000 },
  server: { initialMs: 250, maxMs: 1_600 },
  auth: { initialMs: 2_000, maxMs: 30_000 },
};

/**
 * The delay before retry number `attempt` (1-based): a random point in [cap/2, cap], where cap doubles from
 * `initialMs` to `maxMs`. A `Retry-After` the server gave wins when it is longer.
 */
export function retryDelay(
  policy: BackoffPolicy,
  attempt: number,
  random: () => number,
  retryAfterMs?: number,
): number {
  const cap = Math.min(policy.maxMs, policy.initialMs * 2 ** Math.max(0, attempt - 1));
  const jittered = cap / 2 + (random() * cap) / 2;
  return Math.max(jittered, retryAfterMs ?? 0);
}
