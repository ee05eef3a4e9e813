// One Discovery.Watch stream: the current state of what it watches, a `synced` marker, then every change. A change
// is written as soon as the store announces it: inside the store's fan-out for the first streams (in the order they
// subscribed), in the next turns of the event loop for the rest (FanOutTurns), so that the first bytes leave while
// later streams are still being written — one macrotask per stream made the first wait for all the others. The
// message is the shared pre-encoded one (the codec's cache). Back-pressure is per stream: it writes the next
// message only once the previous ones have left grpc-js for HTTP/2 (whose flow control stops a client that does not
// read); grpc-js itself would buffer 16 messages per call before saying it is full. What changes meanwhile waits in
// the store's subscriptions, where the latest state of a service replaces an older one, so a client that stops
// reading costs bounded memory however often things change. With caller locality, versions are those of the
// caller's answers, and a change that leaves its answer as it was (another zone's endpoints) is not sent.
import type { ServerWritableStream } from '@grpc/grpc-js';
import { serviceKeyString, type ServiceKey, type ServiceSnapshot } from '../../model.ts';
import type { ServiceChange, Subscription } from '../../store/subscription.ts';
import { cachedViewVersion } from '../../views/cached-view-version.ts';
import { changeInClusterView, inClusterView } from '../../views/clusters.ts';
import { sentViewVersions, type SentViewVersions } from '../../views/sent-view-versions.ts';
import { viewForm, viewHasOwnVersion, type ViewOptions } from '../../views/service-view.ts';
import type { DiscoveryContext } from './context.ts';
import { frame } from './framed-message.ts';
import type { DiscoveryCodec, StateEventKind } from './messages.ts';
import type { StatusError } from './errors.ts';
import type { WatchQuery, WatchScope } from './request.ts';
import type { ServiceVersionMessage, WatchRequestMessage } from './wire.ts';

export type WatchCall = ServerWritableStream<WatchRequestMessage, Buffer>;

/** Messages a stream may have in grpc-js at once: enough to keep a reading client busy, not a queue. */
const MAX_IN_FLIGHT = 2;

/**
 * Streams written to per turn of the event loop when a change fans out. HTTP/2 sends what was written only after the
 * JavaScript that wrote it returns (once per connection, in a native immediate), so one pass over 10,000 streams
 * (~5 µs each) would hold every byte back for ~50 ms; in turns of this many, the first ones leave after a fraction
 * of a millisecond while the rest are written, in subscription order. 64 rather than 256: the bytes of each turn
 * leave (and their writes complete) while later streams wait, and the first delivery came ~2× sooner with the
 * server's CPU a change no higher (bench/compare-fanout.ts A/Bs, 1,000 and 10,000 streams); 32 measured no better.
 */
const WRITES_PER_TURN = 64;

/**
 * Runs the stream flushes that changes trigger: at once while this turn's budget lasts, then the rest in later turns,
 * first come first served. A queued stream loses nothing: what changes meanwhile merges into its subscription
 * (latest wins) and it writes the latest state when its turn comes.
 */
export class FanOutTurns {
  readonly #perTurn: number;
  readonly #queue: Array<() => void> = [];
  #budget: number;
  #turnScheduled = false;

  constructor(perTurn: number) {
    this.#perTurn = perTurn;
    this.#budget = perTurn;
  }

  run(flush: () => void): void {
    if (this.#queue.length === 0 && this.#budget > 0) {
      this.#budget -= 1;
      this.#scheduleTurn();
      flush();
      return;
    }
    this.#queue.push(flush);
    this.#scheduleTurn();
  }

