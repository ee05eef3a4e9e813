// Who is calling: a client certificate verified against the client CA, else a bearer token from the tokens file,
// else one the API server vouches for (TokenReview). One decision for both doors; each door only extracts the
// credentials and renders the refusal in its own protocol.
import { FAILED_AUTH_BURST, LIMIT_OPTIONS } from '../config/options/limits.ts';
import type { PeerCertificate } from 'node:tls';
import { clip } from '../limits/bounded-text.ts';
import { RateLimiter, type RateLimit } from '../limits/rate-limiter.ts';
import type { Review, TokenReviewer } from './token-review.ts';
import type { TokensFile } from './tokens-file.ts';

/** What a request presented. */
export interface PresentedCredentials {
  /** The bearer token of `Authorization: Bearer …`, if any. */
  readonly bearer: string | undefined;
  /** The client certificate, only when the TLS layer verified it against the client CA. */
  readonly verifiedCertificate: PeerCertificate | undefined;
  /** The remote address, which failed attempts are limited by. */
  readonly address: string;
}

export interface ClientIdentity {
  /** The name rate limits and logs use: the certificate's subject CN, the token's name, or the reviewed username. */
  readonly name: string;
  readonly method: 'certificate' | 'token' | 'token-review';
}

export type RefusalReason =
  | 'missing_credentials'
  | 'invalid_token'
  | 'token_review_failed'
  /** The address failed too often lately: refused before the token is looked at (no TokenReview is sent). */
  | 'too_many_failures';

export type Authentication =
  | { readonly ok: true; readonly identity: ClientIdentity }
  | {
      readonly ok: false;
      readonly reason: RefusalReason;
      readonly detail: string;
      /** With too_many_failures and token_review_failed: when the client may try again. */
      readonly retryAfterMs?: number;
    };

/** Failed token attempts allowed per remote address by default (--auth-max-failures' default, after its burst). */
export const DEFAULT_FAILED_ATTEMPTS: RateLimit = {
  perSecond: LIMIT_OPTIONS.failedAuthPerSecond.defaultValue,
  burst: FAILED_AUTH_BURST,
};

/**
 * How long a client whose token could not be reviewed (the API server unreachable or failing) is told to wait: the
 * refusal says nothing about its token, so it is an outage to retry (503 / UNAVAILABLE), not a 401 that a client
 * takes for bad credentials and gives up on.
 */
export const TOKEN_REVIEW_RETRY_AFTER_MS = 5_000;

export interface AuthenticatorOptions {
  readonly tokens?: TokensFile | undefined;
  readonly reviewer?: TokenReviewer | undefined;
  /** Client certificates authenticate (a client CA is configured). */
  readonly certificates: boolean;
  /** Failed bearer-token attempts allowed per remote address (default DEFAULT_FAILED_ATTEMPTS). */
  readonly failedAttempts?: RateLimit;
  readonly now?: () => number;
}

export class Authenticator {
  readonly #tokens: TokensFile | undefined;
  readonly #reviewer: TokenReviewer | undefined;
  readonly #certificates: boolean;
  /**
   * Per address, tokens for failed attempts: taken on each failure (and for each TokenReview while it is asked),
   * checked before a token is looked at.
   */
  readonly #failures: RateLimiter;
  /**
   * Per address, reviews the API server could not answer (down, failing, timing out): not the client's failure, so
   * not taken from #failures, but each was a request to an API server in trouble. Past the same allowance an
   * address's new tokens are answered as the outage at once, without asking it again.
   */
  readonly #unanswered: RateLimiter;

  constructor(options: AuthenticatorOptions) {
    this.#tokens = options.tokens;
    this.#reviewer = options.reviewer;
    this.#certificates = options.certificates;
    const perAddress = (): RateLimiter =>
      new RateLimiter(options.failedAttempts ?? DEFAULT_FAILED_ATTEMPTS, {
        now: options.now,
        maxClients: 10_000,
      });
    this.#failures = perAddress();
    this.#unanswered = perAddress();
  }

  /** Authentication is required at all (some way to authenticate is configured). */
  get enabled(): boolean {
    return this.#tokens !== undefined || this.#reviewer !== undefined || this.#certificates;
  }

