// The life of one ADS stream, whichever variant: wiring the call, counting requests, remembering the client's node,
// tracking which types it subscribed to, flushing per type while the client reads, ending, and cleaning up. The
// state-of-the-world and delta streams only say how a request changes a type's state and what a response holds.
import * as grpc from '@grpc/grpc-js';
import {
  kindOfTypeUrl,
  markChanged,
  StreamPump,
  wireCall,
  type DirtyTracking,
  type StreamDeps,
} from './stream-common.ts';
import { clip } from '../../limits/bounded-text.ts';
import { callerOfNode, type XdsCaller } from './caller.ts';
import { ServiceInterest, type ChangeListener } from './subscriptions.ts';
import type { Node, ResourceKind } from './wire.ts';

/** What every ADS request carries, in either variant. */
export interface AdsRequest {
  readonly node?: Node;
  readonly type_url: string;
}

/** What a type's state must offer the shared flush: which names changed, and whether an answer is owed. */
export interface TypeStateBase extends DirtyTracking {
  mustAnswer: boolean;
  /** The names subscribed to (a wildcard aside): what the per-stream bound counts. */
  readonly names: ReadonlySet<string>;
}

export abstract class AdsStream<
  Req extends AdsRequest,
  Res,
  State extends TypeStateBase,
> implements ChangeListener {
  protected readonly deps: StreamDeps;
  protected readonly pump: StreamPump;
  protected readonly interest: ServiceInterest;
  /** Per type URL, what the client subscribed to and what it was sent. */
  protected readonly types = new Map<string, State>();
  /** The client's node id, from the first request that carries one (clients send it once). */
  protected node: string | undefined;
  /**
   * Where the client is, from the stream's first request (`Node.locality`), for the whole stream: xDS clients send
   * their node once, and a later request that says otherwise is ignored, so that one stream never mixes two
   * callers' assignments. undefined: the caller said nothing (it gets what every caller got before topology).
   */
  protected caller: XdsCaller | undefined;
  #firstRequest = true;
  readonly #onClose: () => void;
  #nonce = 0;
  #closedOnce = false;

  constructor(call: grpc.ServerDuplexStream<Req, Res>, deps: StreamDeps, onClose: () => void) {
    this.deps = deps;
    this.#onClose = onClose;
    this.pump = new StreamPump(call, () => this.#flush(), deps.synced);
    this.interest = new ServiceInterest(deps.watchers, this);
    wireCall(
      call,
      (request) => this.#receive(request),
      this.pump,
      () => this.closed(),
    );
  }

  /** Ends the stream with `status` (shutdown: UNAVAILABLE, so that clients reconnect, elsewhere if they can). */
  end(status: Partial<grpc.StatusObject>): void {
    this.pump.end(status);
    this.closed();
  }

  /** Called when the first sync completes (responses were held until then). */
  resume(): void {
    this.pump.schedule();
  }

  servicesChanged(serviceIds: ReadonlySet<string>): void {
    markChanged(this.types, this.interest, serviceIds);
    this.pump.schedule();
  }

  /** Names this stream subscribes to now, all types together (at most four types: no walk of the names). */
  protected heldNames(): number {
    let held = 0;
    for (const state of this.types.values()) held += state.names.size;
    return held;
  }

  /**
   * Ends the stream with RESOURCE_EXHAUSTED when a request would take it past the names allowed per stream; true
   * when it did (the request must then be dropped). xDS has no per-request refusal: ending the stream with a clear
   * status is the only answer a client sees, and it keeps nothing of the oversized subscription.
   */
  protected refuseOverBound(wouldHold: number): boolean {
    const max = this.deps.maxNamesPerStream;
    if (wouldHold <= max) return false;
    const details =
      `this stream would subscribe to ${wouldHold} resource names, more than the ${max} allowed per stream ` +
      '(all types together; --xds-max-names-per-stream): subscribe to fewer names, or use a wildcard';
    this.deps.onRefused('too_many_resource_names', details);
    this.end({ code: grpc.status.RESOURCE_EXHAUSTED, details });
    return true;
  }

  /** Applies one request of a type this server serves. */
  protected abstract onRequest(kind: ResourceKind, request: Req): void;

  /** The response a type's state calls for now, or undefined when nothing is to be sent. */
  protected abstract respond(state: State): Res | undefined;

  /** A nonce unique within this server instance's streams. */
  protected nextNonce(): string {
    this.#nonce += 1;
    return `${this.deps.streamId}.${this.#nonce}`;
  }

  protected closed(): void {
    if (this.#closedOnce) return;
    this.#closedOnce = true;
    this.pump.markEnded();
    this.interest.clear();
    this.types.clear();
    this.#onClose();
  }

  #receive(request: Req): void {
    const deps = this.deps;
    deps.stats.requests += 1;
    if (request.node !== undefined && this.node === undefined) this.node = request.node.id;
    if (this.#firstRequest) {
      this.#firstRequest = false;
      const { caller, problems } = callerOfNode(request.node);
      this.caller = caller;
      // Keyed by what the client cannot choose freely per stream (its address) and what is wrong (the fields), not
      // by its node id, which a client reconnecting in a loop could change each time.
      const admitted =
        problems.length > 0
          ? deps.localityLog.admit(`${deps.client} ${problems.map((p) => p.field).join(',')}`)
          : undefined;
      if (admitted?.log === true) {
        deps.logger.warn(
          {
            stream: deps.streamId,
            client: deps.client,
            node: this.node === undefined ? undefined : clip(this.node),
            problems,
            // Streams of this client with the same fields wrong since the last line, not logged one by one.
            ...(admitted.notLogged > 0 ? { streamsNotLogged: admitted.notLogged } : {}),
          },
          'xDS node locality ignored: not a label value (nor, for sub_zone, a node name): answered as if not said',
        );
      }
    }
    if (this.pump.ended) return;
    const kind = kindOfTypeUrl(request.type_url);
    if (kind === undefined) {
      deps.logger.debug({ stream: deps.streamId, typeUrl: request.type_url }, 'xDS type not served');
      return;
    }
    this.onRequest(kind, request);
  }

  #flush(): void {
    for (const state of this.types.values()) {
      if (!state.mustAnswer && !state.allDirty && state.dirty.size === 0) continue;
      const response = this.respond(state);
      state.dirty.clear();
      state.allDirty = false;
      if (response === undefined) continue;
      if (!this.pump.write(response)) return;
    }
  }
}
