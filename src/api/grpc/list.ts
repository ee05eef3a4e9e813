// Discovery.ListServices: the services known (of one namespace, or all), with versions and endpoint counts.
import type { sendUnaryData, ServerUnaryCall } from '@grpc/grpc-js';
import { unavailability, type DiscoveryContext } from './context.ts';
import { listNamespace } from './request.ts';
import type { ListServicesRequestMessage } from './wire.ts';

export function listServicesHandler(
  context: DiscoveryContext,
): (call: ServerUnaryCall<ListServicesRequestMessage, Buffer>, callback: sendUnaryData<Buffer>) => void {
  return (call, callback) => {
    const refusal = unavailability(context);
    if (refusal !== undefined) return callback(refusal);
    let namespace;
    try {
      namespace = listNamespace(call.request);
    } catch (error) {
      return callback(error as Error);
    }
    callback(null, context.codec.listResponse(context.store.list(namespace)));
  };
}
