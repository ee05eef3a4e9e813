// The fake kube-apiserver itself: HTTP(S) lifecycle, routing, get/list/watch handlers, request log and fault hooks.

import { randomUUID } from 'node:crypto';
import { createServer as createHttpServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Socket } from 'node:net';
import { authenticate, authorize, bearerToken, DEFAULT_USER } from './auth.ts';
import { discoveryDocument } from './discovery.ts';
import { Faults } from './faults.ts';
import type { SplitOptions } from './faults.ts';
import { kubeconfigYaml, writeInClusterFiles } from './kubeconfig.ts';
import type { InClusterEnv } from './kubeconfig.ts';
import { RESOURCES, route, verbOf } from './resources.ts';
import type { ResourceInfo, ResourceRoute } from './resources.ts';
import { parseFieldSelector, parseLabelSelector, SelectorError } from './selectors.ts';
import type { Selector } from './selectors.ts';
import {
  badRequest,
  continueExpired,
  injected,
  methodNotAllowed,
  notFound,
  pathNotFound,
  status,
} from './status.ts';
import type { Status } from './status.ts';
import { compareObjects, Store } from './store.ts';
import { mayReviewTokens, reviewToken, TOKEN_REVIEWS_PATH } from './token-review.ts';
import type { ReviewedUser } from './token-review.ts';
import type { Snapshot } from './store.ts';
import { generateTls } from './tls.ts';
import type { GeneratedTls } from './tls.ts';
import type {
  FailNextOptions,
  KubeObject,
  RequestLogEntry,
  ResourceName,
  StallOptions,
  TokenScope,
} from './types.ts';
import { WatchStream } from './watch.ts';

export interface FakeApiServerOptions {
  /** Serve HTTPS with a freshly generated CA (`caPem`); default plain HTTP. */
  tls?: boolean;
  /** Bearer tokens and what each may do; default: no authentication at all. */
  tokens?: Record<string, TokenScope>;
  /** How often watches that asked for bookmarks get one; default 60 000 ms like the apiserver. */
  bookmarkIntervalMs?: number;
  /** When a watch without timeoutSeconds ends cleanly; default 1800 s. */
  defaultWatchTimeoutSeconds?: number;
  /** The resourceVersion before the first write (also the initial compaction floor); default 1000. */
  initialResourceVersion?: number;
  /** Namespace written into kubeconfigs and the in-cluster namespace file; default "default". */
  namespace?: string;
  /** Tokens that TokenReview reports as authenticated, and as whom; default none. */
  reviewedTokens?: Record<string, ReviewedUser>;
}

const ENDPOINTS_WARNING =
  '299 - "v1 Endpoints is deprecated in v1.33+; use discovery.k8s.io/v1 EndpointSlice"';

interface ContinueToken {
  rv: number;
  after: KubeObject;
}

function encodeContinue(rv: number, last: KubeObject): string {
  // Same shape as the apiserver's token: base64 JSON with the RV and the key to resume after.
  const start = `${last.metadata.namespace ?? ''}/${last.metadata.name ?? ''}\u0000`;
  return Buffer.from(JSON.stringify({ v: 'meta.k8s.io/v1', rv, start })).toString('base64');
}

function decodeContinue(token: string): ContinueToken | undefined {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(token, 'base64').toString('utf8'));
    if (typeof parsed !== 'object' || parsed === null) return undefined;
    const { v, rv, start } = parsed as Record<string, unknown>;
    if (v !== 'meta.k8s.io/v1' || typeof rv !== 'number' || typeof start !== 'string') return undefined;
    const key = start.endsWith('\u0000') ? start.slice(0, -1) : start;
    const slash = key.indexOf('/');
    if (slash < 0) return undefined;
    return { rv, after: { metadata: { namespace: key.slice(0, slash), name: key.slice(slash + 1) } } };
  } catch {
    return undefined;
  }
}

function parseNonNegativeInt(value: string | null, name: string): number | undefined | Status {
  if (value === null || value === '') return undefined;
  if (!/^\d+$/.test(value)) return badRequest(`invalid ${name}: ${JSON.stringify(value)}`);
  return Number(value);
}

function isStatus(value: unknown): value is Status {
  return typeof value === 'object' && value !== null && (value as { kind?: unknown }).kind === 'Status';
}

