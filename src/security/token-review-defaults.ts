// How long TokenReview answers are believed, on their own so that --help can name them without loading the
// Kubernetes client (src/security/token-review.ts imports it; the options do not).
export const TOKEN_REVIEW_DEFAULTS = {
  /** How long an accepted token is believed. */
  acceptedTtlMs: 60_000,
  /** How long a refused token stays refused. */
  refusedTtlMs: 10_000,
  /** Distinct tokens remembered. */
  maxEntries: 10_000,
  /** A review that takes longer fails. */
  timeoutMs: 5_000,
} as const;
