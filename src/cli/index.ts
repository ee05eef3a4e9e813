// The command-line client of a running endpointd, in the manner of `kubectl get endpoints`: `get` prints services
// and their endpoints, `watch` follows them, `bootstrap` prints an xDS bootstrap. It reads only the public REST
// API. Exit codes tell a script what went wrong (see exit-codes.ts).
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { dump as yamlDump } from 'js-yaml';
import { routableEndpoints } from '../views/endpoint-sets.ts';
import type { ServiceBody, WatchEventBody } from '../api/rest/wire.ts';
import { parseDuration } from '../duration.ts';
import { namespaceNameProblem, serviceNameProblem } from '../names.ts';
import { ApiClient, type ClientOptions } from './client.ts';
export { CLIENT_COMMANDS } from './commands.ts';
import { CliError, EXIT, type ExitCode } from './exit-codes.ts';
import { columns, renderTable, rowCells, UNKNOWN_AGE, type OutputFormat, type ServiceRow } from './table.ts';

/** Where the client writes; the process's streams, or a test's. */
export interface ClientIo {
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
  readonly env: NodeJS.ProcessEnv;
  /** Aborted on SIGINT/SIGTERM: `watch` then ends with exit code 0. */
  readonly signal: AbortSignal;
}

const CONNECTION_HELP = `Connection (each also read from its environment variable; the flag wins):
  -s, --server URL          endpointd's REST API (default http://localhost:8080) [ENDPOINTD_SERVER]
      --token TOKEN         bearer token to send [ENDPOINTD_TOKEN]
      --token-file PATH     read the bearer token from this file [ENDPOINTD_TOKEN_FILE]
      --ca-file PATH        PEM CA to verify an https server with [ENDPOINTD_CA_FILE]
      --cert-file PATH      PEM client certificate, for mTLS [ENDPOINTD_CERT_FILE]
      --key-file PATH       its PEM key [ENDPOINTD_KEY_FILE]
      --request-timeout D   bound on connecting and on each answer (default 10s)`;

const SELECTION_HELP = `  -n, --namespace NS        the namespace (default: all namespaces; for one SERVICE: default)
  -A, --all-namespaces      every namespace (the default without SERVICE)
  -o, --output FORMAT       wide (adds READY, PORTS, VERSION), json or yaml
      --all-endpoints       every endpoint whatever its conditions, not only the routable ones
      --port PORT           (get SERVICE) add the ready-to-dial targets of this port (name or number)`;

const EXIT_HELP = `Exit codes: 0 done · 1 server error · 2 bad usage · 3 server unreachable or not ready · 4 service or port
not found · 5 credentials refused.`;

const HELP: Record<string, string> = {
  get: `Usage: endpointd get [-n NS] [SERVICE | NS/SERVICE] [options]

Prints services and their endpoints, as kubectl get endpoints does. Without SERVICE: every service (of NS).
ENDPOINTS lists the routable endpoints' address:port (three, then how many more). AGE is <unknown>: the API
carries content versions, not timestamps.

${SELECTION_HELP}

${CONNECTION_HELP}

${EXIT_HELP}`,
  watch: `Usage: endpointd watch [-n NS] [SERVICE | NS/SERVICE] [options]

Prints the current state, then a line for every change (ENDPOINTS <deleted> when a service goes away), like
kubectl get -w. With -o json, one event a line (ADDED, MODIFIED, DELETED, ABSENT, SYNCED). Reconnects by itself
when the connection is lost, resuming from the version it has; Ctrl-C ends it (exit 0). AGE is how long ago this
client saw the change (<unknown> for the state found at the start).

${SELECTION_HELP}

${CONNECTION_HELP}

${EXIT_HELP}`,
  bootstrap: `Usage: endpointd bootstrap [--node ID] [options]

Prints the xDS bootstrap for gRPC clients that this endpointd serves (GET /v1/xds/bootstrap), e.g.
  endpointd bootstrap --node my-app > bootstrap.json && GRPC_XDS_BOOTSTRAP=bootstrap.json node client.js

      --node ID             node.id of the bootstrap (default endpointd-client)

${CONNECTION_HELP}

${EXIT_HELP}`,
};