  /**
   * Never rejects: a failed TokenReview is a refusal that says so. Answers at once (not a promise) when no
   * TokenReview is needed — a certificate, a missing token, a refused address, a token of the tokens file — so
   * that a request does not wait for a turn of the event loop it has no need of.
   */
  authenticate(presented: PresentedCredentials): Authentication | Promise<Authentication> {
    const decided = this.#atOnce(presented);
    const { address } = presented;
    const counted = (outcome: Authentication): Authentication => {
      if (!outcome.ok && outcome.reason === 'invalid_token') this.#failures.take(address);
      return outcome;
    };
    if (!('reviewer' in decided)) return counted(decided);
    const { reviewer, token } = decided;
    const known = reviewer.known(token);
    if (known !== undefined) return outcomeOf(known).then(counted);
    // An address whose last reviews the API server could not answer is not sent to it again before the allowance
    // refills: the outage's answer, at once.
    const unansweredWaitMs = this.#unanswered.peek(address);
    if (unansweredWaitMs > 0) {
      return {
        ok: false,
        reason: 'token_review_failed',
        detail:
          'the bearer token could not be verified now (the API server failed the last reviews asked for this client); retry later',
        retryAfterMs: Math.max(unansweredWaitMs, TOKEN_REVIEW_RETRY_AFTER_MS),
      };
    }
    // A review the API server is to answer takes its failure now, before it is sent, and gives it back unless the
    // token is refused: counted only when it comes back, every review already in flight from one address would
    // get past the allowance (random tokens sent at once would cost the API server a review each).
    const waitMs = this.#failures.take(address);
    if (waitMs > 0) return this.#tooManyFailures(address, waitMs);
    return outcomeOf(reviewer.review(token)).then((outcome) => {
      if (outcome.ok || outcome.reason !== 'invalid_token') this.#failures.giveBack(address);
      if (!outcome.ok && outcome.reason === 'token_review_failed') this.#unanswered.take(address);
      return outcome;
    });
  }

  /**
   * Who `authenticate` would accept at once, without a TokenReview; undefined when it would refuse or ask the API
   * server. It changes nothing (a refusal is not counted against the address): for a caller that then takes the
   * request the whole way through `authenticate` whenever this says undefined (the REST door's repeated lookups).
   */
  identify(presented: PresentedCredentials): ClientIdentity | undefined {
    const decided = this.#atOnce(presented);
    return 'reviewer' in decided || !decided.ok ? undefined : decided.identity;
  }

  /** The decision that needs no TokenReview, without counting a failure; else the TokenReview that decides. */
  #atOnce(presented: PresentedCredentials): Authentication | ReviewNeeded {
    const certificate = presented.verifiedCertificate;
    if (this.#certificates && certificate !== undefined) {
      const cn = certificate.subject?.CN;
      return {
        ok: true,
        identity: { name: `cert:${Array.isArray(cn) ? cn.join(',') : (cn ?? '')}`, method: 'certificate' },
      };
    }
    const token = presented.bearer;
    if (token === undefined) {
      return { ok: false, reason: 'missing_credentials', detail: this.#expected() };
    }
    // An address that keeps presenting bad tokens (guessing, or amplifying into TokenReviews) is refused before
    // its token is even looked at, so that it costs neither the API server nor a cache entry.
    const waitMs = this.#failures.peek(presented.address);
    if (waitMs > 0) return this.#tooManyFailures(presented.address, waitMs);
    const name = this.#tokens?.lookup(token);
    if (name !== undefined) return { ok: true, identity: { name, method: 'token' } };
    if (this.#reviewer !== undefined) return { reviewer: this.#reviewer, token };
    return { ok: false, reason: 'invalid_token', detail: 'the bearer token is not valid' };
  }

  #tooManyFailures(address: string, waitMs: number): Authentication {
    const { perSecond, burst } = this.#failures.limit;
    return {
      ok: false,
      reason: 'too_many_failures',
      detail: `too many failed authentication attempts from ${address} (more than ${burst}, then ${perSecond} per second); retry in ${Math.ceil(waitMs / 1000)} s`,
      retryAfterMs: waitMs,
    };
  }

  #expected(): string {
    const ways = [
      ...(this.#tokens !== undefined || this.#reviewer !== undefined
        ? ['a bearer token (Authorization: Bearer …)']
        : []),
      ...(this.#certificates ? ['a client certificate signed by the client CA'] : []),
    ];
    return `authentication required: present ${ways.join(' or ')}`;
  }
}

/** A token the tokens file does not hold, which the API server is to judge. */
interface ReviewNeeded {
  readonly reviewer: TokenReviewer;
  readonly token: string;
}

/** The token of an `Authorization: Bearer <token>` header value. */
export function bearerToken(header: string | undefined): string | undefined {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  return match?.[1];
}

/** What the API server says (or said) of a token the tokens file does not have. Never rejects. */
async function outcomeOf(review: Promise<Review>): Promise<Authentication> {
  try {
    const answer = await review;
    if (answer.authenticated)
      return { ok: true, identity: { name: answer.username, method: 'token-review' } };
    return {
      ok: false,
      reason: 'invalid_token',
      detail: `the bearer token was refused: ${clip(answer.error)}`,
    };
  } catch (error) {
    return {
      ok: false,
      reason: 'token_review_failed',
      detail: `the bearer token could not be verified now (${clip((error as Error).message)}); retry later`,
      retryAfterMs: TOKEN_REVIEW_RETRY_AFTER_MS,
    };
  }
}
