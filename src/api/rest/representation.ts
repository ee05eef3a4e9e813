// Builds the REST bodies from store snapshots. Bodies are encoded once per (service, version, options) through the
// store's encoded-form cache, so a thousand clients reading one state cost one JSON.stringify.
import type { Endpoint, ServiceSnapshot } from '../../model.ts';
import type { EncodedCache } from '../../store/encoded-cache.ts';
import { cachedViewVersion } from '../../views/cached-view-version.ts';
import { serviceView, viewForm, type ViewOptions } from '../../views/service-view.ts';
import type { EndpointBody, ServiceBody, WatchEventBody } from './wire.ts';

/** The view as JSON spells it: absent fields of an endpoint are null, and so is an unknown Service object. */
export function serviceBody(snapshot: ServiceSnapshot, view: ViewOptions): ServiceBody {
  const { service, ...shown } = serviceView(snapshot, view);
  return { ...shown, endpoints: shown.endpoints.map(endpointBody), service: service ?? null };
}

function endpointBody(endpoint: Endpoint): EndpointBody {
  return {
    addresses: endpoint.addresses,
    addressType: endpoint.addressType,
    ports: endpoint.ports,
    ready: endpoint.ready,
    serving: endpoint.serving,
    terminating: endpoint.terminating,
    hostname: endpoint.hostname ?? null,
    nodeName: endpoint.nodeName ?? null,
    zone: endpoint.zone ?? null,
    targetRef: endpoint.targetRef ?? null,
    hints: hintsBody(endpoint),
    // Only from a named cluster: answers without clusters stay as they were.
    ...(endpoint.cluster === undefined ? {} : { cluster: endpoint.cluster }),
  };
}

/** As before node hints existed when an endpoint has none: `{forZones}` or null; `forNodes` added when written. */
function hintsBody(endpoint: Endpoint): EndpointBody['hints'] {
  const { hintsForZones: forZones, hintsForNodes: forNodes } = endpoint;
  if (forZones === undefined && forNodes === undefined) return null;
  return { forZones: forZones ?? [], ...(forNodes === undefined ? {} : { forNodes }) };
}

/** The JSON body of one service, shared by every reader of that (version, view). */
export function encodedServiceBody(
  cache: EncodedCache,
  snapshot: ServiceSnapshot,
  view: ViewOptions,
): Buffer {
  return cache.get(snapshot, `rest:${viewForm(view)}`, (s) =>
    Buffer.from(JSON.stringify(serviceBody(s, view))),
  );
}

export type StreamFormat = 'sse' | 'ndjson';

/**
 * One ADDED/MODIFIED event as written on the wire, shared by every stream of that (version, view, format).
 * `withId`: SSE streams of one service carry the version as the event id, so that `Last-Event-ID` resumes.
 */
export function encodedStateEvent(
  cache: EncodedCache,
  snapshot: ServiceSnapshot,
  type: 'ADDED' | 'MODIFIED',
  view: ViewOptions,
  format: StreamFormat,
  withId: boolean,
): Buffer {
  const form = `event:${format}:${type}:${withId ? 'id' : 'noid'}:${viewForm(view)}`;
  return cache.get(snapshot, form, (s) => {
    // The version of what this caller receives (the snapshot's without caller locality).
    const version = cachedViewVersion(cache, s, view);
    const event: WatchEventBody = {
      type,
      namespace: s.namespace,
      name: s.name,
      version,
      service: serviceBody(s, view),
    };
    return Buffer.from(frame(event, format, withId ? version : undefined));
  });
}

/**
 * Frames an event. SSE: `id:` when given (an empty id resets the client's Last-Event-ID, used after DELETED and
 * ABSENT so that a reconnect asks for the state from scratch).
 */
export function frame(event: WatchEventBody, format: StreamFormat, id?: string): string {
  const json = JSON.stringify(event);
  if (format === 'ndjson') return `${json}\n`;
  return `${id === undefined ? '' : `id: ${id}\n`}data: ${json}\n\n`;
}
