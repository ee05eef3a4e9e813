// Kubernetes TokenReview: asks the API server who a bearer token belongs to (clients inside a cluster present
// their service-account tokens). Answers are cached briefly, by the token's hash, so that a busy client costs one
// review per TTL and not one per request; concurrent requests with the same token share one review.
import { createHash } from 'node:crypto';
import { HttpMethod, RequestContext, type KubeConfig } from '@kubernetes/client-node';
import { LRUCache } from 'lru-cache';
import { fetch } from 'undici';

export const TOKEN_REVIEWS_PATH = '/apis/authentication.k8s.io/v1/tokenreviews';

export type Review =
  | { readonly authenticated: true; readonly username: string }
  | { readonly authenticated: false; readonly error: string };

export interface TokenReviewerOptions {
  /** Credentials of endpointd itself; it needs RBAC `create tokenreviews` (system:auth-delegator). */
  readonly config: KubeConfig;
  /** How long an accepted token is believed, in ms. Default 60 s. */
  readonly positiveTtlMs?: number;
  /** How long a refused token stays refused, in ms. Default 10 s. */
  readonly negativeTtlMs?: number;
  /** Distinct tokens remembered. Default 10 000. */
  readonly maxEntries?: number;
  /** A review that takes longer fails, in ms. Default 5 s. */
  readonly timeoutMs?: number;
}

export class TokenReviewer {
  readonly #config: KubeConfig;
  readonly #server: string;
  readonly #positiveTtlMs: number;
  readonly #negativeTtlMs: number;
  readonly #timeoutMs: number;
  readonly #cache: LRUCache<string, Review>;
  readonly #inflight = new Map<string, Promise<Review>>();
  /** Reviews sent to the API server (for tests and metrics). */
  reviews = 0;

  constructor(options: TokenReviewerOptions) {
    const cluster = options.config.getCurrentCluster();
    if (cluster === null) throw new Error('--auth-token-review: the kubeconfig has no current cluster');
    this.#config = options.config;
    this.#server = cluster.server.replace(/\/+$/, '');
    this.#positiveTtlMs = options.positiveTtlMs ?? 60_000;
    this.#negativeTtlMs = options.negativeTtlMs ?? 10_000;
    this.#timeoutMs = options.timeoutMs ?? 5000;
    this.#cache = new LRUCache({
      max: options.maxEntries ?? 10_000,
      ttl: this.#positiveTtlMs,
      ttlAutopurge: false,
    });
  }

  /** Who the token is; rejects when the API server cannot be asked (nothing is cached then). */
  async review(token: string): Promise<Review> {
    const key = createHash('sha256').update(token).digest('base64');
    const cached = this.#cache.get(key);
    if (cached !== undefined) return cached;
    let pending = this.#inflight.get(key);
    if (pending === undefined) {
      pending = this.#ask(token).then((review) => {
        this.#cache.set(key, review, {
          ttl: review.authenticated ? this.#positiveTtlMs : this.#negativeTtlMs,
        });
        return review;
      });
      const forget = (): void => void this.#inflight.delete(key);
      pending.then(forget, forget);
      this.#inflight.set(key, pending);
    }
    return pending;
  }

  async #ask(token: string): Promise<Review> {
    this.reviews += 1;
    const url = this.#server + TOKEN_REVIEWS_PATH;
    const context = new RequestContext(url, HttpMethod.POST);
    await this.#config.applySecurityAuthentication(context);
    const response = await fetch(url, {
      method: 'POST',
      headers: { ...context.getHeaders(), Accept: 'application/json', 'Content-Type': 'application/json' },
      body: JSON.stringify({ apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token } }),
      dispatcher: context.getDispatcher(),
      signal: AbortSignal.timeout(this.#timeoutMs),
    });
    const text = await response.text();
    if (response.status !== 200 && response.status !== 201) {
      let message = text.slice(0, 300);
      try {
        const status = JSON.parse(text) as { message?: unknown };
        if (typeof status.message === 'string') message = status.message;
      } catch {
        // not a Status body: keep the text
      }
      throw new Error(`TokenReview answered ${response.status}: ${message}`);
    }
    const status = (
      JSON.parse(text) as {
        status?: { authenticated?: unknown; user?: { username?: unknown }; error?: unknown };
      }
    ).status;
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
