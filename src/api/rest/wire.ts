// The JSON shapes of the REST API: the public contract documented in the README. Change them only additively.
import type { Endpoint, ObjectReference, ServiceInfo } from '../../model.ts';
import type { ServiceSummary, ServiceView } from '../../views/service-view.ts';

/** An endpoint as the model has it, every optional field present: null when unknown. */
export interface EndpointBody extends Pick<
  Endpoint,
  'addresses' | 'addressType' | 'ports' | 'ready' | 'serving' | 'terminating'
> {
  readonly hostname: string | null;
  readonly nodeName: string | null;
  readonly zone: string | null;
  readonly targetRef: ObjectReference | null;
  /** EndpointSlice hints: `forNodes` only when written (PreferSameNode); null when the endpoint has none. */
  readonly hints: { readonly forZones: readonly string[]; readonly forNodes?: readonly string[] } | null;
  /** The named cluster the endpoint came from (`--cluster`); absent without named clusters. */
  readonly cluster?: string;
}

/**
 * `GET /v1/namespaces/{ns}/services/{name}`, and the `service` of watch events: the view (src/views/), with
 * `targets` only with `?port=` (the port's routable endpoints, or with `endpoints=all` every one that has it).
 */
export interface ServiceBody extends Omit<ServiceView, 'endpoints' | 'service'> {
  readonly endpoints: readonly EndpointBody[];
  /**
   * The Service object (type, headless, externalName, ports with targetPort and appProtocol) when the source knows
   * it — the Kubernetes source does; manifests of endpoints alone do not, and then it is null.
   */
  readonly service: ServiceInfo | null;
}

/** One line of `GET /v1/services`: counts of every endpoint and of the ready ones. */
export type ServiceSummaryBody = ServiceSummary;

/** `GET /v1/services`. */
export interface ServiceListBody {
  readonly services: readonly ServiceSummaryBody[];
}

/**
 * One event of a watch stream (an NDJSON line, or an SSE `data:` field).
 * - ADDED: the service's state when the stream starts (or when it appears later); MODIFIED: a later state;
 * - DELETED: the service is gone; ABSENT: a watched service does not exist (yet) when the stream starts;
 * - SYNCED: the current state of everything asked for has been sent, changes follow;
 * - HEARTBEAT: nothing changed for a while; on a one-service stream it carries the current version.
 */
export type WatchEventBody =
  | {
      readonly type: 'ADDED' | 'MODIFIED';
      readonly namespace: string;
      readonly name: string;
      readonly version: string;
      readonly service: ServiceBody;
    }
  | { readonly type: 'DELETED' | 'ABSENT'; readonly namespace: string; readonly name: string }
  | { readonly type: 'SYNCED' }
  | { readonly type: 'HEARTBEAT'; readonly version?: string | null };

/** RFC 9457 problem details. */
export interface ProblemBody {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly detail: string;
  /** For 400s: each parameter that was wrong and why. */
  readonly invalidParams?: ReadonlyArray<{ readonly name: string; readonly reason: string }>;
}