  #scheduleTurn(): void {
    if (this.#turnScheduled) return;
    this.#turnScheduled = true;
    setImmediate(() => this.#turn());
  }

  #turn(): void {
    this.#turnScheduled = false;
    this.#budget = this.#perTurn;
    const now = this.#queue.splice(0, this.#perTurn);
    this.#budget -= now.length;
    if (this.#queue.length > 0 || now.length > 0) this.#scheduleTurn();
    for (const flush of now) flush();
  }
}

/** One for the process: the budget is the event loop's, shared by every stream. */
const FAN_OUT = new FanOutTurns(WRITES_PER_TURN);

/**
 * The state event written last, framed for the wire (framed-message.ts): in one fan-out every stream asks for the
 * same (snapshot, kind, view), and this answers them with one Buffer, without building the encoded cache's key and
 * looking it up (two string builds and an LRU update, ~1 µs a stream, most of it garbage) and without grpc-js
 * framing a copy for each stream. Keyed by the snapshot object, which is immutable (same object, same version),
 * and by the codec, so two servers in one process never share an answer. One entry: the framed copy lives as long
 * as it is the latest, not as long as the encoded cache keeps the message.
 */
const lastStateEvent: {
  codec?: DiscoveryCodec;
  snapshot?: ServiceSnapshot;
  kind?: StateEventKind;
  form?: string;
  bytes?: Buffer;
} = {};

function stateEvent(
  codec: DiscoveryCodec,
  kind: StateEventKind,
  snapshot: ServiceSnapshot,
  view: ViewOptions,
  form: string,
): Buffer {
  const last = lastStateEvent;
  if (
    last.bytes !== undefined &&
    last.snapshot === snapshot &&
    last.codec === codec &&
    last.kind === kind &&
    last.form === form
  )
    return last.bytes;
  const bytes = frame(codec.stateEvent(kind, snapshot, view));
  last.codec = codec;
  last.snapshot = snapshot;
  last.kind = kind;
  last.form = form;
  last.bytes = bytes;
  return bytes;
}

/**
 * The `deleted` event written last, framed: a service's deletion fans out like a change, and its message (the key
 * only) was encoded anew for every stream. Keyed by the service's id and the codec.
 */
const lastDeletedEvent: { codec?: DiscoveryCodec; id?: string; bytes?: Buffer } = {};

function deletedEvent(codec: DiscoveryCodec, id: string, key: ServiceKey): Buffer {
  const last = lastDeletedEvent;
  if (last.bytes !== undefined && last.id === id && last.codec === codec) return last.bytes;
  const bytes = frame(codec.deleted(key));
  last.codec = codec;
  last.id = id;
  last.bytes = bytes;
  return bytes;
}

export class WatchStream {
  /** Streams with equal keys watch the same services: one heartbeat encoding serves them all. */
  readonly scopeKey: string;
  readonly scope: WatchScope;
  readonly view: ViewOptions;
  /** The view's name in the encoded cache, made once: every change of every service asks for it. */
  readonly #viewForm: string;
  readonly #call: WatchCall;
  readonly #context: DiscoveryContext;
  readonly #query: WatchQuery;
  readonly #subscriptions: Subscription[] = [];
  /** Messages about the state at start that no store change can express (`absent`): written before any change. */
  readonly #initial: Buffer[] = [];
  readonly #onClosed: (stream: WatchStream) => void;
  #synced = false;
  #ended = false;
  /** Until open() has queued the state at start, a change must wait for it (it is written after). */
  #opened = false;
  readonly #flushNow = (): void => this.#flush();
  /** The callback of every write (one function for the stream, not one allocated per message). */
  readonly #written = (): void => {
    this.#inFlight -= 1;
    this.#flush();
  };
  /** Messages handed to grpc-js whose write has not completed yet. */
  #inFlight = 0;
  /** What the client holds of each service's answer: a change its view does not show is not sent. */
  readonly #sent: SentViewVersions;
  /**
   * Named services (scope `services`) that existed at start, which the client did not hold, and of which nothing was
   * written yet. If one is deleted before its turn, its queued change merges into nothing (the client never held
   * it): without this it would be reported neither `added` nor `absent` before `synced`.
   */
  readonly #unreported = new Map<string, ServiceKey>();

