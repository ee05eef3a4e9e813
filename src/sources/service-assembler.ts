// Groups Kubernetes objects (EndpointSlices, Endpoints, and the Service object itself) by the Service they belong
// to and assembles each Service's state from them. Sources put and remove objects; the assembler says which Services that touched, so a
// source rebuilds only those: the cost of a change follows the size of that Service, not of everything held.
import { joined, serviceKeyString, type ServiceEndpoints, type ServiceKey } from '../model.ts';
import { getOrCreate } from '../maps.ts';
import type { ServiceMetadata } from '../policy/exposure.ts';
import { convertEndpoints, convertService, mergeEndpointSlices } from '../kube/convert.ts';
import {
  sliceServiceName,
  type EndpointSliceObject,
  type EndpointsObject,
  type ServiceObject,
} from '../kube/objects.ts';

export type EndpointObject =
  | { readonly kind: 'EndpointSlice'; readonly object: EndpointSliceObject }
  | { readonly kind: 'Endpoints'; readonly object: EndpointsObject }
  | { readonly kind: 'Service'; readonly object: ServiceObject };

/** The Service an object belongs to; undefined for a slice without the `kubernetes.io/service-name` label. */
export function owningService(entry: EndpointObject): ServiceKey | undefined {
  const namespace = entry.object.metadata.namespace;
  if (entry.kind !== 'EndpointSlice') return { namespace, name: entry.object.metadata.name };
  const name = sliceServiceName(entry.object);
  return name === undefined ? undefined : { namespace, name };
}

/** `Kind namespace/name`: what makes an object unique in a cluster. */
export function objectId(entry: EndpointObject): string {
  return joined(entry.kind, ' ', entry.object.metadata.namespace, '/', entry.object.metadata.name);
}

export interface AssembledService {
  /** Undefined when no object defines the Service any more. */
  readonly service: ServiceEndpoints | undefined;
  /** The Service object's labels and annotations, or else those of an object describing its endpoints. */
  readonly metadata: ServiceMetadata | undefined;
  /** Conflicts found while assembling, for the log: the state is still served, from the rule each names. */
  readonly warnings: readonly string[];
}

interface Contribution {
  readonly origin: string;
  readonly entry: EndpointObject;
}

/** Where an object is filed: under its Service, by its own id; undefined for an object of no Service. */
function locate(
  entry: EndpointObject,
): { readonly key: ServiceKey; readonly serviceId: string; readonly objectId: string } | undefined {
  const key = owningService(entry);
  return key === undefined ? undefined : { key, serviceId: serviceKeyString(key), objectId: objectId(entry) };
}

export class ServiceAssembler {
  /** service id → object id → the contributions of that object, one per origin (a file, a watch). */
  readonly #byService = new Map<string, Map<string, Contribution[]>>();
  readonly #keys = new Map<string, ServiceKey>();

  /** Adds or replaces `origin`'s copy of an object. Returns the Service it touched. */
  put(origin: string, entry: EndpointObject): ServiceKey | undefined {
    const place = locate(entry);
    if (place === undefined) return undefined;
    const objects = getOrCreate(this.#byService, place.serviceId, () => {
      this.#keys.set(place.serviceId, place.key);
      return new Map<string, Contribution[]>();
    });
    const others = (objects.get(place.objectId) ?? []).filter((c) => c.origin !== origin);
    objects.set(
      place.objectId,
      [...others, { origin, entry }].sort((a, b) => (a.origin < b.origin ? -1 : 1)),
    );
    return place.key;
  }

  /** Removes `origin`'s copy of an object. Returns the Service it touched. */
  remove(origin: string, entry: EndpointObject): ServiceKey | undefined {
    const place = locate(entry);
    if (place === undefined) return undefined;
    const objects = this.#byService.get(place.serviceId);
    const remaining = objects?.get(place.objectId)?.filter((c) => c.origin !== origin) ?? [];
    if (remaining.length > 0) objects?.set(place.objectId, remaining);
    else objects?.delete(place.objectId);
    if (objects?.size === 0) {
      this.#byService.delete(place.serviceId);
      this.#keys.delete(place.serviceId);
    }
    return place.key;
  }

  /** The Service's state from every object that belongs to it. */
  assemble(key: ServiceKey): AssembledService {
    const objects = this.#byService.get(serviceKeyString(key));
    if (objects === undefined) return { service: undefined, metadata: undefined, warnings: [] };
    const warnings: string[] = [];
    const slices: EndpointSliceObject[] = [];
    const endpoints: EndpointsObject[] = [];
    let serviceObject: ServiceObject | undefined;
    for (const [id, contributions] of objects) {
      const [chosen, ...ignored] = contributions;
      if (chosen === undefined) continue;
      if (ignored.length > 0) {
        warnings.push(
          `${id} is defined more than once; serving the copy from ${chosen.origin}, ignoring ${ignored.map((c) => c.origin).join(', ')}`,
        );
      }
      if (chosen.entry.kind === 'EndpointSlice') slices.push(chosen.entry.object);
      else if (chosen.entry.kind === 'Endpoints') endpoints.push(chosen.entry.object);
      else serviceObject = chosen.entry.object;
    }
    const info = serviceObject === undefined ? undefined : { service: convertService(serviceObject) };
    const described = serviceObject ?? slices[0] ?? endpoints[0];
    const metadata: ServiceMetadata | undefined =
      described === undefined
        ? undefined
        : { labels: described.metadata.labels ?? {}, annotations: described.metadata.annotations ?? {} };
    if (slices.length > 0) {
      if (endpoints.length > 0) {
        warnings.push(
          `Service ${serviceKeyString(key)} has both EndpointSlices and an Endpoints object; serving the EndpointSlices only`,
        );
      }
      return { service: { ...mergeEndpointSlices(key, slices), ...info }, metadata, warnings };
    }
    const [legacy] = endpoints;
    if (legacy !== undefined)
      return { service: { ...convertEndpoints(legacy), ...info }, metadata, warnings };
    // A Service object alone: the Service exists with zero endpoints (or is ExternalName), which is not unknown.
    if (info !== undefined)
      return { service: { ...key, ports: [], endpoints: [], ...info }, metadata, warnings };
    return { service: undefined, metadata: undefined, warnings };
  }

  /** Every Service some object currently belongs to. */
  services(): ServiceKey[] {
    return [...this.#keys.values()];
  }
}
