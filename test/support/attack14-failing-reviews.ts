// An API server whose every TokenReview fails at once (503, as an overloaded kube-apiserver or its priority and
// fairness answer), counting the reviews asked: what a client sending random tokens costs it meanwhile.
import { once } from 'node:events';
import { writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { kubeconfigYaml } from './fake-apiserver/kubeconfig.ts';

export interface FailingReviewApi {
  /** A kubeconfig file (in the directory given) pointing at it. */
  readonly kubeconfig: string;
  /** TokenReviews asked so far. */
  readonly reviews: () => number;
  close(): Promise<void>;
}

export async function startFailingReviewApi(dir: string): Promise<FailingReviewApi> {
  let reviews = 0;
  const server: Server = createServer((req, res) => {
    if (
      req.method === 'POST' &&
      req.url?.startsWith('/apis/authentication.k8s.io/v1/tokenreviews') === true
    ) {
      reviews += 1;
    }
    req.resume();
    req.on('end', () => {
      res.writeHead(503, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          kind: 'Status',
          apiVersion: 'v1',
          status: 'Failure',
          message: 'the server is currently unable to handle the request',
          reason: 'ServiceUnavailable',
          code: 503,
        }),
      );
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const kubeconfig = join(dir, 'failing-reviews.kubeconfig');
  await writeFile(
    kubeconfig,
    kubeconfigYaml({ url: `http://127.0.0.1:${port}`, caPem: undefined, namespace: 'default' }, 'reviewer'),
  );
  return {
    kubeconfig,
    reviews: () => reviews,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
