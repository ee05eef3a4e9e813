// Discovery.ListServices: the services known (of one namespace, or all), with versions and endpoint counts.
import { unaryHandler, type DiscoveryContext } from './context.ts';
import { listNamespace } from './request.ts';
import type { ListServicesRequestMessage } from './wire.ts';

export function listServicesHandler(context: DiscoveryContext) {
  return unaryHandler<ListServicesRequestMessage>(context, (request) =>
    context.codec.listResponse(context.store.list(listNamespace(request))),
  );
}
