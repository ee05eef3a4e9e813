// Who is calling: a client certificate verified against the client CA, else a bearer token from the tokens file,
// else one the API server vouches for (TokenReview). One decision for both doors; each door only extracts the
// credentials and renders the refusal in its own protocol.
import type { PeerCertificate } from 'node:tls';
import type { TokenReviewer } from './token-review.ts';
import type { TokensFile } from './tokens-file.ts';

/** What a request presented. */
export interface PresentedCredentials {
  /** The bearer token of `Authorization: Bearer …`, if any. */
  readonly bearer: string | undefined;
  /** The client certificate, only when the TLS layer verified it against the client CA. */
  readonly verifiedCertificate: PeerCertificate | undefined;
}

export interface ClientIdentity {
  /** The name rate limits and logs use: the certificate's subject CN, the token's name, or the reviewed username. */
  readonly name: string;
  readonly method: 'certificate' | 'token' | 'token-review';
}

export type RefusalReason = 'missing_credentials' | 'invalid_token' | 'token_review_failed';

export type Authentication =
  | { readonly ok: true; readonly identity: ClientIdentity }
  | { readonly ok: false; readonly reason: RefusalReason; readonly detail: string };

export interface AuthenticatorOptions {
  readonly tokens?: TokensFile | undefined;
  readonly reviewer?: TokenReviewer | undefined;
  /** Client certificates authenticate (a client CA is configured). */
  readonly certificates: boolean;
}

export class Authenticator {
  readonly #tokens: TokensFile | undefined;
  readonly #reviewer: TokenReviewer | undefined;
  readonly #certificates: boolean;

  constructor(options: AuthenticatorOptions) {
    this.#tokens = options.tokens;
    this.#reviewer = options.reviewer;
    this.#certificates = options.certificates;
  }

  /** Authentication is required at all (some way to authenticate is configured). */
  get enabled(): boolean {
    return this.#tokens !== undefined || this.#reviewer !== undefined || this.#certificates;
  }

  /** Never rejects: a failed TokenReview is a refusal that says so. */
  async authenticate(presented: PresentedCredentials): Promise<Authentication> {
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
    const name = this.#tokens?.lookup(token);
    if (name !== undefined) return { ok: true, identity: { name, method: 'token' } };
    if (this.#reviewer !== undefined) {
      try {
        const review = await this.#reviewer.review(token);
        if (review.authenticated)
          return { ok: true, identity: { name: review.username, method: 'token-review' } };
        return {
          ok: false,
          reason: 'invalid_token',
          detail: `the bearer token was refused: ${review.error}`,
        };
      } catch (error) {
        return {
          ok: false,
          reason: 'token_review_failed',
          detail: `the bearer token could not be verified now (${(error as Error).message}); retry later`,
        };
      }
    }
    return { ok: false, reason: 'invalid_token', detail: 'the bearer token is not valid' };
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

/** The token of an `Authorization: Bearer <token>` header value. */
export function bearerToken(header: string | undefined): string | undefined {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  return match?.[1];
}
