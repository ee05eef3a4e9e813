// Validation of requests: decoded messages in, typed options out. Each refusal names the field and why, every
// problem of a request is reported at once, and names follow Kubernetes' rules (src/names.ts), so that a bad name
// is refused and never looked up.
import { GRPC_OPTIONS } from '../../config/options/grpc.ts';
import type { PortSelector, ServiceKey } from '../../model.ts';
import {
  callerPlaceProblem,
  isVersionLike,
  namespaceNameProblem,
  portNameProblem,
  serviceNameProblem,
} from '../../names.ts';
import type { SubscriptionScope } from '../../store/subscription.ts';
import type { ViewOptions } from '../../views/service-view.ts';
import { clusterNameProblem, unknownClusterDetail } from '../../views/clusters.ts';
import { status } from '@grpc/grpc-js';
import { clip, ProblemList, quote } from '../../limits/bounded-text.ts';
import { invalidArgument, StatusError, type FieldProblem } from './errors.ts';
import type {
  CallerLocalityMessage,
  DecodedEnum,
  EndpointSetName,
  ListServicesRequestMessage,
  PortSelectorMessage,
  ResolveRequestMessage,
  WatchRequestMessage,
} from './wire.ts';

/** By default a Watch request may name this many services at most (--grpc-max-watch-services): each costs a subscription. */
export const MAX_WATCHED_SERVICES = GRPC_OPTIONS.maxWatchedServices.defaultValue;

export interface ResolveQuery {
  readonly key: ServiceKey;
  readonly view: ViewOptions;
}

/** What one Watch stream follows: named services, or as a store subscription does, one namespace or everything. */
export type WatchScope =
  | { readonly kind: 'services'; readonly keys: readonly ServiceKey[] }
  | Exclude<SubscriptionScope, { readonly kind: 'service' }>;

export interface WatchQuery {
  readonly scope: WatchScope;
  readonly view: ViewOptions;
  /** `namespace/name` → the version the client holds. */
  readonly known: ReadonlyMap<string, string>;
}

export function resolveQuery(request: ResolveRequestMessage): ResolveQuery {
  const problems = new ProblemList<FieldProblem>();
  const key = serviceKey(request, '', problems);
  const view = withCluster(
    viewOptions(request.endpoints, request.port, request.caller, problems),
    request.cluster,
    problems,
  );
  if (problems.length > 0) throw invalidArgument(problems.items, problems.omitted);
  return { key, view };
}

export function watchQuery(request: WatchRequestMessage, maxServices = MAX_WATCHED_SERVICES): WatchQuery {
  const problems = new ProblemList<FieldProblem>();
  const view = withCluster(
    viewOptions(request.endpoints, request.port, request.caller, problems),
    request.cluster,
    problems,
  );
  let scope: WatchScope;
  if (request.services.length > 0) {
    if (request.namespace !== '') {
      problems.push({
        field: 'namespace',
        reason: 'must be empty when services are given: watch one or the other',
      });
    }
    if (request.services.length > maxServices) {
      problems.push({
        field: 'services',
        reason: `at most ${maxServices} services per stream, got ${request.services.length}; watch their namespace or everything instead`,
      });
    }
    const seen = new Map<string, ServiceKey>();
    // Past the bound the request is refused anyway: its names are not worth validating one by one.
    if (request.services.length <= maxServices) {
      request.services.forEach((ref, i) => {
        const key = serviceKey(ref, `services[${i}].`, problems);
        seen.set(`${key.namespace}/${key.name}`, key);
      });
    }
    scope = { kind: 'services', keys: [...seen.values()] };
  } else if (request.namespace !== '') {
    nameRule('namespace', request.namespace, namespaceNameProblem, problems);
    scope = { kind: 'namespace', namespace: request.namespace };
  } else {
    scope = { kind: 'all' };
  }
  const known = new Map<string, string>();
  const watchedIds =
    scope.kind === 'services' ? new Set(scope.keys.map((k) => `${k.namespace}/${k.name}`)) : undefined;
  request.known.forEach((entry, i) => {
    const key = serviceKey(entry, `known[${i}].`, problems);
    const id = `${key.namespace}/${key.name}`;
    if (!isVersionLike(entry.version)) {
      problems.push({
        field: `known[${i}].version`,
        reason: 'must be a version as received in Service.version',
      });
    } else if (!inScope(scope, key, watchedIds)) {
      problems.push({ field: `known[${i}]`, reason: `${clip(id)} is not among the watched services` });
    } else {
      known.set(id, entry.version);
    }
  });
  if (problems.length > 0) throw invalidArgument(problems.items, problems.omitted);
  return { scope, view, known };
}

