// Discovery.Watch: validates the request, opens a WatchStream, and keeps the set of open streams, so that one
// timer sends every stream its heartbeat (encoded once per watched scope and tick) and shutdown can end them all.
import type { ServerWritableStream } from '@grpc/grpc-js';
import { unavailability, type DiscoveryContext } from './context.ts';
import { frame } from './framed-message.ts';
import type { StatusError } from './errors.ts';
import { requireKnownCluster, watchQuery } from './request.ts';
import { heartbeatVersions, WatchStream } from './watch-stream.ts';
import type { WatchRequestMessage } from './wire.ts';

export class WatchStreams {
  readonly #context: DiscoveryContext;
  readonly #streams = new Set<WatchStream>();
  readonly #heartbeat: NodeJS.Timeout;

  /** @param heartbeatMs how often each synced stream receives a heartbeat with the current versions. */
  constructor(context: DiscoveryContext, heartbeatMs: number) {
    this.#context = context;
    this.#heartbeat = setInterval(() => this.#sendHeartbeats(), heartbeatMs);
    this.#heartbeat.unref();
  }

  get size(): number {
    return this.#streams.size;
  }

  handler(): (call: ServerWritableStream<WatchRequestMessage, Buffer>) => void {
    return (call) => {
      const refusal = unavailability(this.#context);
      if (refusal !== undefined) {
        call.emit('error', refusal);
        return;
      }
      let query;
      try {
        query = watchQuery(call.request, this.#context.maxWatchedServices);
        requireKnownCluster(query.view, this.#context.readiness.clusterNames());
      } catch (error) {
        call.emit('error', error);
        return;
      }
      const stream = new WatchStream(call, query, this.#context, (closed) => this.#streams.delete(closed));
      this.#streams.add(stream);
      stream.open();
    };
  }

  /** Ends every open stream with `status` and stops the heartbeat timer. */
  closeAll(status: StatusError): void {
    clearInterval(this.#heartbeat);
    for (const stream of [...this.#streams]) stream.end(status);
    this.#streams.clear();
  }

  #sendHeartbeats(): void {
    const encoded = new Map<string, Buffer>();
    for (const stream of this.#streams) {
      if (!stream.wantsHeartbeat()) continue;
      let bytes = encoded.get(stream.scopeKey);
      if (bytes === undefined) {
        // Framed once for every stream of the scope (framed-message.ts), not copied by grpc-js for each.
        bytes = frame(
          this.#context.codec.heartbeat(heartbeatVersions(this.#context.store, stream.scope, stream.view)),
        );
        encoded.set(stream.scopeKey, bytes);
      }
      stream.write(bytes);
    }
  }
}
