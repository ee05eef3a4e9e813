// The TokenReview API (authentication.k8s.io/v1): who a bearer token belongs to, as the apiserver answers a
// `POST /apis/authentication.k8s.io/v1/tokenreviews` from a component that authenticates its own clients.

import { badRequest } from './status.ts';
import type { Status } from './status.ts';
import type { TokenScope } from './types.ts';

export const TOKEN_REVIEWS_PATH = '/apis/authentication.k8s.io/v1/tokenreviews';

/** Who a reviewed token belongs to. */
export interface ReviewedUser {
  username: string;
  uid?: string;
  groups?: readonly string[];
}

/**
 * Whether the reviewer's own token may create TokenReviews (RBAC `create tokenreviews`, as in the
 * system:auth-delegator ClusterRole). An explicit `tokenReviews` wins; otherwise only an unrestricted,
 * cluster-admin-like scope may.
 */
export function mayReviewTokens(scope: TokenScope): boolean {
  return (
    scope.tokenReviews ??
    (scope.verbs === undefined && scope.resources === undefined && scope.namespaces === undefined)
  );
}

/** The answer to a TokenReview request body: the review with its status filled in, or a 400 Status. */
export function reviewToken(
  body: string,
  known: Readonly<Record<string, ReviewedUser>>,
): { code: 201; review: object } | Status {
  let request: unknown;
  try {
    request = JSON.parse(body);
  } catch {
    return badRequest('the body is not JSON');
  }
  const spec = (request as { spec?: { token?: unknown; audiences?: unknown } } | null)?.spec;
  if (
    (request as { kind?: unknown } | null)?.kind !== 'TokenReview' ||
    typeof spec?.token !== 'string' ||
    spec.token === ''
  ) {
    return badRequest('TokenReview.authentication.k8s.io "" is invalid: spec.token: Required value');
  }
  const user = Object.hasOwn(known, spec.token) ? known[spec.token] : undefined;
  const status =
    user === undefined
      ? { authenticated: false, error: 'invalid bearer token, token lookup failed' }
      : {
          authenticated: true,
          user: {
            username: user.username,
            uid: user.uid ?? `uid-${user.username}`,
            groups: [...(user.groups ?? []), 'system:authenticated'],
          },
          audiences: Array.isArray(spec.audiences) ? spec.audiences : [],
        };
  return {
    code: 201,
    review: {
      kind: 'TokenReview',
      apiVersion: 'authentication.k8s.io/v1',
      metadata: { creationTimestamp: null },
      spec: { token: spec.token, ...(Array.isArray(spec.audiences) ? { audiences: spec.audiences } : {}) },
      status,
    },
  };
}