/** Runs one client command; resolves with the process's exit code. Never throws. */
export async function runClient(command: string, argv: readonly string[], io: ClientIo): Promise<ExitCode> {
  let client: ApiClient | undefined;
  try {
    const parsed = parseClientArgs(command, argv, io.env);
    if (parsed === 'help') {
      io.stdout.write(`${HELP[command] ?? ''}\n`);
      return EXIT.ok;
    }
    client = new ApiClient(parsed.connection);
    if (command === 'bootstrap') {
      const query = parsed.node === undefined ? '' : `?node=${encodeURIComponent(parsed.node)}`;
      const bootstrap = await client.getJson<unknown>(`/v1/xds/bootstrap${query}`);
      io.stdout.write(`${JSON.stringify(bootstrap, null, 2)}\n`);
      return EXIT.ok;
    }
    if (command === 'get') return await get(client, parsed, io);
    return await watch(client, parsed, io);
  } catch (error) {
    if (error instanceof CliError) {
      io.stderr.write(`endpointd ${command}: ${error.message}\n`);
      if (error.code === EXIT.usage && error.message.startsWith('usage:'))
        io.stderr.write(`Run endpointd ${command} --help for the options.\n`);
      return error.code;
    }
    io.stderr.write(`endpointd ${command}: ${error instanceof Error ? error.message : String(error)}\n`);
    return EXIT.failed;
  } finally {
    await client?.close();
  }
}

interface ClientArgs {
  readonly connection: ClientOptions;
  /** undefined: every namespace. */
  readonly namespace: string | undefined;
  readonly service: string | undefined;
  readonly format: OutputFormat;
  readonly allEndpoints: boolean;
  readonly port: string | undefined;
  readonly node: string | undefined;
}

function usage(message: string): CliError {
  return new CliError(EXIT.usage, `usage: ${message}`);
}

