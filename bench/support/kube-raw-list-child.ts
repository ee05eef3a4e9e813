// The floor of "start and read the cluster state": a fresh Node process that does nothing but the paged lists
// endpointd's Kubernetes source does at start (EndpointSlices and Services, all namespaces, concurrently, 500 a page,
// each page parsed with JSON.parse) with node:http on one keep-alive connection per collection. Only builtins, so
// its start costs what a Node process costs. argv[2]: the API server's URL. Reports once and exits.
import { Agent } from 'node:http';
import { getListPage } from './list-page.ts';
import { childFailed, now } from './kube-child.ts';

const scriptStart = now();

export type FromRawListChild = {
  readonly type: 'listed';
  readonly scriptStart: number;
  /** now() before the first request and after the last page was parsed. */
  readonly listStart: number;
  readonly listEnd: number;
  readonly slices: number;
  readonly services: number;
  readonly pages: number;
};

const PAGE = 500;

async function listAll(base: URL, collection: string): Promise<{ items: number; pages: number }> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  let items = 0;
  let pages = 0;
  let token: string | undefined;
  try {
    do {
      const query = new URLSearchParams({ limit: String(PAGE) });
      if (token !== undefined) query.set('continue', token);
      const body = await getListPage(base, `${collection}?${query.toString()}`, agent);
      items += body.items?.length ?? 0;
      pages += 1;
      token = body.metadata?.continue === '' ? undefined : body.metadata?.continue;
    } while (token !== undefined);
  } finally {
    agent.destroy();
  }
  return { items, pages };
}

try {
  const server = process.argv[2];
  if (server === undefined) throw new Error('usage: kube-raw-list-child.ts API_SERVER_URL');
  process.once('disconnect', () => process.exit(0));
  const base = new URL(server);
  const listStart = now();
  const [slices, services] = await Promise.all([
    listAll(base, '/apis/discovery.k8s.io/v1/endpointslices'),
    listAll(base, '/api/v1/services'),
  ]);
  const listEnd = now();
  const message: FromRawListChild = {
    type: 'listed',
    scriptStart,
    listStart,
    listEnd,
    slices: slices.items,
    services: services.items,
    pages: slices.pages + services.pages,
  };
  // Disconnecting lets the process end by itself once the message is out.
  process.send?.(message, () => process.disconnect());
} catch (error) {
  childFailed(error);
}
