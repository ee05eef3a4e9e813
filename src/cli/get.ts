// `endpointd get`: one service (its view, and for -o wide every endpoint too), or every service as one watch
// stream's state up to SYNCED; printed as a table, JSON or YAML.
import { dump as yamlDump } from 'js-yaml';
import type { ServiceBody } from '../api/rest/wire.ts';
import type { ClientArgs } from './args.ts';
import type { ApiClient } from './client.ts';
import { EXIT, type ExitCode } from './exit-codes.ts';
import type { ClientIo } from './index.ts';
import {
  allEndpointsQuery,
  asCaller,
  queryString,
  rowsQuery,
  servicePath,
  serviceRow,
  shownBody,
  viewQuery,
} from './service-rows.ts';
import { columns, renderTable, rowCells, UNKNOWN_AGE } from './table.ts';

export async function get(client: ApiClient, args: ClientArgs, io: ClientIo): Promise<ExitCode> {
  let bodies: ServiceBody[];
  if (args.service !== undefined) {
    // The view asked for, as the server computes it (its targets follow the same endpoints); and for -o wide's
    // READY/TOTAL, every endpoint too, except for a caller, whose READY counts its answer (as a list's rows do).
    const shown = await client.getJson<ServiceBody>(`${servicePath(args)}${queryString(viewQuery(args))}`);
    if (args.format === 'wide' && !args.allEndpoints && !asCaller(args)) {
      const all = await client.getJson<ServiceBody>(
        `${servicePath(args)}${queryString(allEndpointsQuery(args))}`,
      );
      const row = { ...serviceRow(all, args, UNKNOWN_AGE), body: shown };
      io.stdout.write(
        `${renderTable(columns(args.format, false), [rowCells(row, args.format, false)]).join('\n')}\n`,
      );
      printTargets(shown, args, io);
      return EXIT.ok;
    }
    bodies = [shown]; // serviceRow and shownBody leave a routable view as it is
  } else {
    // The state of every service in one answer: a watch stream's events up to SYNCED.
    const query = rowsQuery(args);
    if (args.namespace !== undefined) query.set('namespace', args.namespace);
    const done = new AbortController();
    bodies = [];
    const path = `/v1/watch${queryString(query)}`;
    // One answer, though read from a stream: --request-timeout bounds its silences (not the watch's 45 s), so that a
    // stalled server or a proxy buffering the stream fails `get` in the time the user gave.
    for await (const event of client.watch(path, done.signal, client.timeoutMs)) {
      if (event.type === 'ADDED' || event.type === 'MODIFIED') bodies.push(event.service);
      if (event.type === 'SYNCED') {
        done.abort();
        break;
      }
    }
  }
  if (args.format === 'json' || args.format === 'yaml') {
    const shown = bodies.map((b) => shownBody(b, args));
    const document = args.service !== undefined ? shown[0] : { services: shown };
    io.stdout.write(args.format === 'json' ? `${JSON.stringify(document, null, 2)}\n` : yamlDump(document));
    return EXIT.ok;
  }
  const withNamespace = args.namespace === undefined;
  if (bodies.length === 0) {
    io.stderr.write(
      args.namespace === undefined
        ? 'No services found.\n'
        : `No services found in ${args.namespace} namespace.\n`,
    );
    return EXIT.ok;
  }
  const rows = bodies.map((b) => rowCells(serviceRow(b, args, UNKNOWN_AGE), args.format, withNamespace));
  io.stdout.write(`${renderTable(columns(args.format, withNamespace), rows).join('\n')}\n`);
  if (bodies[0] !== undefined) printTargets(bodies[0], args, io);
  return EXIT.ok;
}

function printTargets(body: ServiceBody, args: ClientArgs, io: ClientIo): void {
  if (args.port === undefined || args.service === undefined) return;
  const targets = (body.targets ?? []).map((t) =>
    t.address.includes(':') ? `[${t.address}]:${t.port}` : `${t.address}:${t.port}`,
  );
  io.stdout.write(`\nTARGETS (${args.port})   ${targets.length === 0 ? '<none>' : targets.join(',')}\n`);
}
