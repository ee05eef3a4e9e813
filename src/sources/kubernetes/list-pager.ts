// A paged list of one collection, as client-go's pager does it: `limit` a page, following `continue` tokens, and
// once from a fresh snapshot if a token expires between pages (410). Each page is handed to `transform` item by item
// as soon as it arrives and then dropped, while the next page is already on its way: the list holds what the
// transform keeps, never every raw page at once, and the API server produces the next page while this process
// digests the last one.
import { acceptEndpointSlice, acceptService } from '../../kube/fast-accept.ts';
import { KubeApiError, type KubeClient } from '../../kube/kube-client.ts';

export interface PagedListOptions<T> {
  readonly client: KubeClient;
  readonly path: string;
  readonly labelSelector?: string | undefined;
  readonly pageSize: number;
  /**
   * What to keep of one raw item of a page (client-go's TransformFunc); must not throw. Called in list order, each
   * page as it arrives; the raw page is dropped afterwards.
   */
  readonly transform: (item: unknown) => T;
  readonly signal: AbortSignal;
}

export interface PagedList<T> {
  readonly items: T[];
  /** The resourceVersion of the snapshot listed: where a watch resumes from. */
  readonly resourceVersion: string;
}

export async function listAllPages<T>(options: PagedListOptions<T>): Promise<PagedList<T>> {
  const { client, path, labelSelector, signal } = options;
  const limit = String(options.pageSize);
  const fetchPage = (continueToken: string | undefined) => {
    const page = client.list(path, { limit, continue: continueToken, labelSelector }, signal);
    // Fetched ahead: if the list fails before it is awaited (a throwing transform, an abort), its rejection must
    // not go unhandled; it is still seen by whoever awaits it.
    page.catch(() => undefined);
    return page;
  };
  let items: T[] = [];
  let restarted = false;
  let continueToken: string | undefined;
  let next = fetchPage(undefined);
  for (;;) {
    let page;
    try {
      page = await next;
    } catch (error) {
      // A continue token that expired between pages: start over once from a fresh snapshot.
      if (isExpired(error) && continueToken !== undefined && !restarted) {
        restarted = true;
        items = [];
        continueToken = undefined;
        next = fetchPage(undefined);
        continue;
      }
      throw error;
    }
    continueToken = page.continueToken;
    if (continueToken !== undefined) {
      next = fetchPage(continueToken);
      // One turn of the loop, so that the request is on the wire before the transform takes this page.
      await new Promise((resolve) => setImmediate(resolve));
    }
    for (const raw of page.items) items.push(options.transform(raw));
    if (continueToken === undefined) return { items, resourceVersion: page.resourceVersion };
  }
}

function isExpired(error: unknown): boolean {
  return error instanceof KubeApiError && error.status === 410;
}

/**
 * The default transform: the object without `metadata.managedFields`, the server-side-apply bookkeeping that is
 * often most of an object's bytes and that nothing here reads (client-go's informers drop it the same way).
 */
export function withoutManagedFields(item: unknown): unknown {
  if (typeof item !== 'object' || item === null) return item;
  const metadata = (item as { metadata?: unknown }).metadata;
  if (typeof metadata !== 'object' || metadata === null || !('managedFields' in metadata)) return item;
  const kept: Record<string, unknown> = { ...metadata };
  delete kept['managedFields'];
  return { ...item, metadata: kept };
}

/**
 * The reflector's default transform for a collection: for EndpointSlices and Services, the item as validation keeps
 * it (only the fields endpointd reads, its conditions and repeated strings shared: src/kube/fast-accept.ts), built as
 * its page arrives, so that a list holds no raw page beyond its turn and keeps only what the source will; the
 * source's validation then takes those parts as they are. An item that does not validate, or one of another
 * collection, is kept without its managedFields, so that the source's validation still names its problems.
 */
export function listItemTransform(path: string): (item: unknown) => unknown {
  const collection = path.slice(path.lastIndexOf('/') + 1);
  const accept =
    collection === 'endpointslices'
      ? acceptEndpointSlice
      : collection === 'services'
        ? acceptService
        : () => undefined;
  return (item) => accept(item) ?? withoutManagedFields(item);
}
