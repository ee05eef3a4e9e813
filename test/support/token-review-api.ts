// A fake API server that answers TokenReviews, as the tests of --auth-token-review use it: a reviewer account allowed
// to create reviews, one service-account token it vouches for, a kubeconfig for endpointd, and a count of the reviews
// asked (what the amplification tests measure); optionally behind a proxy that makes its answers late, as a busy
// API server's are.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FakeApiServer, TOKEN_REVIEWS_PATH } from './fake-apiserver/index.ts';
import { kubeconfigYaml } from './fake-apiserver/kubeconfig.ts';
import { startTcpProxy } from './tcp-proxy.ts';

/** The token the fake API server vouches for, and whose user it names. */
export const REVIEWED_TOKEN = 'sa-token';
export const REVIEWED_USER = 'system:serviceaccount:apps:web';

export interface TokenReviewApi {
  readonly api: FakeApiServer;
  /** A kubeconfig file (in the directory given) with the reviewer's credentials. */
  readonly kubeconfig: string;
  /** TokenReviews the API server has been asked so far. */
  readonly reviews: () => number;
  /** Closes the API server (and its proxy). */
  close(): Promise<void>;
}

export interface TokenReviewApiOptions {
  /** The kubeconfig points at a proxy that passes each answer on this much later. */
  readonly answerDelayMs?: number;
  /** The kubeconfig's file name in `dir` (several API servers may share one). */
  readonly name?: string;
}

export async function startTokenReviewApi(
  dir: string,
  { answerDelayMs, name = 'kubeconfig' }: TokenReviewApiOptions = {},
): Promise<TokenReviewApi> {
  const api = await FakeApiServer.start({
    tokens: { reviewer: { user: 'system:serviceaccount:endpointd:endpointd', tokenReviews: true } },
    reviewedTokens: { [REVIEWED_TOKEN]: { username: REVIEWED_USER } },
  });
  const proxy =
    answerDelayMs === undefined
      ? undefined
      : await startTcpProxy(Number(new URL(api.url).port), { answerDelayMs });
  const kubeconfig = join(dir, name);
  await writeFile(
    kubeconfig,
    proxy === undefined
      ? api.kubeconfigYaml('reviewer')
      : kubeconfigYaml(
          { url: `http://127.0.0.1:${proxy.port}`, caPem: undefined, namespace: 'default' },
          'reviewer',
        ),
  );
  return {
    api,
    kubeconfig,
    reviews: () => api.requests.filter((r) => r.path === TOKEN_REVIEWS_PATH).length,
    close: async () => {
      await proxy?.close();
      await api.close();
    },
  };
}
