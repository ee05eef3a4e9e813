// Raw JSON calls to the Kubernetes API server (list, watch, create), authenticated by @kubernetes/client-node's
// KubeConfig (tokens, client certificates, exec plugins, in-cluster service account, TLS). Raw JSON because
// client-node's typed lists drop unknown fields and turn timestamps into Dates while its watch hands out plain JSON:
// reading both raw gives one shape to validate and convert. The one client of the process: the Kubernetes source
// lists and watches with it, the TokenReview authenticator creates reviews with it.
import { formatBytes } from '../byte-size.ts';
import { HttpMethod, RequestContext, type KubeConfig } from './client-node.ts';
import { fetch, type Response } from 'undici';
import { reuseDispatchers } from './dispatcher-reuse.ts';
import { leadingListMetadata, type LeadingListMetadata } from './list-metadata.ts';

/** An answer of the API server that is not a success, with what its Status body said. */
export class KubeApiError extends Error {
  readonly status: number;
  readonly reason: string | undefined;
  readonly retryAfterMs: number | undefined;

  constructor(status: number, message: string, reason?: string, retryAfterMs?: number) {
    super(message);
    this.name = 'KubeApiError';
    this.status = status;
    this.reason = reason;
    this.retryAfterMs = retryAfterMs;
  }
}

/**
 * An answer of the API server (a list page, a watch event, a created object's echo) larger than the client accepts:
 * a broken or hostile server, or a proxy that never ends a body, must not fill memory until V8's string limit
 * ends the process. The request fails like any other and is retried with backoff.
 */
export class ResponseTooLargeError extends Error {
  override readonly name = 'ResponseTooLargeError';
}

/** A list page or watch event bigger than this is refused, unless the client is given another bound. */
export const DEFAULT_MAX_RESPONSE_BYTES = 64 * 1024 * 1024;

export interface KubeClientOptions {
  /** The most bytes one list page, one watch event or one answer to a create may have. */
  readonly maxResponseBytes?: number | undefined;
}

export interface ListPage {
  readonly items: unknown[];
  readonly resourceVersion: string;
  readonly continueToken: string | undefined;
}

export interface WatchEvent {
  readonly type: string;
  readonly object: unknown;
}

export class KubeClient {
  readonly #config: KubeConfig;
  readonly #maxBytes: number;
  readonly server: string;

  constructor(config: KubeConfig, options: KubeClientOptions = {}) {
    const cluster = config.getCurrentCluster();
    if (cluster === null) throw new Error('the kubeconfig has no current cluster');
    // One connection pool for every request, not one per request (dispatcher-reuse.ts says why).
    reuseDispatchers(config);
    this.#config = config;
    this.#maxBytes = options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
    this.server = cluster.server.replace(/\/+$/, '');
  }

