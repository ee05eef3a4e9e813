// `endpointd watch`: the state, then a line per change, riding out lost connections (resuming a single service
// from its version; for many services, printing only what changed meanwhile). Ends on the io's signal.
import { dump as yamlDump } from 'js-yaml';
import type { ServiceBody, WatchEventBody } from '../api/rest/wire.ts';
import type { ClientArgs } from './args.ts';
import type { ApiClient } from './client.ts';
import { CliError, EXIT, type ExitCode } from './exit-codes.ts';
import type { ClientIo } from './index.ts';
import { queryString, rowsQuery, servicePath, serviceRow, shownBody } from './service-rows.ts';
import { columns, rowCells, UNKNOWN_AGE, type ServiceRow } from './table.ts';

/** Backoff between reconnections of `watch`, in ms: quick at first, then at most every 5 s. */
const RECONNECT_MS = [250, 500, 1000, 2000, 5000];

export async function watch(client: ApiClient, args: ClientArgs, io: ClientIo): Promise<ExitCode> {
  const single = args.service !== undefined;
  const withNamespace = !single && args.namespace === undefined;
  const header = columns(args.format, withNamespace);
  // The state found at the start is printed as one table (at SYNCED), which sets the column widths; later rows are
  // printed one by one as they come, each column growing only when a cell needs it.
  const widths = header.map((h) => h.length);
  let initial: string[][] | undefined = [];
  const printRow = (cells: readonly string[]): void => {
    if (initial !== undefined) {
      initial.push([...cells]);
      return;
    }
    cells.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)));
    io.stdout.write(
      `${cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('   ')}\n`,
    );
  };
  const printInitial = (): void => {
    if (initial === undefined) return;
    for (const cells of initial) cells.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)));
    const rows = initial;
    initial = undefined;
    for (const cells of rows) printRow(cells);
  };
  const table = args.format === 'table' || args.format === 'wide';
  if (table) printRow(header);

  let version: string | undefined; // one-service streams resume from it
  // Many-service streams carry no version to resume from: each connection sends every state again. What this client
  // printed already is not printed twice, and what the new connection no longer has was deleted meanwhile.
  const printed = new Map<string, string>();
  const seen = new Set<string>();
  let connections = 0;
  let connected = false; // a stream was opened once: later failures are retried
  let failures = 0;
  let started = false;
  const emit = (event: WatchEventBody): void => {
    if (!table) {
      const shown = shownEvent(event, args);
      io.stdout.write(args.format === 'json' ? `${JSON.stringify(shown)}\n` : `---\n${yamlDump(shown)}`);
      return;
    }
    const row = eventRow(event, args, started ? '0s' : UNKNOWN_AGE);
    if (row !== undefined) printRow(rowCells(row, args.format, withNamespace));
    if (event.type === 'SYNCED') printInitial();
    if (event.type === 'ABSENT') {
      io.stderr.write(`${event.namespace}/${event.name} does not exist (yet); waiting for it\n`);
    }
  };
  for (;;) {
    const query = rowsQuery(args);
    if (single && version !== undefined) query.set('version', version);
    if (!single && args.namespace !== undefined) query.set('namespace', args.namespace);
    const path = `${single ? `${servicePath(args)}/watch` : '/v1/watch'}${queryString(query)}`;
    try {
      connections++;
      seen.clear();
      for await (const event of client.watch(path, io.signal)) {
        connected = true;
        failures = 0;
        if (event.type === 'HEARTBEAT') continue;
        if (!single && event.type === 'SYNCED' && connections > 1) {
          for (const [key] of printed) {
            if (seen.has(key)) continue;
            const [namespace = '', name = ''] = key.split('/');
            printed.delete(key);
            emit({ type: 'DELETED', namespace, name });
          }
        }
        if (event.type === 'SYNCED') started = true;
        if (!single && (event.type === 'ADDED' || event.type === 'MODIFIED')) {
          const key = `${event.namespace}/${event.name}`;
          seen.add(key);
          if (printed.get(key) === event.version) continue;
          printed.set(key, event.version);
        }
        if (!single && event.type === 'DELETED') printed.delete(`${event.namespace}/${event.name}`);
        if (single && event.type === 'ABSENT' && version !== undefined) {
          // Shown as present, now absent: it was deleted while the connection was down, and a resumed stream can
          // only say it is absent now. The deletion is printed, as the many-service watch prints it.
          emit({ type: 'DELETED', namespace: event.namespace, name: event.name });
        }
        if (single && event.type !== 'SYNCED') {
          version = event.type === 'ADDED' || event.type === 'MODIFIED' ? event.version : undefined;
        }
        emit(event);
      }
      return EXIT.ok; // the signal ended it
    } catch (error) {
      if (io.signal.aborted) return EXIT.ok;
      // A first connection that fails is an answer a script needs now; later ones are blips to ride out.
      if (!(error instanceof CliError) || !connected || error.code !== EXIT.unavailable) throw error;
      const backoff = RECONNECT_MS[Math.min(failures, RECONNECT_MS.length - 1)] ?? 5000;
      // A server that said when to come back (429, 503) is not asked again sooner: it would only refuse again.
      const wait = Math.max(backoff, error.retryAfterMs ?? 0);
      failures++;
      io.stderr.write(`${error.message}; reconnecting in ${wait} ms\n`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, wait);
        io.signal.addEventListener('abort', () => {
          clearTimeout(timer);
          resolve();
        });
      });
      if (io.signal.aborted) return EXIT.ok;
    }
  }
}

function eventRow(event: WatchEventBody, args: ClientArgs, age: string): ServiceRow | undefined {
  if (event.type === 'ADDED' || event.type === 'MODIFIED') return serviceRow(event.service, args, age);
  if (event.type === 'DELETED') {
    const empty: ServiceBody = {
      namespace: event.namespace,
      name: event.name,
      version: '',
      ports: [],
      endpoints: [],
      service: null,
    };
    return serviceRow(empty, args, '0s', '<deleted>');
  }
  return undefined;
}

function shownEvent(event: WatchEventBody, args: ClientArgs): WatchEventBody {
  if (event.type !== 'ADDED' && event.type !== 'MODIFIED') return event;
  return { ...event, service: shownBody(event.service, args) };
}
