// A paged list of one collection, as client-go's pager does it: `limit` a page, following `continue` tokens, and
// once from a fresh snapshot if a token expires between pages (410). Each page is handed to `transform` item by item
// as soon as it arrives and then dropped, while the next page is already on its way: the list holds what the
// transform keeps, never every raw page at once, and the API server produces the next page while this process
// digests the last one.
import { acceptEndpointSlice, acceptService } from '../../kube/fast-accept.ts';
import { KubeApiError, type KubeClient, type ListPage } from '../../kube/kube-client.ts';

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

/** Pages asked for and not yet taken by the loop: the one arriving and the next; bounds the text buffered ahead. */
const MAX_PAGES_AHEAD = 2;

/** One page's request; `next` is the following page's, once asked for. */
interface PageFetch {
  /** The continue token it was asked with (undefined: the first page). */
  readonly token: string | undefined;
  readonly page: Promise<ListPage>;
  /** The following page's continue token, as soon as the start of this page's body told it. */
  earlyToken?: string | undefined;
  next?: PageFetch;
}

export async function listAllPages<T>(options: PagedListOptions<T>): Promise<PagedList<T>> {
  const { client, path, labelSelector, signal } = options;
  const limit = String(options.pageSize);
  let ahead = 0;
  let chain = 0;
  // Cancels the requests of the current chain: those dropped (a restart, an early token the page did not confirm)
  // and, once the list is done or has failed, any still on the wire: none outlives its use or reads a page for
  // nobody.
  let chainAbort = new AbortController();
  // The last page asked for: the next request follows it as soon as its continue token is known and the bound
  // allows, even while its body is still arriving.
  let tail: PageFetch | undefined;
  const fetchPage = (continueToken: string | undefined): PageFetch => {
    const ofChain = chain;
    const fetchSignal = AbortSignal.any([signal, chainAbort.signal]);
    ahead += 1;
    const fetch: PageFetch = {
      token: continueToken,
      page: client.list(path, { limit, continue: continueToken, labelSelector }, fetchSignal, (token) => {
        fetch.earlyToken = token;
        if (ofChain === chain) extend();
      }),
    };
    tail = fetch;
    // Fetched ahead: if the list fails before it is awaited (a throwing transform, an abort), its rejection must
    // not go unhandled; it is still seen by whoever awaits it.
    fetch.page.catch(() => undefined);
    return fetch;
  };
  // The tokens this chain has followed: one met again is a loop (see below), never asked for a second time.
  let followed = new Set<string>();
  const extend = (): void => {
    const last = tail;
    if (
      last !== undefined &&
      last.earlyToken !== undefined &&
      !followed.has(last.earlyToken) &&
      last.token !== last.earlyToken &&
      last.next === undefined &&
      ahead < MAX_PAGES_AHEAD
    )
      last.next = fetchPage(last.earlyToken);
  };
  const newChain = (): void => {
    chainAbort.abort();
    chainAbort = new AbortController();
    chain += 1;
    ahead = 0;
  };
  const restart = (): PageFetch => {
    newChain();
    followed = new Set();
    return fetchPage(undefined);
  };
  let items: T[] = [];
  let restarted = false;
  let current = restart();
  try {
    for (;;) {
      let page: ListPage;
      try {
        page = await current.page;
      } catch (error) {
        // A continue token that expired between pages: start over once from a fresh snapshot.
        if (isExpired(error) && current.token !== undefined && !restarted) {
          restarted = true;
          items = [];
          current = restart();
          continue;
        }
        throw error;
      }
      ahead -= 1;
      const continueToken = page.continueToken;
      if (current.token !== undefined) followed.add(current.token);
      // A token already followed would give the same pages again, for ever, each kept (a proxy or cache that
      // ignores the query string answers every page with the first one): the list fails, saying so.
      if (continueToken !== undefined && followed.has(continueToken))
        throw new Error(
          `list ${path}: the API server answered a continue token this list had already followed (${continueToken.slice(0, 80)}): its pages make no progress (a proxy or cache in front of it that ignores the query string?)`,
        );
      let next: PageFetch | undefined;
      if (continueToken !== undefined) {
        if (current.next !== undefined && current.next.token === continueToken) {
          next = current.next;
          extend();
        } else {
          // Not asked for yet, or asked with an early token the page does not confirm: that request is dropped.
          if (current.next !== undefined) newChain();
          next = fetchPage(continueToken);
          current.next = next;
          // One turn of the loop, so that the request is on the wire before the transform takes this page.
          await new Promise((resolve) => setImmediate(resolve));
        }
      }
      for (const raw of page.items) items.push(options.transform(raw));
      if (next === undefined) return { items, resourceVersion: page.resourceVersion };
      current = next;
    }
  } finally {
    chainAbort.abort();
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
