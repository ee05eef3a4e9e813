// Discovery.Resolve: one service's current state in the view asked for, as bytes encoded once per (version, view).
import type { sendUnaryData, ServerUnaryCall } from '@grpc/grpc-js';
import { status } from '@grpc/grpc-js';
import { unknownPortDetail } from '../../views/service-view.ts';
import { unavailability, type DiscoveryContext } from './context.ts';
import { serviceNotFound, StatusError } from './errors.ts';
import { resolveQuery } from './request.ts';
import type { ResolveRequestMessage } from './wire.ts';

export function resolveHandler(
  context: DiscoveryContext,
): (call: ServerUnaryCall<ResolveRequestMessage, Buffer>, callback: sendUnaryData<Buffer>) => void {
  return (call, callback) => {
    const refusal = unavailability(context);
    if (refusal !== undefined) return callback(refusal);
    let query;
    try {
      query = resolveQuery(call.request);
    } catch (error) {
      return callback(error as Error);
    }
    const snapshot = context.store.get(query.key);
    if (snapshot === undefined) return callback(serviceNotFound(query.key));
    const unknownPort = unknownPortDetail(snapshot, query.view);
    if (unknownPort !== undefined) return callback(new StatusError(status.NOT_FOUND, unknownPort));
    callback(null, context.codec.resolveResponse(snapshot, query.view));
  };
}
