// Feeds the store from a Kubernetes API server: one reflector per resource kind and namespace (EndpointSlices, or
// the legacy Endpoints, plus Services), their objects validated and grouped per Service, and only the Services a
// change touched rebuilt. While watches fail, the last known state stays served; status() says it is stale.
// A named cluster (`--cluster`) hands its Services to the cross-cluster merge instead of the store, with what the
// merge needs besides (the Service's age, whether it is exported), and is marked stale there while it fails.
import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { serviceKeyString, type ServiceKey } from '../../model.ts';
import { serviceNameProblem } from '../../names.ts';
import type { StoreWriter } from '../../store/faces.ts';
import {
  filed,
  objectId,
  owningService,
  ServiceAssembler,
  type EndpointObject,
  type FiledObject,
} from '../service-assembler.ts';
import { ExposurePolicy } from '../../policy/exposure.ts';
import { publishServices, shownService } from '../publish.ts';
import type { Source, SourceStatus } from '../source.ts';
import type { BackoffPolicy, FailureKind } from './backoff.ts';
import { SYSTEM_CLOCK, type Clock } from './clock.ts';
import { ClusterHealth } from './cluster-health.ts';
import { ServiceAges } from './service-ages.ts';
import { ServiceExports } from './service-exports.ts';
import type { ClusterIdentity, ClusterMerge, ClusterShare } from './cluster-merge.ts';
import type { ExportRule } from '../../config/types.ts';
import { FailureLog } from './failure-log.ts';
import { KubeClient } from '../../kube/kube-client.ts';
import {
  parseEndpointSlice,
  parseEndpoints,
  parseService,
  sliceServiceName,
  type Parsed,
} from '../../kube/objects.ts';
import { listItemTransform } from './list-pager.ts';
import { Reflector, type ReflectorOptions, type WatchEventType } from './reflector.ts';

export type KubeResource = 'endpointslices' | 'endpoints';
type WatchedKind = EndpointObject['kind'];

export interface KubernetesSourceOptions {
  readonly config: KubeConfig;
  readonly store: StoreWriter;
  readonly logger: Logger;
  /** Empty: all namespaces (needs cluster-wide RBAC); otherwise one watch per namespace and kind. */
  readonly namespaces: readonly string[];
  readonly resource: KubeResource;
  readonly labelSelector?: string | undefined;
  /** Which Services clients may see; default: all. */
  readonly policy?: ExposurePolicy;
  /** Reflector tuning, for tests; production uses the defaults. */
  readonly reflector?: {
    readonly idleTimeoutMs?: number;
    readonly listTimeoutMs?: number;
    readonly watchTimeoutSeconds?: readonly [number, number];
    readonly backoff?: Readonly<Record<FailureKind, BackoffPolicy>>;
    readonly random?: () => number;
    readonly clock?: Clock;
  };
  /** A list page or watch event larger than this fails that list or watch (kube-client.ts); default 64 MiB. */
  readonly maxResponseBytes?: number;
  readonly onWatchEvent?: (resource: string, type: string) => void;
  readonly onRelist?: (resource: string, reason: string) => void;
  /** Makes this source one named cluster of several: it writes the merge, not the store. */
  readonly cluster?: NamedClusterOptions;
}

export interface NamedClusterOptions extends ClusterIdentity {
  readonly merge: ClusterMerge;
  readonly export: ExportRule;
  /** start() resolves (and status() says synced) after this long even without the first list. */
  readonly readyTimeoutMs: number;
  /** Watches failing this long mark the cluster stale in the merge. */
  readonly staleAfterMs: number;
}

/** MCS API's ServiceExport: its namespace/name names the Service it exports (only that is read). */
const SERVICE_EXPORTS = '/apis/multicluster.x-k8s.io/v1alpha1';

const COLLECTIONS: Record<WatchedKind, { group: string; plural: string }> = {
  EndpointSlice: { group: '/apis/discovery.k8s.io/v1', plural: 'endpointslices' },
  Endpoints: { group: '/api/v1', plural: 'endpoints' },
  Service: { group: '/api/v1', plural: 'services' },
};

const ORIGIN = 'kubernetes';
/** The default list transform of the Services collection (list-pager.ts), which a named cluster's wraps. */
const servicesTransform = listItemTransform('/api/v1/services');

