// One page of a Kubernetes list, fetched the way the start-up floor fetches it (node:http on a keep-alive agent,
// the body gathered and `JSON.parse`d once): shared by the floor (kube-raw-list-child.ts) and the list worker
// prototype, so that both pay the same per page. Builtins only, so the floor's start stays a bare Node process's.
import { request, type Agent } from 'node:http';

export interface ListBody {
  readonly items?: unknown[];
  readonly metadata?: { readonly continue?: string };
}

export function getListPage(base: URL, path: string, agent: Agent): Promise<ListBody> {
  return new Promise((resolve, reject) => {
    const req = request(new URL(path, base), { agent, headers: { Accept: 'application/json' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () => {
        if (res.statusCode !== 200) {
          reject(new Error(`GET ${path}: HTTP ${String(res.statusCode)}`));
          return;
        }
        try {
          resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')) as ListBody);
        } catch (error) {
          reject(error instanceof Error ? error : new Error(String(error)));
        }
      });
    });
    req.on('error', reject);
    req.end();
  });
}