/** The filters of ListServices: a namespace and one named cluster; each undefined when not given. */
export function listQuery(request: ListServicesRequestMessage): {
  readonly namespace: string | undefined;
  readonly cluster: string | undefined;
} {
  const problems = new ProblemList<FieldProblem>();
  if (request.namespace !== '') nameRule('namespace', request.namespace, namespaceNameProblem, problems);
  const { cluster } = withCluster({ allEndpoints: true, port: undefined }, request.cluster, problems);
  if (problems.length > 0) throw invalidArgument(problems.items, problems.omitted);
  return { namespace: request.namespace === '' ? undefined : request.namespace, cluster };
}

function serviceKey(
  message: { readonly namespace: string; readonly name: string },
  prefix: string,
  problems: ProblemList<FieldProblem>,
): ServiceKey {
  nameRule(`${prefix}namespace`, message.namespace, namespaceNameProblem, problems);
  nameRule(`${prefix}name`, message.name, serviceNameProblem, problems);
  return { namespace: message.namespace, name: message.name };
}

function viewOptions(
  endpoints: DecodedEnum<EndpointSetName>,
  port: PortSelectorMessage | null,
  caller: CallerLocalityMessage | null,
  problems: ProblemList<FieldProblem>,
): ViewOptions {
  if (typeof endpoints === 'number') {
    problems.push({
      field: 'endpoints',
      reason: `unknown EndpointSet value ${endpoints}; use ENDPOINT_SET_ROUTABLE or ENDPOINT_SET_ALL`,
    });
  }
  const view: ViewOptions = {
    allEndpoints: endpoints === 'ENDPOINT_SET_ALL',
    port: portSelector(port, problems),
  };
  const zone = locality('zone', caller?.zone ?? '', problems);
  const node = locality('node', caller?.node ?? '', problems);
  // No locality said: the very same view as without topology (answers byte for byte as before).
  return zone === undefined && node === undefined ? view : { ...view, caller: { zone, node } };
}

/** NOT_FOUND for a `cluster` that is not one endpointd reads (`known`: the --cluster names). */
export function requireKnownCluster(view: ViewOptions, known: readonly string[]): void {
  const detail = unknownClusterDetail(view.cluster, known);
  if (detail !== undefined) throw new StatusError(status.NOT_FOUND, detail);
}

/** `cluster`: one named cluster's share ("" or unset: every cluster); a name no cluster could have is refused. */
function withCluster(
  view: ViewOptions,
  cluster: string | undefined,
  problems: ProblemList<FieldProblem>,
): ViewOptions {
  if (cluster === undefined || cluster === '') return view;
  const problem = clusterNameProblem(cluster);
  if (problem === undefined) return { ...view, cluster };
  problems.push({ field: 'cluster', reason: `${quote(cluster)} is not a valid cluster name: it ${problem}` });
  return view;
}

/** A caller's zone or node (src/names.ts callerPlaceProblem); empty means "not said". */
function locality(
  place: 'zone' | 'node',
  value: string,
  problems: ProblemList<FieldProblem>,
): string | undefined {
  if (value === '') return undefined;
  const problem = callerPlaceProblem(place, value);
  if (problem === undefined) return value;
  problems.push({
    field: `caller.${place}`,
    reason: `${quote(value)} is not a valid ${place} name: it ${problem}`,
  });
  return undefined;
}

function portSelector(
  port: PortSelectorMessage | null,
  problems: ProblemList<FieldProblem>,
): PortSelector | undefined {
  if (port === null) return undefined;
  if (port.selector === 'number') {
    const number = port.number ?? 0;
    if (number >= 1 && number <= 65535) return { number };
    problems.push({ field: 'port.number', reason: `a port number must be from 1 to 65535, got ${number}` });
    return undefined;
  }
  if (port.selector === 'name') {
    const name = port.name ?? '';
    const problem = portNameProblem(name);
    if (problem === undefined) return { name };
    problems.push({
      field: 'port.name',
      reason: `${quote(name)} is not a valid port name: it ${problem}`,
    });
    return undefined;
  }
  problems.push({ field: 'port', reason: 'set either name or number, or leave port unset' });
  return undefined;
}

function nameRule(
  field: string,
  value: string,
  rule: (value: string) => string | undefined,
  problems: ProblemList<FieldProblem>,
): void {
  const problem = rule(value);
  if (problem !== undefined) {
    problems.push({ field, reason: `${quote(value)} is not a valid name: it ${problem}` });
  }
}

function inScope(scope: WatchScope, key: ServiceKey, watchedIds: ReadonlySet<string> | undefined): boolean {
  if (scope.kind === 'namespace') return key.namespace === scope.namespace;
  return watchedIds === undefined || watchedIds.has(`${key.namespace}/${key.name}`);
}