export class FakeApiServer {
  readonly #server: Server;
  readonly #tls: GeneratedTls | undefined;
  readonly #store: Store;
  readonly #faults = new Faults();
  readonly #watches = new Set<WatchStream>();
  readonly #sockets = new Set<Socket>();
  #connectionsAccepted = 0;
  #connectionsClosedIdle = 0;
  #connectionsOpenedBesideIdle = 0;
  /**
   * Per connection that requests came on (the TLS socket, for HTTPS): requests open on it, and since when it has
   * had none open.
   */
  readonly #connectionUse = new Map<Socket, { open: number; idleSince: number }>();
  #inFlight = 0;
  #peakInFlight = 0;
  readonly #pendingStalls = new Set<() => void>();
  readonly #bookmarkIntervalMs: number;
  readonly #defaultWatchTimeoutMs: number;
  readonly #namespace: string;
  #tokens: Record<string, TokenScope> | undefined;
  #reviewedTokens: Record<string, ReviewedUser>;
  #port = 0;
  #listening = false;
  #closed = false;

  /** Every request seen, oldest first; `status` fills in once headers are written. */
  readonly requests: RequestLogEntry[] = [];

  private constructor(options: FakeApiServerOptions, tls: GeneratedTls | undefined) {
    this.#tls = tls;
    this.#tokens = options.tokens;
    this.#reviewedTokens = options.reviewedTokens ?? {};
    this.#store = new Store(options.initialResourceVersion ?? 1000);
    this.#bookmarkIntervalMs = options.bookmarkIntervalMs ?? 60_000;
    this.#defaultWatchTimeoutMs = (options.defaultWatchTimeoutSeconds ?? 1800) * 1000;
    this.#namespace = options.namespace ?? 'default';
    const handler = (req: IncomingMessage, res: ServerResponse) => {
      this.#handle(req, res).catch((err: unknown) => {
        if (!res.headersSent) {
          res.writeHead(500, { 'Content-Type': 'application/json' });
          const message = `Internal error occurred: ${err instanceof Error ? err.message : String(err)}`;
          res.end(JSON.stringify(status(500, 'InternalError', message)) + '\n');
        } else {
          res.destroy(err instanceof Error ? err : undefined);
        }
      });
    };
    this.#server =
      tls === undefined
        ? createHttpServer(handler)
        : createHttpsServer({ key: tls.keyPem, cert: tls.certPem }, handler);
    this.#server.on('connection', (socket: Socket) => {
      this.#sockets.add(socket);
      this.#connectionsAccepted += 1;
      socket.on('close', () => this.#sockets.delete(socket));
    });
  }

  static async start(options: FakeApiServerOptions = {}): Promise<FakeApiServer> {
    const tls = options.tls === true ? await generateTls() : undefined;
    const api = new FakeApiServer(options, tls);
    await api.#listen(0);
    return api;
  }

  get url(): string {
    return `${this.#tls === undefined ? 'http' : 'https'}://127.0.0.1:${this.#port}`;
  }

  /** TCP connections accepted since the start (TLS or not): how many a client opened. */
  get connectionsAccepted(): number {
    return this.#connectionsAccepted;
  }

  /**
   * Connections that closed after a second or more with no request open on them: kept-alive connections that either
   * side let expire (undici's keep-alive timeout is 4 s, node's server's 5 s).
   */
  get connectionsClosedIdle(): number {
    return this.#connectionsClosedIdle;
  }

  /**
   * Connections whose first request came while another connection that had served requests stood open with none:
   * a client that pools its connections sends on the idle one instead, so these are connections it did not reuse
   * (or a second pool's).
   */
  get connectionsOpenedBesideIdle(): number {
    return this.#connectionsOpenedBesideIdle;
  }

  /** The most requests that were open at once (a watch is open until it ends): what a client needs connections for. */
  get peakConcurrentRequests(): number {
    return this.#peakInFlight;
  }

  /** TCP connections open now. */
  get openConnections(): number {
    return this.#sockets.size;
  }

  get port(): number {
    return this.#port;
  }

  /** The CA that signed the server certificate (HTTPS mode only). */
  get caPem(): string | undefined {
    return this.#tls?.caPem;
  }

  get resourceVersion(): number {
    return this.#store.resourceVersion;
  }

  get compactionFloor(): number {
    return this.#store.floor;
  }

  get openWatches(): number {
    return this.#watches.size;
  }

  kubeconfigYaml(token?: string): string {
    return kubeconfigYaml({ url: this.url, caPem: this.caPem, namespace: this.#namespace }, token);
  }

  /** For `KubeConfig.loadFromCluster(dir)`; it speaks https only, so start the fake with `tls: true`. */
  writeInClusterFiles(dir: string, token: string): Promise<InClusterEnv> {
    return writeInClusterFiles(dir, { url: this.url, caPem: this.caPem, namespace: this.#namespace }, token);
  }

  /** Replaces the token table at runtime (undefined turns authentication off). */
  setTokens(tokens: Record<string, TokenScope> | undefined): void {
    this.#tokens = tokens;
  }

  /** Replaces the tokens that TokenReview knows (the others are reviewed as not authenticated). */
  setReviewedTokens(tokens: Record<string, ReviewedUser>): void {
    this.#reviewedTokens = tokens;
  }

  // ---- mutations -------------------------------------------------------------------------------------------

  create(resource: ResourceName, obj: KubeObject): KubeObject {
    return this.#withKind(resource, this.#store.create(resource, obj));
  }

  update(resource: ResourceName, obj: KubeObject): KubeObject {
    return this.#withKind(resource, this.#store.update(resource, obj));
  }

  delete(resource: ResourceName, namespace: string, name: string): KubeObject {
    return this.#withKind(resource, this.#store.delete(resource, namespace, name));
  }

  get(resource: ResourceName, namespace: string, name: string): KubeObject | undefined {
    const obj = this.#store.get(resource, namespace, name);
    return obj === undefined ? undefined : this.#withKind(resource, obj);
  }

  #withKind(resource: ResourceName, obj: KubeObject): KubeObject {
    const info = RESOURCES[resource];
    return { kind: info.kind, apiVersion: info.apiVersion, ...obj };
  }

  // ---- fault hooks -----------------------------------------------------------------------------------------

  /** Ends every open watch cleanly (terminating chunk, no ERROR event). */
  endAllWatches(): void {
    for (const w of [...this.#watches]) w.end();
  }

  /** Raises the compaction floor to the current RV: older watch RVs and all continue tokens get 410. */
  compact(): void {
    this.#store.compact();
  }

  /** Writes a 410 Expired ERROR event on every open watch and leaves the connections open. */
  sendExpiredOnWatches(): void {
    for (const w of this.#watches) w.sendExpired();
  }

  /** The next matching request(s) fail with this HTTP status and the apiserver's Status body. */
  failNext(options: FailNextOptions): void {
    this.#faults.failNext(options);
  }

  /** Tears down the TCP connection under every open watch. */
  destroyWatchSockets(): void {
    for (const w of [...this.#watches]) w.destroy();
  }

  /**
   * `before-headers`: matching requests get no response until unstall(). `after-headers`: headers go out but no
   * body bytes do (open watches included) until unstall(); a stall the client sees only as silence.
   */
  stall(options: StallOptions): void {
    this.#faults.stall(options);
  }

  unstall(): void {
    this.#faults.unstall();
  }

  /** The next watch event written (on any watch) goes out in several writes with pauses between them. */
  splitNextEvent(options?: SplitOptions): void {
    this.#faults.splitNextEvent(options);
  }

  /** Closes the listener and every connection: clients get ECONNREFUSED until resumeListening(). */
  async stopListening(): Promise<void> {
    if (!this.#listening) return;
    this.#listening = false;
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    for (const w of [...this.#watches]) w.destroy();
    for (const s of this.#sockets) s.destroy();
    await closed;
  }

  /** Listens again on the same port. */
  async resumeListening(): Promise<void> {
    if (this.#listening || this.#closed) return;
    await this.#listen(this.#port);
  }

  // ---- waiting helpers for tests ---------------------------------------------------------------------------

  async waitFor(condition: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!condition()) {
      if (Date.now() > deadline)
        throw new Error(`fake apiserver: timed out after ${timeoutMs} ms waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  waitForOpenWatches(count: number, timeoutMs?: number): Promise<void> {
    return this.waitFor(() => this.#watches.size >= count, timeoutMs, `${count} open watch(es)`);
  }

  async waitForRequest(
    predicate: (entry: RequestLogEntry) => boolean,
    timeoutMs?: number,
  ): Promise<RequestLogEntry> {
    let found: RequestLogEntry | undefined;
    await this.waitFor(
      () => (found = this.requests.find(predicate)) !== undefined,
      timeoutMs,
      'a matching request',
    );
    if (found === undefined) throw new Error('unreachable');
    return found;
  }

  clearRequests(): void {
    this.requests.length = 0;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const cancel of [...this.#pendingStalls]) cancel();
    this.#faults.reset();
    await this.stopListening();
    this.#store.clear();
    await this.#tls?.remove();
  }

  // ---- HTTP ------------------------------------------------------------------------------------------------

  async #listen(port: number): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      this.#server.once('error', onError);
      this.#server.listen(port, '127.0.0.1', () => {
        this.#server.off('error', onError);
        resolve();
      });
    });
    const address = this.#server.address();
    if (address === null || typeof address === 'string') throw new Error('fake apiserver: no TCP address');
    this.#port = address.port;
    this.#listening = true;
  }

  #send(
    res: ServerResponse,
    entry: RequestLogEntry,
    code: number,
    body: object | string,
    headers = {},
  ): void {
    entry.status = code;
    const text = typeof body === 'string' ? body : JSON.stringify(body) + '\n';
    const type = typeof body === 'string' ? 'text/plain; charset=utf-8' : 'application/json';
    res.writeHead(code, { 'Content-Type': type, ...headers });
    res.end(text);
  }

  #sendStatus(res: ServerResponse, entry: RequestLogEntry, body: Status, retryAfterSeconds?: number): void {
    const headers: Record<string, string> = {};
    if (retryAfterSeconds !== undefined) headers['Retry-After'] = String(retryAfterSeconds);
    this.#send(res, entry, body.code, body, headers);
  }

  /** The bookkeeping of the connection `socket`; on its first request, whether it was opened beside an idle one. */
  #useOf(socket: Socket): { open: number; idleSince: number } {
    const known = this.#connectionUse.get(socket);
    if (known !== undefined) return known;
    for (const other of this.#connectionUse.values()) {
      if (other.open === 0) {
        this.#connectionsOpenedBesideIdle += 1;
        break;
      }
    }
    const use = { open: 0, idleSince: performance.now() };
    this.#connectionUse.set(socket, use);
    socket.once('close', () => {
      this.#connectionUse.delete(socket);
      if (use.open === 0 && performance.now() - use.idleSince >= IDLE_CLOSE_MS)
        this.#connectionsClosedIdle += 1;
    });
    return use;
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.#inFlight += 1;
    this.#peakInFlight = Math.max(this.#peakInFlight, this.#inFlight);
    const use = this.#useOf(req.socket);
    use.open += 1;
    res.once('close', () => {
      this.#inFlight -= 1;
      use.open -= 1;
      if (use.open === 0) use.idleSince = performance.now();
    });
    const url = new URL(req.url ?? '/', 'http://fake');
    const token = bearerToken(req.headers.authorization);
    const r = route(url.pathname);
    const entry: RequestLogEntry = {
      method: req.method ?? 'GET',
      path: url.pathname,
      query: url.searchParams,
      verb: undefined,
      resource: r.kind === 'resource' ? r.resource.name : undefined,
      namespace: r.kind === 'resource' ? r.namespace : undefined,
      name: r.kind === 'resource' ? r.name : undefined,
      status: 0,
      token,
      at: Date.now(),
    };
    this.requests.push(entry);
    res.setHeader('Audit-Id', randomUUID());
    res.setHeader('Cache-Control', 'no-cache, private');

    const isPublic = r.kind === 'discovery' && ['/version', '/healthz', '/livez', '/readyz'].includes(r.path);
    // Authentication runs before routing in the apiserver, so a bad token beats a bad path.
    const unauthenticated = isPublic ? undefined : authenticate(this.#tokens, token);
    if (unauthenticated !== undefined) return this.#sendStatus(res, entry, unauthenticated);
    if (url.pathname === TOKEN_REVIEWS_PATH) return this.#tokenReview(req, res, entry, token);
    if (r.kind === 'unknown') return this.#sendStatus(res, entry, pathNotFound());
    if (req.method !== 'GET') return this.#sendStatus(res, entry, methodNotAllowed(req.method ?? ''));
    if (r.kind === 'discovery') {
      const doc = discoveryDocument(r.path, `127.0.0.1:${this.#port}`);
      return doc === undefined
        ? this.#sendStatus(res, entry, pathNotFound())
        : this.#send(res, entry, 200, doc);
    }

    const verb = verbOf(r, url.searchParams);
    entry.verb = verb;
    const denied = authorize(this.#tokens, token, r.resource, verb, r.namespace, r.name);
    if (denied !== undefined) return this.#sendStatus(res, entry, denied);
    if (r.resource.name === 'endpoints') res.setHeader('Warning', ENDPOINTS_WARNING);

    const failure = this.#faults.takeFailure(verb, r.resource.name);
    if (failure !== undefined) {
      const body = injected(
        failure.status,
        r.resource,
        verb,
        r.namespace,
        r.name,
        failure.retryAfterSeconds,
        this.#store.floor,
      );
      const retryAfter =
        failure.status === 429 ? (failure.retryAfterSeconds ?? 1) : failure.retryAfterSeconds;
      return this.#sendStatus(res, entry, body, retryAfter);
    }

    if (this.#faults.isStalled(verb, r.resource.name, 'before-headers')) {
      if (!(await this.#stallUntilReleased())) {
        res.socket?.destroy();
        return;
      }
    }

    if (verb === 'get') return this.#get(res, entry, r);
    if (verb === 'list') return this.#list(res, entry, r, url.searchParams);
    return this.#watch(res, entry, r, url.searchParams);
  }

  /** `create tokenreviews`: POST only, and only for a reviewer token that RBAC lets create them. */
  async #tokenReview(
    req: IncomingMessage,
    res: ServerResponse,
    entry: RequestLogEntry,
    token: string | undefined,
  ): Promise<void> {
    if (req.method !== 'POST') return this.#sendStatus(res, entry, methodNotAllowed(req.method ?? ''));
    const scope =
      this.#tokens === undefined || token === undefined || !Object.hasOwn(this.#tokens, token)
        ? undefined
        : this.#tokens[token];
    if (this.#tokens !== undefined && (scope === undefined || !mayReviewTokens(scope))) {
      const user = scope?.user ?? DEFAULT_USER;
      return this.#sendStatus(
        res,
        entry,
        status(
          403,
          'Forbidden',
          `tokenreviews.authentication.k8s.io is forbidden: User "${user}" cannot create resource "tokenreviews" in API group "authentication.k8s.io" at the cluster scope`,
          { group: 'authentication.k8s.io', kind: 'tokenreviews' },
        ),
      );
    }
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const answer = reviewToken(Buffer.concat(chunks).toString('utf8'), this.#reviewedTokens);
    if ('kind' in answer) return this.#sendStatus(res, entry, answer);
    this.#send(res, entry, answer.code, answer.review);
  }

  /** Resolves true at unstall(), false when the server closes first. */
  async #stallUntilReleased(): Promise<boolean> {
    const wait = this.#faults.waitForUnstall();
    this.#pendingStalls.add(wait.cancel);
    await wait.promise;
    this.#pendingStalls.delete(wait.cancel);
    return !this.#closed;
  }

  #get(res: ServerResponse, entry: RequestLogEntry, r: ResourceRoute): void {
    const obj = this.#store.get(r.resource.name, r.namespace ?? '', r.name ?? '');
    if (obj === undefined) return this.#sendStatus(res, entry, notFound(r.resource, r.name ?? ''));
    this.#send(res, entry, 200, this.#withKind(r.resource.name, obj));
  }

  #selectors(query: URLSearchParams): { labels: Selector; fields: Selector } | Status {
    try {
      return {
        labels: parseLabelSelector(query.get('labelSelector')),
        fields: parseFieldSelector(query.get('fieldSelector')),
      };
    } catch (err) {
      if (err instanceof SelectorError) return badRequest(err.message);
      throw err;
    }
  }

  async #list(res: ServerResponse, entry: RequestLogEntry, r: ResourceRoute, query: URLSearchParams) {
    const info = r.resource;
    const selectors = this.#selectors(query);
    if (isStatus(selectors)) return this.#sendStatus(res, entry, selectors);
    const limit = parseNonNegativeInt(query.get('limit'), 'limit');
    if (isStatus(limit)) return this.#sendStatus(res, entry, limit);

    let snapshot: Snapshot | undefined;
    let after: KubeObject | undefined;
    const token = query.get('continue');
    if (token !== null && token !== '') {
      const decoded = decodeContinue(token);
      if (decoded === undefined) return this.#sendStatus(res, entry, badRequest('continue key is not valid'));
      snapshot = this.#store.findSnapshot(info.name, decoded.rv);
      if (snapshot === undefined) return this.#sendStatus(res, entry, continueExpired());
      after = decoded.after;
    } else if (limit !== undefined && limit > 0) {
      snapshot = this.#store.snapshot(info.name);
    } else {
      snapshot = {
        resource: info.name,
        rv: this.#store.resourceVersion,
        items: this.#store.current(info.name),
      };
    }

    const start = after;
    const matching = snapshot.items.filter(
      (o) =>
        (r.namespace === undefined || o.metadata.namespace === r.namespace) &&
        (start === undefined || compareObjects(o, start) > 0) &&
        selectors.labels.matches(o) &&
        selectors.fields.matches(o),
    );
    const page = limit !== undefined && limit > 0 ? matching.slice(0, limit) : matching;
    const remaining = matching.length - page.length;
    const metadata: Record<string, unknown> = { resourceVersion: String(snapshot.rv) };
    const last = page[page.length - 1];
    if (remaining > 0 && last !== undefined) {
      metadata['continue'] = encodeContinue(snapshot.rv, last);
      // The apiserver counts the rest only when no selector filters it (counting would mean reading it all).
      if (query.get('labelSelector') === null && query.get('fieldSelector') === null) {
        metadata['remainingItemCount'] = remaining;
      }
    }
    const body = { kind: info.listKind, apiVersion: info.apiVersion, metadata, items: page };

    if (this.#faults.isStalled('list', info.name, 'after-headers')) {
      entry.status = 200;
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.flushHeaders();
      if (!(await this.#stallUntilReleased())) {
        res.socket?.destroy();
        return;
      }
      res.end(JSON.stringify(body) + '\n');
      return;
    }
    this.#send(res, entry, 200, body);
  }

  #watch(res: ServerResponse, entry: RequestLogEntry, r: ResourceRoute, query: URLSearchParams): void {
    const info: ResourceInfo = r.resource;
    const selectors = this.#selectors(query);
    if (isStatus(selectors)) return this.#sendStatus(res, entry, selectors);
    const rvParam = query.get('resourceVersion');
    const rv = parseNonNegativeInt(rvParam, 'resource version');
    if (isStatus(rv)) return this.#sendStatus(res, entry, rv);
    const timeout = parseNonNegativeInt(query.get('timeoutSeconds'), 'timeoutSeconds');
    if (isStatus(timeout)) return this.#sendStatus(res, entry, timeout);
    const bookmarks = query.get('allowWatchBookmarks') === 'true';
    const sendInitialEvents = query.get('sendInitialEvents') === 'true';
    if (sendInitialEvents && !bookmarks) {
      return this.#sendStatus(
        res,
        entry,
        badRequest(
          'allowWatchBookmarks: Required value: allowWatchBookmarks must be set to true when sendInitialEvents is set',
        ),
      );
    }

    const stream = new WatchStream({
      res,
      info,
      namespace: r.namespace,
      labels: selectors.labels,
      fields: selectors.fields,
      store: this.#store,
      faults: this.#faults,
      resourceVersion: rv === undefined || rv === 0 ? undefined : rv,
      sendInitialEvents,
      bookmarkIntervalMs: bookmarks ? this.#bookmarkIntervalMs : undefined,
      // timeoutSeconds=0 means "server default", as in the apiserver.
      timeoutMs: timeout !== undefined && timeout > 0 ? timeout * 1000 : this.#defaultWatchTimeoutMs,
      onClose: (s) => this.#watches.delete(s),
    });
    this.#watches.add(stream);
    entry.status = 200;
    stream.start();
  }
}

/** How long a connection must have been without a request for its close to count as an idle expiry. */
const IDLE_CLOSE_MS = 1000;
