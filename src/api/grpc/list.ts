// Discovery.ListServices: the services known (of one namespace, or all; of one named cluster, or all), with
// versions and endpoint counts.
import { cachedViewVersion } from '../../views/cached-view-version.ts';
import { clusterSummaries } from '../../views/service-view.ts';
import { unaryHandler, type DiscoveryContext } from './context.ts';
import { listQuery, requireKnownCluster } from './request.ts';
import type { ListServicesRequestMessage } from './wire.ts';

export function listServicesHandler(context: DiscoveryContext) {
  return unaryHandler<ListServicesRequestMessage>(context, (request) => {
    const { namespace, cluster } = listQuery(request);
    requireKnownCluster({ allEndpoints: true, port: undefined, cluster }, context.readiness.clusterNames());
    const { store } = context;
    return context.codec.listResponse(
      clusterSummaries(store.list(namespace), cluster, (s, view) =>
        cachedViewVersion(store.encoded, s, view),
      ),
    );
  });
}
