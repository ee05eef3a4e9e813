// The xDS resources of the store, encoded: name ⇒ the current resource, its bytes and its version. Each
// (resource, content) is encoded and hashed once and shared by every stream that sends it; that is what keeps a
// change fanned out to thousands of streams cheap (the streams copy bytes, they never re-encode). The encoded
// resources live in the store's one encoded-form cache, keyed by (Service, version, form), under the same byte
// bound and metric as every other door's forms.
import { STRICT_OVERPROVISIONING_FACTOR } from '../../config/options/xds.ts';
import {
  contentHash,
  type Endpoint,
  type PortSelector,
  type ServiceKey,
  type ServiceSnapshot,
} from '../../model.ts';
import type { EncodedState } from '../../store/encoded-cache.ts';
import type { StoreReader } from '../../store/faces.ts';
import { ANYONE_TIERS_KEY, type CallerTiers } from '../../views/topology-priorities.ts';
import { callerKey, type XdsCaller } from './caller.ts';
import { parseResourceName, resolvePort, servicePortNames } from './naming.ts';
import { clusterShareContent } from '../../views/clusters.ts';
import {
  assignmentTiers,
  buildCluster,
  buildClusterLoadAssignment,
  buildListener,
  buildRouteConfiguration,
  packAny,
  speaksHttp2,
} from './resources.ts';
import { TYPE_URL, type Any, type ResourceKind } from './wire.ts';

/** One resource as sent: `version` is unique to its content and to this server instance. */
export interface EncodedResource {
  readonly name: string;
  readonly version: string;
  readonly any: Any;
  /** What keeping it costs, for the cache's byte bound: the bytes, the name, and the object around them. */
  readonly byteLength: number;
}

export interface ResourceCatalogOptions {
  readonly store: StoreReader;
  /** Appended to every version, so that versions of two server instances never collide. */
  readonly instanceId: string;
  /** At most this many Clusters are listed to a wildcard subscriber (the first ones by namespace, name, port). */
  readonly maxWildcardResources: number;
  /**
   * Told when the wildcard list starts to be cut at `maxWildcardResources` (not again at each rebuild while it stays
   * cut: the list is rebuilt after every change of the store, and a large cluster changes many times a second).
   */
  readonly onWildcardTruncated?: (total: number, served: number) => void;
  /** Assignments' `policy.overprovisioning_factor` (percent; default: strict, src/config/options/xds.ts). */
  readonly overprovisioningFactor?: number;
}

export class ResourceCatalog {
  readonly #options: ResourceCatalogOptions;
  #wildcard: readonly string[] | undefined;
  #wildcardSet: ReadonlySet<string> | undefined;
  /** The last wildcard list built was cut at the bound: a later cut one is not told again. */
  #truncated = false;

  constructor(options: ResourceCatalogOptions) {
    this.#options = options;
  }