export class KubernetesSource implements Source {
  readonly name: string;
  readonly #options: KubernetesSourceOptions;
  readonly #logger: Logger;
  readonly #assembler = new ServiceAssembler();
  /** The current objects of each reflector, by object id, as last validated and filed (the assembler's copies). */
  readonly #objects = new Map<Reflector, Map<string, FiledObject>>();
  readonly #reflectors: Reflector[] = [];
  /**
   * Until every collection has been listed once, changes only collect the Services they touch: publishing them as
   * each list lands would assemble and hash every Service once per collection (with Services listed before their
   * slices, first without endpoints), and show clients a half-listed cluster.
   */
  readonly #notYetListed = new Set<Reflector>();
  readonly #deferred = new Map<string, ServiceKey>();
  readonly #policy: ExposurePolicy;
  /** Named clusters: each Service object's age, for oldest-wins. */
  readonly #ages = new ServiceAges();
  /** Named clusters in serviceexport mode: the Services a ServiceExport exports. */
  readonly #exports = new ServiceExports();
  /** Named clusters: the ready wait and staleness (cluster-health.ts). */
  readonly #health: ClusterHealth | undefined;

  constructor(options: KubernetesSourceOptions) {
    this.#options = options;
    const cluster = options.config.getCurrentCluster();
    this.name =
      options.cluster === undefined
        ? `kubernetes:${options.config.getCurrentContext() || (cluster?.server ?? 'cluster')}`
        : `cluster:${options.cluster.name}`;
    this.#logger = options.logger.child({ source: this.name });
    this.#policy = options.policy ?? ExposurePolicy.OPEN;
    this.#health =
      options.cluster === undefined
        ? undefined
        : new ClusterHealth(options.cluster, options.reflector?.clock ?? SYSTEM_CLOCK, this.#logger, {
            allListed: () => this.#allListed(),
            anyFailing: () => this.#reflectors.some((r) => r.status().error !== undefined),
          });
    const client = new KubeClient(options.config, { maxResponseBytes: options.maxResponseBytes });
    // One log of failures for all the reflectors: an unreachable API server is one line, not one per collection.
    const failureLog = new FailureLog({
      logger: this.#logger,
      clock: options.reflector?.clock,
      servingStateFrom: () => {
        const status = this.status();
        return status.synced ? status.lastSyncAt : undefined;
      },
    });
    const kinds: WatchedKind[] = [
      options.resource === 'endpoints' ? 'Endpoints' : 'EndpointSlice',
      'Service',
    ];
    const scopes = options.namespaces.length === 0 ? [undefined] : [...new Set(options.namespaces)];
    for (const kind of kinds) {
      for (const namespace of scopes) {
        const { group, plural } = COLLECTIONS[kind];
        const path =
          namespace === undefined ? `${group}/${plural}` : `${group}/namespaces/${namespace}/${plural}`;
        const reflector: Reflector = new Reflector({
          client,
          path,
          labelSelector: kind === 'Service' ? undefined : options.labelSelector,
          logger: this.#logger,
          failureLog,
          handler: {
            replace: (items) => this.#replace(reflector, kind, items),
            apply: (type, object) => this.#apply(reflector, kind, type, object),
          },
          ...options.reflector,
          // A named cluster needs each Service's age (oldest wins), which the list's item transform does not keep:
          // it is read off the item as listed, before the default transform validates it into what is held.
          ...(options.cluster !== undefined && kind === 'Service'
            ? {
                transform: (item: unknown) => {
                  this.#ages.noteListed(item);
                  return servicesTransform(item);
                },
              }
            : {}),
          onWatchEvent: (type) => options.onWatchEvent?.(plural, type),
          onRelist: (reason) => options.onRelist?.(plural, reason),
          ...this.#relistAfterOutage(),
        });
        this.#objects.set(reflector, new Map());
        this.#reflectors.push(reflector);
        this.#notYetListed.add(reflector);
      }
    }
    if (options.cluster?.export.mode === 'serviceexport') {
      for (const namespace of scopes) {
        const path =
          namespace === undefined
            ? `${SERVICE_EXPORTS}/serviceexports`
            : `${SERVICE_EXPORTS}/namespaces/${namespace}/serviceexports`;
        const reflector: Reflector = new Reflector({
          client,
          path,
          logger: this.#logger,
          failureLog,
          handler: {
            replace: (items) => {
              this.#notYetListed.delete(reflector);
              this.#publish(this.#exports.replace(namespace, items));
            },
            apply: (type, object) => this.#publish(this.#exports.apply(type, object)),
          },
          ...options.reflector,
          onWatchEvent: (type) => options.onWatchEvent?.('serviceexports', type),
          onRelist: (reason) => options.onRelist?.('serviceexports', reason),
          ...this.#relistAfterOutage(),
        });
        this.#reflectors.push(reflector);
        this.#notYetListed.add(reflector);
      }
    }
  }

  /**
   * Resolves once every collection has been listed once; until then the source is not synced. A named cluster
   * resolves after its ready timeout at the latest: one dead cluster must not keep the others from being served.
   */
  async start(): Promise<void> {
    this.#logger.info({ reflectors: this.#reflectors.length }, 'starting Kubernetes watches');
    const listed = Promise.all(this.#reflectors.map((r) => r.start()));
    if (this.#health === undefined) await listed;
    else await this.#health.waitForFirstList(listed, () => this.status().error);
    if (this.#allListed())
      this.#logger.info({ services: this.#assembler.services().length }, 'Kubernetes synced');
  }

  async stop(): Promise<void> {
    this.#health?.stop();
    await Promise.all(this.#reflectors.map((r) => r.stop()));
  }

  status(): SourceStatus {
    const statuses = this.#reflectors.map((r) => r.status());
    const listed = statuses.every((s) => s.listed);
    const syncTimes = statuses.map((s) => s.lastSyncAt);
    const errors = statuses.map((s) => s.error).filter((e): e is string => e !== undefined);
    const readyWaitOver = this.#health?.readyWaitOver === true;
    if (!listed && readyWaitOver && errors.length === 0)
      errors.push('not listed yet: the API server has not answered (stalled or slow)');
    return {
      synced: listed || readyWaitOver,
      // The oldest of the reflectors' last contacts: the state is only as fresh as its stalest part.
      lastSyncAt: syncTimes.includes(undefined) ? undefined : Math.min(...(syncTimes as number[])),
      error: errors.length > 0 ? errors.join('; ') : undefined,
      ...(this.#health === undefined ? {} : { cluster: this.#health.status(listed) }),
    };
  }

  #allListed(): boolean {
    return this.#reflectors.every((r) => r.status().listed);
  }

  /** A (re)list: the complete state of that collection. What vanished is deleted, what changed is updated. */
  #replace(reflector: Reflector, kind: WatchedKind, items: readonly unknown[]): void {
    const current = this.#objects.get(reflector);
    const seen = new Set<string>();
    const touched = new Map<string, ServiceKey>();
    for (const raw of items) {
      const entry = this.#validate(kind, withKind(raw, kind));
      if (entry === undefined) continue;
      const id = objectId(entry);
      seen.add(id);
      this.#set(reflector, id, entry, touched);
      // After #set: a Service found recreated (a new uid) is removed there first, and its age with it.
      if (this.#options.cluster !== undefined) this.#ages.note(entry, raw);
    }
    for (const [id, old] of [...(current ?? [])]) {
      if (!seen.has(id)) this.#remove(reflector, id, old, touched);
    }
    this.#notYetListed.delete(reflector);
    this.#publish(touched);
  }

  #apply(reflector: Reflector, kind: WatchedKind, type: WatchEventType, raw: unknown): void {
    const entry = this.#validate(kind, raw);
    const touched = new Map<string, ServiceKey>();
    if (entry === undefined) {
      // An object that no longer belongs to a Service (e.g. a slice that lost its service-name label) stops counting.
      const id = `${kind} ${describeRaw(raw)}`;
      const known = this.#objects.get(reflector)?.get(id);
      if (known !== undefined) this.#remove(reflector, id, known, touched);
      this.#publish(touched);
      return;
    }
    const id = objectId(entry);
    if (type === 'DELETED') {
      const known = this.#objects.get(reflector)?.get(id);
      if (known !== undefined) this.#remove(reflector, id, known, touched);
    } else {
      this.#set(reflector, id, entry, touched);
      if (this.#options.cluster !== undefined) this.#ages.note(entry, raw);
    }
    this.#publish(touched);
  }

  #set(reflector: Reflector, id: string, entry: FiledObject, touched: Map<string, ServiceKey>): void {
    const objects = this.#objects.get(reflector);
    const known = objects?.get(id);
    const uid = entry.object.metadata.uid;
    const knownUid = known?.object.metadata.uid;
    if (known !== undefined) {
      // A Service deleted and created again while we were not watching (seen on relist): tell clients it went away,
      // rather than pretending it is the same Service — deleted as a whole, though slices of it are still held (the
      // old ones, or the new ones listed before): the next publish shows it again.
      if (entry.kind === 'Service' && knownUid !== undefined && uid !== undefined && knownUid !== uid) {
        this.#logger.info({ object: id, oldUid: knownUid, newUid: uid }, 'Service was deleted and recreated');
        const gone = new Map<string, ServiceKey>();
        this.#remove(reflector, id, known, gone);
        this.#withdraw(gone);
      } else {
        noteKey(touched, this.#assembler.remove(ORIGIN, known));
      }
    }
    objects?.set(id, entry);
    noteKey(touched, this.#assembler.put(ORIGIN, entry));
  }

  #remove(reflector: Reflector, id: string, entry: FiledObject, touched: Map<string, ServiceKey>): void {
    this.#objects.get(reflector)?.delete(id);
    this.#ages.forget(entry);
    noteKey(touched, this.#assembler.remove(ORIGIN, entry));
  }

  /** Deletes these Services from what the source shows (the store, or a named cluster's share in the merge). */
  #withdraw(gone: Map<string, ServiceKey>): void {
    // Nothing is shown before every collection is listed: they are published with the rest.
    if (this.#deferredUntilListed(gone)) return;
    const cluster = this.#options.cluster;
    for (const key of gone.values()) {
      if (cluster === undefined) this.#options.store.delete(this.name, key);
      else cluster.merge.set(cluster.name, key, undefined);
    }
  }

  /** Until every collection is listed, the Services touched are only noted (#deferred): true when they were. */
  #deferredUntilListed(touched: Map<string, ServiceKey>): boolean {
    if (this.#notYetListed.size === 0) return false;
    for (const [id, key] of touched) this.#deferred.set(id, key);
    return true;
  }

  /**
   * A named cluster marked stale relists when it answers again, rather than resuming its watches: it is current
   * again only once every collection holds what the API server holds now (docs/multicluster.md).
   */
  #relistAfterOutage(): Pick<ReflectorOptions, 'relistAfterFailure'> {
    const cluster = this.#options.cluster;
    if (cluster === undefined) return {};
    return { relistAfterFailure: () => cluster.merge.isStale(cluster.name) };
  }

  #publish(touched: Map<string, ServiceKey>): void {
    if (this.#deferredUntilListed(touched)) return;
    if (this.#deferred.size > 0) {
      for (const [id, key] of touched) this.#deferred.set(id, key);
      touched = new Map(this.#deferred);
      this.#deferred.clear();
    }
    const cluster = this.#options.cluster;
    if (cluster === undefined) {
      publishServices(
        { store: this.#options.store, source: this.name, policy: this.#policy, logger: this.#logger },
        this.#assembler,
        touched.values(),
      );
      return;
    }
    const changes: Array<readonly [ServiceKey, ClusterShare | undefined]> = [];
    for (const [id, key] of touched) {
      const shown = shownService(this.#assembler, key, this.#policy, this.#logger);
      const exported =
        shown !== undefined &&
        (cluster.export.mode === 'all' ||
          (cluster.export.mode === 'serviceexport'
            ? this.#exports.has(id)
            : shown.metadata?.annotations[cluster.export.key] === cluster.export.value));
      changes.push([key, exported ? { service: shown.service, createdAt: this.#ages.get(id) } : undefined]);
    }
    // The staleness these shares go out with, decided now and written with them: shares of a (re)list that ended
    // the cluster's trouble go out current, once (not stale, to be rewritten current by the next periodic look),
    // and the cluster is never written current with the shares from before its outage.
    const write = (stale?: boolean): void => cluster.merge.setShares(cluster.name, changes, stale);
    if (this.#health === undefined || touched.size === 0) write();
    else this.#health.check(write);
  }

  /**
   * Validates an object from the API server, and files it (a slice's endpoints converted once, here, and kept in
   * place of its wire ones); one that does not validate is logged and skipped.
   */
  #validate(kind: WatchedKind, raw: unknown): FiledObject | undefined {
    const parsed: Parsed<EndpointObject['object']> =
      kind === 'EndpointSlice'
        ? parseEndpointSlice(raw)
        : kind === 'Endpoints'
          ? parseEndpoints(raw)
          : parseService(raw);
    if (!parsed.ok) {
      this.#logger.warn(
        { kind, object: describeRaw(raw), problems: parsed.problems },
        'skipping an invalid object',
      );
      return undefined;
    }
    const entry = { kind, object: parsed.value } as EndpointObject;
    // Slices without the service-name label belong to no Service (e.g. created by hand): nothing to serve.
    if (entry.kind === 'EndpointSlice' && sliceServiceName(entry.object) === undefined) return undefined;
    const key = owningService(entry);
    if (key === undefined) return undefined;
    // The API server checks a label value, not a Service name (`Manual_Backends.v2` passes), nor an Endpoints
    // object's name as one (it may hold dots). Such a Service could be listed but never looked up (every door
    // refuses the name) and would read as another name in xDS: skipped, as the file source skips it.
    const problem = serviceNameProblem(key.name);
    if (problem !== undefined) {
      this.#logger.warn(
        { kind, object: describeRaw(raw), service: key.name, problem },
        'skipping an object whose Service name is not valid',
      );
      return undefined;
    }
    return filed(entry, this.#options.cluster?.name);
  }
}

function noteKey(touched: Map<string, ServiceKey>, key: ServiceKey | undefined): void {
  if (key !== undefined) touched.set(serviceKeyString(key), key);
}

/** List items come without kind/apiVersion; watch objects with them. Validation does not need them either way. */
function withKind(raw: unknown, kind: WatchedKind): unknown {
  return typeof raw === 'object' && raw !== null ? { kind, ...raw } : raw;
}

function describeRaw(raw: unknown): string {
  const metadata = (raw as { metadata?: { namespace?: unknown; name?: unknown } } | null)?.metadata;
  return `${String(metadata?.namespace)}/${String(metadata?.name)}`;
}