  /**
   * One page of a list. `onContinue` is told the page's continue token (undefined: the last page) as soon as the
   * start of the body holds it (list-metadata.ts), before the rest of the page has arrived — at most once, and not
   * at all when the body does not start with its metadata; the page itself carries the token that counts.
   */
  async list(
    path: string,
    query: Record<string, string | undefined>,
    signal: AbortSignal,
    onContinue?: (token: string | undefined) => void,
  ): Promise<ListPage> {
    const response = await this.#get(path, query, signal);
    const early: { found: LeadingListMetadata | 'incomplete' | 'absent' } = {
      found: onContinue === undefined ? 'absent' : 'incomplete',
    };
    const text = await bodyText(response, this.#tooLarge(`list ${path}: the page`), (soFar) => {
      if (early.found !== 'incomplete') return;
      early.found = leadingListMetadata(soFar);
      if (typeof early.found === 'object') onContinue?.(early.found.continueToken);
    });
    const notAList = (detail: string): Error =>
      new Error(`list ${path}: the answer is not a Kubernetes list${detail === '' ? '' : ` (${detail})`}`);
    let body: { items?: unknown; metadata?: { resourceVersion?: unknown; continue?: unknown } } | null;
    try {
      body = JSON.parse(text) as typeof body;
    } catch (error) {
      // A 200 that is no JSON at all: an authenticating proxy's sign-in page, a cut body.
      throw notAList((error as Error).message);
    }
    if (!Array.isArray(body?.items) || typeof body.metadata?.resourceVersion !== 'string') throw notAList('');
    const token = body.metadata.continue;
    // The page's own token is the one to follow: the pager drops a request made with an early one that differs
    // (only a body with two `metadata` keys could make them differ).
    const continueToken = typeof token === 'string' && token !== '' ? token : undefined;
    return { items: body.items as unknown[], resourceVersion: body.metadata.resourceVersion, continueToken };
  }

  /**
   * Opens a watch and calls `onEvent` for every event line, in order; resolves when the server ends the stream.
   * `onOpen` is told when the server accepted the watch; `onData` of every chunk, so that a caller can notice a
   * connection that went silent.
   */
  async watch(
    path: string,
    query: Record<string, string | undefined>,
    signal: AbortSignal,
    handlers: { onOpen: () => void; onEvent: (event: WatchEvent) => void; onData: () => void },
  ): Promise<void> {
    const { onEvent, onData } = handlers;
    const response = await this.#get(path, { ...query, watch: 'true' }, signal);
    try {
      handlers.onOpen();
    } catch (error) {
      // A watch its caller turns down as it opens: let its connection go, as leaving the loop below does.
      await response.body?.cancel().catch(() => {});
      throw error;
    }
    if (response.body === null) return;
    const chunks = response.body as AsyncIterable<Uint8Array>;
    // Leaving this loop (the end, an error, a throw from onEvent) cancels the body, which closes the connection.
    for await (const line of boundedLines(chunks, onData, this.#tooLarge(`watch ${path}: an event`))) {
      if (line.trim() === '') continue;
      const event = JSON.parse(line) as { type?: unknown; object?: unknown };
      if (typeof event.type !== 'string') throw new Error(`watch ${path}: an event without a type`);
      onEvent({ type: event.type, object: event.object });
    }
  }

  /**
   * Creates an object (POST of `body` as JSON to a collection) and resolves with what the server answered, parsed
   * but not validated; rejects with a KubeApiError on any status but 200/201, or with the abort reason of `signal`.
   * `resendable`: creating it twice does no harm (a TokenReview, which is not stored), so a request that found its
   * connection closed before any answer is sent again, as a GET is.
   */
  async create(
    path: string,
    body: unknown,
    signal: AbortSignal,
    options: { readonly resendable?: boolean } = {},
  ): Promise<unknown> {
    const response = await this.#request(
      HttpMethod.POST,
      path,
      {},
      signal,
      body,
      options.resendable === true,
    );
    return JSON.parse(await bodyText(response, this.#tooLarge(`create ${path}: the answer`))) as unknown;
  }

  /** The bound on one answer, and the error that says which answer broke it. */
  #tooLarge(what: string): BodyBound {
    const max = this.#maxBytes;
    return {
      max,
      error: () =>
        new ResponseTooLargeError(
          `${what} is larger than ${formatBytes(max)}, the most accepted (--kube-max-response-size)`,
        ),
    };
  }

  #get(path: string, query: Record<string, string | undefined>, signal: AbortSignal): Promise<Response> {
    return this.#request(HttpMethod.GET, path, query, signal);
  }

  async #request(
    method: typeof HttpMethod.GET | typeof HttpMethod.POST,
    path: string,
    query: Record<string, string | undefined>,
    signal: AbortSignal,
    body?: unknown,
    resendable = method === HttpMethod.GET,
  ): Promise<Response> {
    const url = new URL(this.server + path);
    for (const [key, value] of Object.entries(query))
      if (value !== undefined) url.searchParams.set(key, value);
    let response: Response;
    for (let attempt = 1; ; attempt++) {
      const context = new RequestContext(url.toString(), method);
      await this.#config.applySecurityAuthentication(context);
      try {
        response = await fetch(url, {
          method,
          headers: {
            ...context.getHeaders(),
            Accept: 'application/json',
            ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
          },
          body: body === undefined ? undefined : JSON.stringify(body),
          dispatcher: context.getDispatcher(),
          signal,
        });
        break;
      } catch (error) {
        // A kept-alive connection (dispatcher-reuse.ts) the server or a load balancer closed while it was idle:
        // the request finds the socket closed before any answer. A GET is sent again, on another connection, as
        // client-go's transport does; a connection per request never met this.
        if (!resendable || signal.aborted || attempt > RESENDS_ON_CLOSED_CONNECTION) throw error;
        if (!closedBeforeAnswer(error)) throw error;
      }
    }
    if (response.status === 200 || (method === HttpMethod.POST && response.status === 201)) return response;
    throw await apiError(response, this.#tooLarge(`${method} ${path}: the error's body`));
  }
}

