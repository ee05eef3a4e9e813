// Store snapshots → endpointd.v1 messages, and their protobuf bytes. A state is encoded once per (service, version,
// view, message kind) through the store's encoded-form cache and the same Buffer is then written to every call
// that needs it: encoding is what grows with the number of clients, so it must not happen per client.
import type { ServiceInfo, ServiceKey, ServicePort, ServiceSnapshot } from '../../model.ts';
import type { EncodedCache } from '../../store/encoded-cache.ts';
import { serviceView, viewForm, type ServiceSummary, type ViewOptions } from '../../views/service-view.ts';
import type { Encoder, LoadedProtos } from './proto.ts';
import type {
  ListServicesResponseMessage,
  ResolveResponseMessage,
  ServiceInfoMessage,
  ServicePortMessage,
  ServiceMessage,
  ServiceVersionMessage,
  WatchResponseMessage,
} from './wire.ts';

export type StateEventKind = 'added' | 'modified';

/**
 * The view as endpointd.v1 spells it. Endpoints go as the model has them: the proto's Endpoint has the model's
 * fields and names, and an absent optional field is proto3's default.
 */
export function serviceMessage(snapshot: ServiceSnapshot, view: ViewOptions): ServiceMessage {
  const { service, ...shown } = serviceView(snapshot, view);
  return { ...shown, ...(service === undefined ? {} : { serviceInfo: serviceInfoMessage(service) }) };
}

/** The Service object as the proto has it: the same fields, but `target_port` is a oneof of number and name. */
function serviceInfoMessage(info: ServiceInfo): ServiceInfoMessage {
  return { ...info, ports: info.ports.map(servicePortMessage) };
}

function servicePortMessage({ targetPort, ...port }: ServicePort): ServicePortMessage {
  return typeof targetPort === 'number'
    ? { ...port, targetPortNumber: targetPort }
    : { ...port, targetPortName: targetPort };
}

/** Encodes every response of endpointd.v1.Discovery; state-bearing ones once per version through the cache. */
export class DiscoveryCodec {
  readonly #cache: EncodedCache;
  readonly #resolve: Encoder<ResolveResponseMessage>;
  readonly #watch: Encoder<WatchResponseMessage>;
  readonly #list: Encoder<ListServicesResponseMessage>;
  /** Sent once per stream, always the same bytes. */
  readonly synced: Buffer;

  constructor(protos: LoadedProtos, cache: EncodedCache) {
    this.#cache = cache;
    this.#resolve = protos.encoder('endpointd.v1.ResolveResponse');
    this.#watch = protos.encoder('endpointd.v1.WatchResponse');
    this.#list = protos.encoder('endpointd.v1.ListServicesResponse');
    this.synced = this.#watch({ synced: {} });
  }

  /** A ResolveResponse, shared by every call asking for this (version, view). */
  resolveResponse(snapshot: ServiceSnapshot, view: ViewOptions): Buffer {
    return this.#cache.get(snapshot, `grpc:resolve:${viewForm(view)}`, (s) =>
      this.#resolve({ service: serviceMessage(s, view) }),
    );
  }

  /** A WatchResponse carrying the state, shared by every stream of this (version, view, kind). */
  stateEvent(kind: StateEventKind, snapshot: ServiceSnapshot, view: ViewOptions): Buffer {
    return this.#cache.get(snapshot, `grpc:watch:${kind}:${viewForm(view)}`, (s) =>
      this.#watch(
        kind === 'added' ? { added: serviceMessage(s, view) } : { modified: serviceMessage(s, view) },
      ),
    );
  }

  deleted(key: ServiceKey): Buffer {
    return this.#watch({ deleted: { namespace: key.namespace, name: key.name } });
  }

  absent(key: ServiceKey): Buffer {
    return this.#watch({ absent: { namespace: key.namespace, name: key.name } });
  }

  heartbeat(versions: readonly ServiceVersionMessage[]): Buffer {
    return this.#watch({ heartbeat: { versions } });
  }

  /** The lines of a list, as the view computed them (src/views/service-view.ts clusterSummaries). */
  listResponse(services: readonly ServiceSummary[]): Buffer {
    return this.#list({ services });
  }
}
