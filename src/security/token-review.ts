// Kubernetes TokenReview: asks the API server who a bearer token belongs to (clients inside a cluster present
// their service-account tokens). Answers are cached briefly, by the token's hash, so that a busy client costs one
// review per TTL and not one per request; concurrent requests with the same token share one review. Reviews go
// through the project's Kubernetes client (src/kube), on the same credentials and TLS as the Kubernetes source.
import { createHash } from 'node:crypto';
import type { KubeConfig } from '@kubernetes/client-node';
import { LRUCache } from 'lru-cache';
import { KubeApiError, KubeClient } from '../kube/kube-client.ts';
import { TOKEN_REVIEW_DEFAULTS } from './token-review-defaults.ts';

export const TOKEN_REVIEWS_PATH = '/apis/authentication.k8s.io/v1/tokenreviews';

export type Review =
  | { readonly authenticated: true; readonly username: string }
  | { readonly authenticated: false; readonly error: string };

export interface TokenReviewerOptions {
  /** Credentials of endpointd itself; it needs RBAC `create tokenreviews` (system:auth-delegator). */
  readonly config: KubeConfig;
  /** How long an accepted token is believed, in ms. Default TOKEN_REVIEW_DEFAULTS.acceptedTtlMs. */
  readonly positiveTtlMs?: number;
  /** How long a refused token stays refused, in ms. Default TOKEN_REVIEW_DEFAULTS.refusedTtlMs. */
  readonly negativeTtlMs?: number;
  /** Distinct tokens remembered. Default TOKEN_REVIEW_DEFAULTS.maxEntries. */
  readonly maxEntries?: number;
  /** A review that takes longer fails, in ms. Default TOKEN_REVIEW_DEFAULTS.timeoutMs. */
  readonly timeoutMs?: number;
}

export class TokenReviewer {
  readonly #client: KubeClient;
  readonly #positiveTtlMs: number;
  readonly #negativeTtlMs: number;
  readonly #timeoutMs: number;
  readonly #cache: LRUCache<string, Review>;
  readonly #inflight = new Map<string, Promise<Review>>();
  /** Reviews sent to the API server (for tests and metrics). */
  reviews = 0;

  constructor(options: TokenReviewerOptions) {
    this.#client = new KubeClient(options.config);
    this.#positiveTtlMs = options.positiveTtlMs ?? TOKEN_REVIEW_DEFAULTS.acceptedTtlMs;
    this.#negativeTtlMs = options.negativeTtlMs ?? TOKEN_REVIEW_DEFAULTS.refusedTtlMs;
    this.#timeoutMs = options.timeoutMs ?? TOKEN_REVIEW_DEFAULTS.timeoutMs;
    this.#cache = new LRUCache({
      max: options.maxEntries ?? TOKEN_REVIEW_DEFAULTS.maxEntries,
      ttl: this.#positiveTtlMs,
      ttlAutopurge: false,
    });
  }

  /**
   * The answer for `token` without asking the API server: the cached one, or the review already being asked;
   * undefined when only a new review can tell.
   */
  known(token: string): Promise<Review> | undefined {
    return this.#known(reviewKey(token));
  }

  /** Who the token is; rejects when the API server cannot be asked (nothing is cached then). */
  review(token: string): Promise<Review> {
    const key = reviewKey(token);
    const known = this.#known(key);
    if (known !== undefined) return known;
    const pending = this.#ask(token).then((review) => {
      this.#cache.set(key, review, {
        ttl: review.authenticated ? this.#positiveTtlMs : this.#negativeTtlMs,
      });
      return review;
    });
    const forget = (): void => void this.#inflight.delete(key);
    pending.then(forget, forget);
    this.#inflight.set(key, pending);
    return pending;
  }

  #known(key: string): Promise<Review> | undefined {
    const cached = this.#cache.get(key);
    return cached === undefined ? this.#inflight.get(key) : Promise.resolve(cached);
  }

  async #ask(token: string): Promise<Review> {
    this.reviews += 1;
    let answer: unknown;
    try {
      answer = await this.#client.create(
        TOKEN_REVIEWS_PATH,
        { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token } },
        AbortSignal.timeout(this.#timeoutMs),
        // A TokenReview is not stored: one sent twice (its connection found closed) does no harm.
        { resendable: true },
      );
    } catch (error) {
      if (error instanceof KubeApiError) {
        throw new Error(`TokenReview answered ${error.status}: ${error.message}`, { cause: error });
      }
      throw error;
    }
    const status = (
      answer as {
        status?: { authenticated?: unknown; user?: { username?: unknown }; error?: unknown };
      } | null
    )?.status;
    if (status?.authenticated === true && typeof status.user?.username === 'string') {
      return { authenticated: true, username: status.user.username };
    }
    return {
      authenticated: false,
      error:
        typeof status?.error === 'string' && status.error !== '' ? status.error : 'the token is not valid',
    };
  }
}

/** The cache's key of a token: its digest, so that the cache holds no token. */
function reviewKey(token: string): string {
  return createHash('sha256').update(token).digest('base64');
}
