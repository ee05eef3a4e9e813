// Groups Kubernetes objects (EndpointSlices, Endpoints, and the Service object itself) by the Service they belong
// to and assembles each Service's state from them. Sources put and remove objects; the assembler says which Services that touched, so a
// source rebuilds only those: the cost of a change follows the size of that Service, not of everything held.
import {
  joined,
  serviceKeyString,
  type ServiceEndpoints,
  type ServiceInfo,
  type ServiceKey,
} from '../model.ts';
import { getOrCreate } from '../maps.ts';
import type { ServiceMetadata } from '../policy/exposure.ts';
import {
  convertEndpoints,
  convertService,
  convertSlice,
  mergeConvertedSlices,
  type ConvertedSlice,
} from '../kube/convert.ts';
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

/**
 * What is kept of an object once it is filed: of a slice, its metadata and its endpoints and ports converted
 * (`converted`) instead of as they came; of a Service, its metadata and what endpointd reads of its spec (`info`);
 * a legacy Endpoints object as it is. So each endpoint is held once, as the object the store serves, rather than
 * beside its wire copy (with the Services' specs, 12 MB of heap at 10,000 Services × 10 endpoints), and converted
 * once rather than on every change of its Service. Sources that keep objects of their own (the Kubernetes source by
 * id, the file source in its pieces) keep these.
 */
export type FiledObject =
  | {
      readonly kind: 'EndpointSlice';
      /** All that is read of a slice once converted: who it is, which Service it names, its labels. */
      readonly object: Pick<EndpointSliceObject, 'metadata'>;
      readonly converted: ConvertedSlice;
    }
  | { readonly kind: 'Endpoints'; readonly object: EndpointsObject }
  | {
      readonly kind: 'Service';
      /** Who it is, its labels and annotations (the exposure policy's), its uid and age (the source's). */
      readonly object: Pick<ServiceObject, 'metadata'>;
      readonly info: ServiceInfo;
    };

/** What says which object it is and which Service it belongs to: its kind and metadata. */
export type IdentifiedObject = EndpointObject | FiledObject;

/**
 * `entry` as it is kept (FiledObject); an entry filed before is given back as it is. `cluster`: the named cluster
 * it comes from, written on a slice's endpoints (convertSlice).
 */
export function filed(entry: IdentifiedObject, cluster?: string): FiledObject {
  if ('converted' in entry || 'info' in entry || entry.kind === 'Endpoints') return entry;
  const object = { metadata: entry.object.metadata };
  return entry.kind === 'EndpointSlice'
    ? { kind: entry.kind, object, converted: convertSlice(entry.object, cluster) }
    : { kind: entry.kind, object, info: convertService(entry.object) };
}

/** The Service an object belongs to; undefined for a slice without the `kubernetes.io/service-name` label. */
export function owningService(entry: IdentifiedObject): ServiceKey | undefined {
  const namespace = entry.object.metadata.namespace;
  if (entry.kind !== 'EndpointSlice') return { namespace, name: entry.object.metadata.name };
  const name = sliceServiceName(entry.object);
  return name === undefined ? undefined : { namespace, name };
}

/** `Kind namespace/name`: what makes an object unique in a cluster. */
export function objectId(entry: IdentifiedObject): string {
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
  readonly entry: FiledObject;
}

/** Where an object is filed: under its Service, by its own id; undefined for an object of no Service. */
function locate(
  entry: IdentifiedObject,
): { readonly key: ServiceKey; readonly serviceId: string; readonly objectId: string } | undefined {
  const key = owningService(entry);
  return key === undefined ? undefined : { key, serviceId: serviceKeyString(key), objectId: objectId(entry) };
}

export class ServiceAssembler {
  /** service id → object id → the contributions of that object, one per origin (a file, a watch). */
  readonly #byService = new Map<string, Map<string, Contribution[]>>();
  readonly #keys = new Map<string, ServiceKey>();

  /** Adds or replaces `origin`'s copy of an object (filed: see FiledObject). Returns the Service it touched. */
  put(origin: string, object: IdentifiedObject): ServiceKey | undefined {
    const place = locate(object);
    if (place === undefined) return undefined;
    const objects = getOrCreate(this.#byService, place.serviceId, () => {
      this.#keys.set(place.serviceId, place.key);
      return new Map<string, Contribution[]>();
    });
    const others = (objects.get(place.objectId) ?? []).filter((c) => c.origin !== origin);
    objects.set(
      place.objectId,
      [...others, { origin, entry: filed(object) }].sort((a, b) => (a.origin < b.origin ? -1 : 1)),
    );
    return place.key;
  }

  /** Whether `origin` holds a copy of an object with the id of `entry` (of a Service). */
  holds(origin: string, entry: IdentifiedObject): boolean {
    const place = locate(entry);
    if (place === undefined) return false;
    const copies = this.#byService.get(place.serviceId)?.get(place.objectId);
    return copies?.some((c) => c.origin === origin) === true;
  }

  /** Removes `origin`'s copy of an object. Returns the Service it touched. */
  remove(origin: string, entry: IdentifiedObject): ServiceKey | undefined {
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
    const slices: ConvertedSlice[] = [];
    let sliceObject: Pick<EndpointSliceObject, 'metadata'> | undefined;
    const endpoints: EndpointsObject[] = [];
    let serviceObject: Extract<FiledObject, { kind: 'Service' }> | undefined;
    for (const [id, contributions] of objects) {
      const [chosen, ...ignored] = contributions;
      if (chosen === undefined) continue;
      if (ignored.length > 0) {
        warnings.push(
          `${id} is defined more than once; serving the copy from ${chosen.origin}, ignoring ${ignored.map((c) => c.origin).join(', ')}`,
        );
      }
      if (chosen.entry.kind === 'EndpointSlice') {
        slices.push(chosen.entry.converted);
        sliceObject ??= chosen.entry.object;
      } else if (chosen.entry.kind === 'Endpoints') endpoints.push(chosen.entry.object);
      else serviceObject = chosen.entry;
    }
    const info = serviceObject === undefined ? undefined : { service: serviceObject.info };
    const described = serviceObject?.object ?? sliceObject ?? endpoints[0];
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
      return { service: { ...mergeConvertedSlices(key, slices), ...info }, metadata, warnings };
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