function parseClientArgs(
  command: string,
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
): ClientArgs | 'help' {
  let values;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        help: { type: 'boolean', short: 'h' },
        server: { type: 'string', short: 's' },
        token: { type: 'string' },
        'token-file': { type: 'string' },
        'ca-file': { type: 'string' },
        'cert-file': { type: 'string' },
        'key-file': { type: 'string' },
        'request-timeout': { type: 'string' },
        namespace: { type: 'string', short: 'n' },
        'all-namespaces': { type: 'boolean', short: 'A' },
        output: { type: 'string', short: 'o' },
        'all-endpoints': { type: 'boolean' },
        port: { type: 'string' },
        node: { type: 'string' },
      },
    }));
  } catch (error) {
    throw usage((error as Error).message);
  }
  if (values.help === true) return 'help';
  const fromEnv = (name: string): string | undefined => (env[name] === '' ? undefined : env[name]);

  const server = values.server ?? fromEnv('ENDPOINTD_SERVER') ?? 'http://localhost:8080';
  let serverUrl: URL;
  try {
    serverUrl = new URL(server);
  } catch {
    throw usage(`--server must be a URL such as http://localhost:8080, got ${JSON.stringify(server)}`);
  }
  if (serverUrl.protocol !== 'http:' && serverUrl.protocol !== 'https:') {
    throw usage(`--server must be an http:// or https:// URL, got ${JSON.stringify(server)}`);
  }
  const timeoutText = values['request-timeout'] ?? '10s';
  const timeoutMs = parseDuration(timeoutText);
  if (timeoutMs === undefined || timeoutMs < 1) {
    throw usage(`--request-timeout must be a duration such as 10s, got ${JSON.stringify(timeoutText)}`);
  }
  const tokenFile = values['token-file'] ?? fromEnv('ENDPOINTD_TOKEN_FILE');
  let token = values.token ?? fromEnv('ENDPOINTD_TOKEN');
  if (tokenFile !== undefined) {
    if (values.token !== undefined) throw usage('give --token or --token-file, not both');
    try {
      token = readFileSync(tokenFile, 'utf8').trim();
    } catch (error) {
      throw usage(`--token-file ${tokenFile}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
    }
  }
  const certFile = values['cert-file'] ?? fromEnv('ENDPOINTD_CERT_FILE');
  const keyFile = values['key-file'] ?? fromEnv('ENDPOINTD_KEY_FILE');
  if ((certFile === undefined) !== (keyFile === undefined))
    throw usage('--cert-file and --key-file go together');

  const outputText = values.output ?? 'table';
  const formats: readonly OutputFormat[] = ['wide', 'json', 'yaml'];
  if (outputText !== 'table' && !formats.includes(outputText as OutputFormat)) {
    throw usage(`--output must be wide, json or yaml, got ${JSON.stringify(outputText)}`);
  }

  const maxPositionals = command === 'bootstrap' ? 0 : 1;
  if (positionals.length > maxPositionals) {
    throw usage(`unexpected argument ${JSON.stringify(positionals[maxPositionals])}`);
  }
  let namespace = values.namespace;
  let service = positionals[0];
  if (service?.includes('/') === true) {
    const [ns = '', name = '', ...rest] = service.split('/');
    if (rest.length > 0) throw usage(`SERVICE is NAME or NAMESPACE/NAME, got ${JSON.stringify(service)}`);
    if (namespace !== undefined && namespace !== ns) {
      throw usage(`-n ${namespace} contradicts ${JSON.stringify(service)}`);
    }
    namespace = ns;
    service = name;
  }
  if (values['all-namespaces'] === true) {
    if (service !== undefined) throw usage('--all-namespaces lists every service: give no SERVICE');
    if (values.namespace !== undefined) throw usage('give -n or --all-namespaces, not both');
  }
  if (service !== undefined) {
    namespace ??= 'default';
    const problem = serviceNameProblem(service);
    if (problem !== undefined)
      throw usage(`SERVICE ${JSON.stringify(service)} is not a valid name: it ${problem}`);
  }
  if (namespace !== undefined) {
    const problem = namespaceNameProblem(namespace);
    if (problem !== undefined)
      throw usage(`namespace ${JSON.stringify(namespace)} is not valid: it ${problem}`);
  }
  if (values.port !== undefined && (command !== 'get' || service === undefined)) {
    throw usage('--port goes with get SERVICE');
  }
  if (values.node !== undefined && command !== 'bootstrap') throw usage('--node goes with bootstrap');

  return {
    connection: {
      server,
      token,
      caFile: values['ca-file'] ?? fromEnv('ENDPOINTD_CA_FILE'),
      certFile,
      keyFile,
      timeoutMs,
    },
    namespace,
    service,
    format: outputText as OutputFormat,
    allEndpoints: values['all-endpoints'] === true,
    port: values.port,
    node: values.node,
  };
}

/** What a row shows of a body that holds every endpoint: the view's endpoints in ENDPOINTS, all in READY/TOTAL. */
function serviceRow(all: ServiceBody, args: ClientArgs, age: string, state?: string): ServiceRow {
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
function shownBody(all: ServiceBody, args: ClientArgs): ServiceBody {
  return serviceRow(all, args, '').body;
}

function servicePath(args: ClientArgs): string {
  return `/v1/namespaces/${encodeURIComponent(args.namespace ?? 'default')}/services/${encodeURIComponent(args.service ?? '')}`;
}

async function get(client: ApiClient, args: ClientArgs, io: ClientIo): Promise<ExitCode> {
  let bodies: ServiceBody[];
  if (args.service !== undefined) {
    // The view asked for, as the server computes it (its targets follow the same endpoints); and for -o wide's
    // READY/TOTAL, every endpoint too.
    const view = new URLSearchParams();
    if (args.allEndpoints) view.set('endpoints', 'all');
    if (args.port !== undefined) view.set('port', args.port);
    const shown = await client.getJson<ServiceBody>(`${servicePath(args)}${view.size > 0 ? `?${view}` : ''}`);
    if (args.format === 'wide' && !args.allEndpoints) {
      const all = await client.getJson<ServiceBody>(`${servicePath(args)}?endpoints=all`);
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
    const namespace = args.namespace === undefined ? '' : `&namespace=${encodeURIComponent(args.namespace)}`;
    const done = new AbortController();
    bodies = [];
    for await (const event of client.watch(`/v1/watch?endpoints=all${namespace}`, done.signal)) {
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

/** Backoff between reconnections of `watch`, in ms: quick at first, then at most every 5 s. */
const RECONNECT_MS = [250, 500, 1000, 2000, 5000];

async function watch(client: ApiClient, args: ClientArgs, io: ClientIo): Promise<ExitCode> {
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
    const query = new URLSearchParams({ endpoints: 'all' });
    if (single && version !== undefined) query.set('version', version);
    if (!single && args.namespace !== undefined) query.set('namespace', args.namespace);
    const path = single ? `${servicePath(args)}/watch?${query}` : `/v1/watch?${query}`;
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
      const wait = RECONNECT_MS[Math.min(failures, RECONNECT_MS.length - 1)] ?? 5000;
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
