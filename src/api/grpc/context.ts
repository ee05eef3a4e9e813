// What every Discovery handler needs from the rest of the process, and the one rule they share: answer only once
// the first sync is in and until shutdown begins; otherwise UNAVAILABLE, so that clients go to another replica.
import type { sendUnaryData, ServerUnaryCall } from '@grpc/grpc-js';
import type { Readiness } from '../../observability/readiness.ts';
import type { StoreReader } from '../../store/faces.ts';
import { notSyncedYet, shuttingDown, type StatusError } from './errors.ts';
import type { DiscoveryCodec } from './messages.ts';

export interface DiscoveryContext {
  readonly store: StoreReader;
  readonly readiness: Readiness;
  readonly codec: DiscoveryCodec;
  /** At most this many services named in one Watch request. */
  readonly maxWatchedServices: number;
  /** True once this server's shutdown has begun (it may begin before the process's readiness says so). */
  closing(): boolean;
}

/** Why a call must not be answered now, or undefined when it may. */
export function unavailability(context: DiscoveryContext): StatusError | undefined {
  if (context.closing() || context.readiness.shuttingDown) return shuttingDown();
  if (!context.readiness.synced) return notSyncedYet();
  return undefined;
}

/**
 * A unary Discovery handler: refused while unavailable, else answered with `answer`'s bytes. `answer` throws a
 * StatusError for a request it refuses (INVALID_ARGUMENT, NOT_FOUND): that is then the call's status.
 */
export function unaryHandler<Request>(
  context: DiscoveryContext,
  answer: (request: Request) => Buffer,
): (call: ServerUnaryCall<Request, Buffer>, callback: sendUnaryData<Buffer>) => void {
  return (call, callback) => {
    const refusal = unavailability(context);
    if (refusal !== undefined) return callback(refusal);
    let bytes: Buffer;
    try {
      bytes = answer(call.request);
    } catch (error) {
      return callback(error as Error);
    }
    callback(null, bytes);
  };
}
