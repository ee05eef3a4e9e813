// What the client shows of a service: the row of a table and the body of -o json/yaml, as the arguments ask.
import type { ServiceBody } from '../api/rest/wire.ts';
import { routableEndpoints } from '../views/endpoint-sets.ts';
import type { ClientArgs } from './args.ts';
import type { ServiceRow } from './table.ts';

/** What a row shows of a body that holds every endpoint: the view's endpoints in ENDPOINTS, all in READY/TOTAL. */
export function serviceRow(all: ServiceBody, args: ClientArgs, age: string, state?: string): ServiceRow {
  const body = args.allEndpoints ? all : { ...all, endpoints: routableEndpoints(all.endpoints) };
  return {
    body,
    total: all.endpoints.length,
    ready: all.endpoints.filter((e) => e.ready).length,
    age,
    ...(state === undefined ? {} : { state }),
  };
}

/** The body as -o json/yaml prints it: the view asked for (routable endpoints unless --all-endpoints). */
export function shownBody(all: ServiceBody, args: ClientArgs): ServiceBody {
  return serviceRow(all, args, '').body;
}

/**
 * The query of what the rows are made from. Every endpoint (READY/TOTAL count them all; the routable ones are picked
 * here, by the server's rule), of one cluster when asked; for a caller (--zone / --node), the server's answer to that
 * caller, since which endpoints topology picks only the server knows: then every endpoint only with --all-endpoints.
 */
export function rowsQuery(args: ClientArgs): URLSearchParams {
  const query = new URLSearchParams();
  if (args.allEndpoints || !asCaller(args)) query.set('endpoints', 'all');
  return withPlace(query, args);
}

/** The view asked for of one service (get SERVICE): its endpoint set, port, cluster and caller. */
export function viewQuery(args: ClientArgs): URLSearchParams {
  const query = new URLSearchParams();
  if (args.allEndpoints) query.set('endpoints', 'all');
  if (args.port !== undefined) query.set('port', args.port);
  return withPlace(query, args);
}

/** Every endpoint of the service (of one cluster when asked), whoever asks: for -o wide's READY/TOTAL. */
export function allEndpointsQuery(args: ClientArgs): URLSearchParams {
  const query = new URLSearchParams({ endpoints: 'all' });
  if (args.cluster !== undefined) query.set('cluster', args.cluster);
  return query;
}

/** Whether the rows are a caller's answer (--zone / --node): READY/TOTAL then count that answer. */
export function asCaller(args: ClientArgs): boolean {
  return args.caller.zone !== undefined || args.caller.node !== undefined;
}

function withPlace(query: URLSearchParams, args: ClientArgs): URLSearchParams {
  if (args.cluster !== undefined) query.set('cluster', args.cluster);
  if (args.caller.zone !== undefined) query.set('zone', args.caller.zone);
  if (args.caller.node !== undefined) query.set('node', args.caller.node);
  return query;
}

/** `?QUERY`, or nothing for an empty one. */
export function queryString(query: URLSearchParams): string {
  return query.size > 0 ? `?${query}` : '';
}

export function servicePath(args: ClientArgs): string {
  return `/v1/namespaces/${encodeURIComponent(args.namespace ?? 'default')}/services/${encodeURIComponent(args.service ?? '')}`;
}