/**
 * The body as text, decoded chunk by chunk as it arrives; `onText` sees the text so far after each chunk. Not
 * `response.json()`: that gathers the chunks into one buffer of the whole body before decoding it, a malloc'd
 * megabyte or more per list page, and glibc then keeps those pages' worth of freed memory in the process (~25 MB
 * of RSS after listing 10,000 slices); the decoded text lives on V8's heap instead, which gives it back.
 */
async function bodyText(
  response: Response,
  bound: BodyBound,
  onText?: (soFar: string) => void,
): Promise<string> {
  if (response.body === null) return '';
  const decoder = new TextDecoder();
  let text = '';
  let bytes = 0;
  for await (const chunk of response.body as AsyncIterable<Uint8Array>) {
    bytes += chunk.byteLength;
    if (bytes > bound.max) throw bound.error(); // leaving the loop cancels the body
    text += decoder.decode(chunk, { stream: true });
    onText?.(text);
  }
  return text + decoder.decode();
}

/** The most bytes one answer (or one line of a stream) may have, and the error to fail with past it. */
interface BodyBound {
  readonly max: number;
  readonly error: () => Error;
}

const NEWLINE = 0x0a;

/**
 * The lines of a byte stream (a watch: one JSON event a line), decoded as UTF-8, each at most `bound.max` bytes:
 * a line is refused as soon as its bytes pass the bound, before it is whole. `onChunk` is told of every chunk.
 * A newline byte never falls inside a UTF-8 sequence, so a line ends on a character.
 */
async function* boundedLines(
  chunks: AsyncIterable<Uint8Array>,
  onChunk: () => void,
  bound: BodyBound,
): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let partial = '';
  let partialBytes = 0;
  for await (const chunk of chunks) {
    onChunk();
    let start = 0;
    for (let end = chunk.indexOf(NEWLINE); end !== -1; end = chunk.indexOf(NEWLINE, start)) {
      if (partialBytes + (end - start) > bound.max) throw bound.error();
      const line = partial + decoder.decode(chunk.subarray(start, end));
      partial = '';
      partialBytes = 0;
      start = end + 1;
      yield line;
    }
    partialBytes += chunk.byteLength - start;
    if (partialBytes > bound.max) throw bound.error();
    partial += decoder.decode(chunk.subarray(start), { stream: true });
  }
  const last = partial + decoder.decode();
  if (last !== '') yield last;
}

/** Resends of one request that may find a closed kept-alive connection before one answers (a pool holds several). */
const RESENDS_ON_CLOSED_CONNECTION = 3;

/** fetch's failure when the connection closed before the answer began (undici: "other side closed", a reset). */
function closedBeforeAnswer(error: unknown): boolean {
  const cause: unknown = (error as { cause?: unknown } | undefined)?.cause;
  const code = (cause as { code?: unknown } | undefined)?.code;
  return code === 'UND_ERR_SOCKET' || code === 'ECONNRESET';
}

/** The failure an answer that is not a success stands for; a body past `bound` is not read on (its status stays). */
async function apiError(response: Response, bound: BodyBound): Promise<KubeApiError> {
  const text = await bodyText(response, bound).catch(() => '');
  let message = text.slice(0, 500) || response.statusText;
  let reason: string | undefined;
  try {
    const status = JSON.parse(text) as { message?: unknown; reason?: unknown };
    if (typeof status.message === 'string') message = status.message;
    if (typeof status.reason === 'string') reason = status.reason;
  } catch {
    // not a Status body: keep the text
  }
  const retryAfter = Number(response.headers.get('retry-after'));
  return new KubeApiError(
    response.status,
    message,
    reason,
    Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter * 1000 : undefined,
  );
}
