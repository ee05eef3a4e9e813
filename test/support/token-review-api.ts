// A fake API server that answers TokenReviews, as the tests of --auth-token-review use it: a reviewer account allowed
// to create reviews, one service-account token it vouches for, a kubeconfig for endpointd, and a count of the reviews
// asked (what the amplification tests measure).
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FakeApiServer, TOKEN_REVIEWS_PATH } from './fake-apiserver/index.ts';

/** The token the fake API server vouches for, and whose user it names. */
export const REVIEWED_TOKEN = 'sa-token';
export const REVIEWED_USER = 'system:serviceaccount:apps:web';

export interface TokenReviewApi {
  readonly api: FakeApiServer;
  /** A kubeconfig file (in the directory given) with the reviewer's credentials. */
  readonly kubeconfig: string;
  /** TokenReviews the API server has been asked so far. */
  readonly reviews: () => number;
}

export async function startTokenReviewApi(dir: string): Promise<TokenReviewApi> {
  const api = await FakeApiServer.start({
    tokens: { reviewer: { user: 'system:serviceaccount:endpointd:endpointd', tokenReviews: true } },
    reviewedTokens: { [REVIEWED_TOKEN]: { username: REVIEWED_USER } },
  });
  const kubeconfig = join(dir, 'kubeconfig');
  await writeFile(kubeconfig, api.kubeconfigYaml('reviewer'));
  return {
    api,
    kubeconfig,
    reviews: () => api.requests.filter((r) => r.path === TOKEN_REVIEWS_PATH).length,
  };
}
