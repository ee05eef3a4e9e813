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

/** `&cluster=NAME` when one cluster was asked for, else nothing. */
export function clusterQuery(args: ClientArgs): string {
  return args.cluster === undefined ? '' : `&cluster=${encodeURIComponent(args.cluster)}`;
}

export function servicePath(args: ClientArgs): string {
  return `/v1/namespaces/${encodeURIComponent(args.namespace ?? 'default')}/services/${encodeURIComponent(args.service ?? '')}`;
}
