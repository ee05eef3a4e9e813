// Discovery.Resolve: one service's current state in the view asked for, as bytes encoded once per (version, view).
import { status } from '@grpc/grpc-js';
import { unknownPortDetail } from '../../views/service-view.ts';
import { unaryHandler, type DiscoveryContext } from './context.ts';
import { serviceNotFound, StatusError } from './errors.ts';
import { requireKnownCluster, resolveQuery } from './request.ts';
import type { ResolveRequestMessage } from './wire.ts';

export function resolveHandler(context: DiscoveryContext) {
  return unaryHandler<ResolveRequestMessage>(context, (request) => {
    const query = resolveQuery(request);
    requireKnownCluster(query.view, context.readiness.clusterNames());
    const snapshot = context.store.get(query.key);
    if (snapshot === undefined) throw serviceNotFound(query.key);
    const unknownPort = unknownPortDetail(snapshot, query.view);
    if (unknownPort !== undefined) throw new StatusError(status.NOT_FOUND, unknownPort);
    return context.codec.resolveResponse(snapshot, query.view);
  });
}