  constructor(
    call: WatchCall,
    query: WatchQuery,
    context: DiscoveryContext,
    onClosed: (stream: WatchStream) => void,
  ) {
    this.#call = call;
    this.#context = context;
    this.#query = query;
    this.scope = query.scope;
    this.view = query.view;
    this.#viewForm = viewForm(query.view);
    this.scopeKey = scopeKey(query.scope, query.view);
    this.#onClosed = onClosed;
    this.#sent = sentViewVersions(context.store.encoded, query.view);
  }

  /** Subscribes, queues the current state, and starts writing. */
  open(): void {
    const { store } = this.#context;
    const onPending = (): void => {
      if (this.#opened) FAN_OUT.run(this.#flushNow);
    };
    // Subscribe before reading the current state: both are synchronous, so no change can fall between them.
    const scope = this.scope;
    if (scope.kind === 'services') {
      for (const key of scope.keys)
        this.#subscriptions.push(store.subscribe({ kind: 'service', key }, onPending));
      scope.keys.forEach((key, i) => {
        const current = inClusterView(store.get(key), this.view.cluster);
        if (current === undefined) this.#initial.push(this.#context.codec.absent(key));
        else this.#queueInitial(this.#subscriptions[i], key, current);
      });
    } else {
      const subscription = store.subscribe(scope, onPending);
      this.#subscriptions.push(subscription);
      const namespace = scope.kind === 'namespace' ? scope.namespace : undefined;
      const present = new Set<string>();
      for (const snapshot of store.list(namespace).filter((s) => inClusterView(s, this.view.cluster))) {
        present.add(serviceKeyString(snapshot));
        this.#queueInitial(subscription, snapshot, snapshot);
      }
      // What the client holds but no longer exists: tell it to drop it.
      for (const id of this.#query.known.keys()) {
        if (!present.has(id)) this.#queueInitial(subscription, keyOf(id), undefined);
      }
    }
    const call = this.#call;
    call.on('cancelled', () => this.#close());
    call.on('error', () => this.#close());
    call.on('close', () => this.#close());
    this.#opened = true;
    this.#flush();
  }

  /** A heartbeat is due only on a stream that has sent all it knows and whose client reads. */
  wantsHeartbeat(): boolean {
    return (
      this.#synced &&
      !this.#ended &&
      this.#inFlight === 0 &&
      this.#initial.length === 0 &&
      this.#subscriptions.every((s) => s.pendingCount === 0)
    );
  }

  write(bytes: Buffer): void {
    if (!this.#ended) this.#send(bytes);
  }

  /** Ends the stream with `status` (after what is buffered), e.g. UNAVAILABLE on shutdown. */
  end(status: StatusError): void {
    if (this.#ended) return;
    this.#close();
    this.#call.emit('error', status);
  }

  /**
   * Queues a service's state at start as a change from what the client holds (a stand-in of its known version) to
   * what is current. The subscription then merges later changes into it: if the service returns to the version
   * the client holds before the stream gets to it, nothing is sent at all.
   */
  #queueInitial(
    subscription: Subscription | undefined,
    key: ServiceKey,
    current: ServiceSnapshot | undefined,
  ): void {
    const id = serviceKeyString(key);
    const knownVersion = this.#query.known.get(id);
    if (knownVersion !== undefined) this.#sent.holds(id, knownVersion);
    const currentVersion =
      current === undefined
        ? undefined
        : cachedViewVersion(this.#context.store.encoded, current, this.#query.view);
    if (knownVersion !== undefined && knownVersion === currentVersion) return;
    if (this.scope.kind === 'services' && knownVersion === undefined && current !== undefined) {
      this.#unreported.set(id, key);
    }
    subscription?.deliver({
      id,
      key: { namespace: key.namespace, name: key.name },
      previous: knownVersion === undefined ? undefined : heldByClient(key, knownVersion),
      current,
    });
  }

  #flush(): void {
    while (!this.#ended && this.#inFlight < MAX_IN_FLIGHT) {
      // Checked before shift(): every flush of every stream passes here, and shift() of an empty array is not free.
      if (this.#initial.length > 0) {
        this.#send(this.#initial.shift() as Buffer);
        continue;
      }
      const change = this.#take();
      if (change === undefined) {
        if (!this.#synced) {
          if (this.#unreported.size > 0) {
            this.#reportVanished();
            continue;
          }
          this.#synced = true;
          this.#send(this.#context.codec.synced);
        }
        return;
      }
      this.#writeChange(change);
    }
  }

  /** Writes one message, counting it until grpc-js has passed it on; then what is pending may follow. */
  #send(bytes: Buffer): void {
    this.#inFlight += 1;
    this.#call.write(bytes, this.#written);
  }

  #take(): ServiceChange | undefined {
    // Indexed, not for…of: this runs once or twice a stream per change (the write's callback flushes again).
    const subscriptions = this.#subscriptions;
    for (let i = 0; i < subscriptions.length; i++) {
      const change = (subscriptions[i] as Subscription).take();
      if (change !== undefined) return changeInClusterView(change, this.view.cluster);
    }
    return undefined;
  }

  /** Before `synced`: `absent` for each named service that was deleted before its state at start was written. */
  #reportVanished(): void {
    const { store, codec } = this.#context;
    for (const key of this.#unreported.values()) {
      if (inClusterView(store.get(key), this.view.cluster) === undefined)
        this.#initial.push(codec.absent(key));
    }
    this.#unreported.clear();
  }

  #writeChange(change: ServiceChange): void {
    const { codec } = this.#context;
    if (!this.#sent.isNews(change)) return;
    const { previous, current } = change;
    if (current === undefined) {
      // Nothing to say of a service the client never held (e.g. it left the watched cluster before its turn):
      // it stays unreported, and is reported absent before `synced`.
      if (previous !== undefined) this.#send(deletedEvent(codec, change.id, change.key));
      return;
    }
    if (this.#unreported.size > 0) this.#unreported.delete(change.id);
    const kind = previous === undefined ? 'added' : 'modified';
    this.#send(stateEvent(codec, kind, current, this.#query.view, this.#viewForm));
  }

  #close(): void {
    if (this.#ended) return;
    this.#ended = true;
    for (const subscription of this.#subscriptions) subscription.close();
    this.#initial.length = 0;
    this.#onClosed(this);
  }
}

/** The current versions of what a scope watches in a view (the caller's answers' versions), for its heartbeat. */
export function heartbeatVersions(
  store: DiscoveryContext['store'],
  scope: WatchScope,
  view: ViewOptions,
): ServiceVersionMessage[] {
  const versionOf = (s: ServiceSnapshot): string => cachedViewVersion(store.encoded, s, view);
  if (scope.kind === 'services') {
    return scope.keys.map((key) => {
      const current = inClusterView(store.get(key), view.cluster);
      return {
        namespace: key.namespace,
        name: key.name,
        version: current === undefined ? '' : versionOf(current),
      };
    });
  }
  return store
    .list(scope.kind === 'namespace' ? scope.namespace : undefined)
    .filter((s) => inClusterView(s, view.cluster) !== undefined)
    .map((s) => ({ namespace: s.namespace, name: s.name, version: versionOf(s) }));
}

/** Streams of equal keys get the same heartbeat: the scope, and the view when its versions are the caller's. */
function scopeKey(scope: WatchScope, view: ViewOptions): string {
  const caller = viewHasOwnVersion(view) ? `|${viewForm(view)}` : '';
  switch (scope.kind) {
    case 'all':
      return `all${caller}`;
    case 'namespace':
      return `namespace:${scope.namespace}${caller}`;
    case 'services':
      return `services:${scope.keys.map(serviceKeyString).join(',')}${caller}`;
  }
}

function keyOf(id: string): ServiceKey {
  const slash = id.indexOf('/');
  return { namespace: id.slice(0, slash), name: id.slice(slash + 1) };
}

/** Stands for the state a client says it holds: only its version matters to the subscription's merging. */
function heldByClient(key: ServiceKey, version: string): ServiceSnapshot {
  return { namespace: key.namespace, name: key.name, ports: [], endpoints: [], version };
}