  /**
   * The resource `name` of `kind`, or undefined when it does not exist: a name outside the naming scheme, or a
   * Service the store does not hold, a port-less name of a Service without exactly one TCP port, a named cluster
   * the Service has no part in. A Service that
   * exists has all four resources for every valid port number or name (an assignment of a port no endpoint has is
   * empty), so a client never waits for a resource that will not come.
   *
   * An assignment is the one for `caller` (its stream's Node.locality): encoded once per (Service version, name,
   * what decided the caller's tiers), so that every caller in one zone — and every caller a rule does not tell
   * apart — shares one encoding, and its version changes only when what that caller receives does.
   */
  get(kind: ResourceKind, name: string, caller?: XdsCaller): EncodedResource | undefined {
    const parsed = parseResourceName(name);
    if (parsed === undefined) return undefined;
    const merged = this.#options.store.get(parsed.key);
    if (merged === undefined) return undefined;
    const service = parsed.cluster === undefined ? merged : oneClusterShare(merged, parsed.cluster);
    if (service === undefined) return undefined;
    const port = resolvePort(service, parsed.port);
    if (port === undefined) return undefined;
    switch (kind) {
      case 'listener':
        return this.#encoded(service, 'l', TYPE_URL.listener, name, () => buildListener(name));
      case 'route':
        return this.#encoded(service, 'r', TYPE_URL.route, name, () => buildRouteConfiguration(name));
      case 'cluster':
        return this.#encoded(service, 'c', TYPE_URL.cluster, name, () =>
          buildCluster(name, speaksHttp2(service, port)),
        );
      case 'endpoint':
        return this.#assignment(service, name, port, caller);
    }
  }

  /**
   * The caller's assignment: its tiers' key, cached per (version, name, caller) since many streams share a caller
   * (and cheap to keep: a short string), then the assignment encoded per key. A miss of both computes the tiers
   * once.
   */
  #assignment(
    service: ServiceSnapshot,
    name: string,
    port: PortSelector,
    caller: XdsCaller | undefined,
  ): EncodedResource {
    const { store, instanceId } = this.#options;
    let tiers: CallerTiers<Endpoint> | undefined;
    // A caller that says nothing gets the same tiers as any other such caller: no key to look up (the common
    // case, and the one entry per assignment it always was).
    const form = `xds:${instanceId}:e:${name}:caller=${callerKey(caller)}`;
    const { key } =
      caller === undefined
        ? { key: ANYONE_TIERS_KEY }
        : store.encoded.get(service, form, () => {
            tiers = assignmentTiers(service, port, caller);
            return { key: tiers.key, byteLength: (form.length + tiers.key.length) * 2 + 64 };
          });
    return this.#encoded(
      service,
      'e',
      TYPE_URL.endpoint,
      name,
      () => {
        const options = { caller, overprovisioningFactor: this.#overprovisioningFactor };
        return buildClusterLoadAssignment(name, service, port, options, tiers);
      },
      key,
    );
  }

  /** The assignment with no endpoints, for a Service that is gone (state of the world: "send no traffic"). */
  emptyAssignment(name: string): EncodedResource {
    // Keyed as the Service at version "" (none); a name outside the naming scheme under the namespace "", which
    // no Service has.
    const key: ServiceKey = parseResourceName(name)?.key ?? { namespace: '', name };
    return this.#encoded({ ...key, version: '' }, 'e', TYPE_URL.endpoint, name, () =>
      buildClusterLoadAssignment(
        name,
        undefined,
        { number: 0 },
        {
          overprovisioningFactor: this.#overprovisioningFactor,
        },
      ),
    );
  }

  get #overprovisioningFactor(): number {
    return this.#options.overprovisioningFactor ?? STRICT_OVERPROVISIONING_FACTOR;
  }

  /**
   * What a wildcard subscription of `kind` covers. Clusters (and their assignments): one per Service port,
   * bounded. Listeners and routes: none — endpointd's Listeners are gRPC `api_listener`s, which Envoy refuses over
   * LDS; Envoy's own listeners stay in its configuration and point at our Clusters.
   */
  wildcardNames(kind: ResourceKind): readonly string[] {
    if (kind === 'listener' || kind === 'route') return [];
    if (this.#wildcard === undefined) {
      const all = this.#options.store.list().flatMap(servicePortNames);
      const max = this.#options.maxWildcardResources;
      const truncated = all.length > max;
      if (truncated && !this.#truncated) this.#options.onWildcardTruncated?.(all.length, max);
      this.#truncated = truncated;
      this.#wildcard = truncated ? all.slice(0, max) : all;
    }
    return this.#wildcard;
  }

  /** `wildcardNames` as a set, for membership tests (built once per change of the store, like the list). */
  wildcardNameSet(kind: ResourceKind): ReadonlySet<string> {
    if (kind === 'listener' || kind === 'route') return NO_NAMES;
    this.#wildcardSet ??= new Set(this.wildcardNames(kind));
    return this.#wildcardSet;
  }

  /** Told by the change fan-out that some Service changed: the wildcard list is rebuilt on next use. */
  invalidateWildcard(): void {
    this.#wildcard = undefined;
    this.#wildcardSet = undefined;
  }

  /**
   * The resource `name` of one kind (`l`, `r`, `c`, `e`) as made from `state`. The form names the instance too:
   * versions carry it, and two control planes may share one store (and so one cache).
   */
  #encoded(
    state: EncodedState,
    kind: string,
    typeUrl: string,
    name: string,
    build: () => object,
    variant = '',
  ): EncodedResource {
    const { instanceId } = this.#options;
    const form = `xds:${instanceId}:${kind}:${name}${variant === '' ? '' : `:${variant}`}`;
    return this.#options.store.encoded.get(state, form, () => {
      const any = packAny(typeUrl, build());
      const hash = contentHash(any.value);
      const byteLength = any.value.byteLength + name.length * 2 + 64;
      return { name, version: `${hash}.${instanceId}`, any, byteLength };
    });
  }
}

const NO_NAMES: ReadonlySet<string> = new Set();

/**
 * What a name naming one cluster holds (`web.shop.east:8080`): that cluster's share of the merged Service (its
 * endpoints, its ports, its part: src/views/clusters.ts, as REST's ?cluster= answers it), so that the port a
 * port-less name means, the HTTP version a Cluster declares and the assignment all come from that cluster alone.
 * Undefined while the Service has no part there (the name does not exist). It keeps the merged snapshot's version:
 * the encoded forms are cached per (service, version, name), and the name tells the shares apart.
 */
function oneClusterShare(merged: ServiceSnapshot, cluster: string): ServiceSnapshot | undefined {
  if (merged.clusters?.some((c) => c.name === cluster) !== true) return undefined;
  return { ...clusterShareContent(merged, cluster), version: merged.version };
}
