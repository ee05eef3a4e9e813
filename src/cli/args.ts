// The client commands' arguments: flags, their ENDPOINTD_* variables and the positional SERVICE, checked before any
// server is asked (a mistake is exit code 2, with what was wrong).
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { SERVER_OPTIONS } from '../config/options/server.ts';
import { parseDuration } from '../duration.ts';
import { callerPlaceProblem, namespaceNameProblem, serviceNameProblem } from '../names.ts';
import { clusterNameProblem } from '../views/clusters.ts';
import type { ClientOptions } from './client.ts';
import { CliError, EXIT } from './exit-codes.ts';
import type { OutputFormat } from './table.ts';

/** The REST API of an endpointd on this machine with its default --http-port. */
export const DEFAULT_SERVER = `http://localhost:${SERVER_OPTIONS.httpPort.default}`;
export const DEFAULT_REQUEST_TIMEOUT = '10s';

export interface ClientArgs {
  readonly connection: ClientOptions;
  /** undefined: every namespace. */
  readonly namespace: string | undefined;
  readonly service: string | undefined;
  readonly format: OutputFormat;
  readonly allEndpoints: boolean;
  readonly port: string | undefined;
  /** bootstrap: the node.id of the bootstrap. */
  readonly node: string | undefined;
  /** get and watch: answer as for a caller in this zone and on this Kubernetes node (REST `zone=` / `node=`). */
  readonly caller: { readonly zone?: string; readonly node?: string };
  /** bootstrap: where the client runs (the route's ?zone=&region=&node=, which fill node.locality). */
  readonly locality: { readonly zone?: string; readonly region?: string; readonly subZone?: string };
  /** One named cluster's endpoints only (`?cluster=`); undefined: every cluster's. */
  readonly cluster: string | undefined;
}

function usage(message: string): CliError {
  return new CliError(EXIT.usage, `usage: ${message}`);
}

export function parseClientArgs(
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
        zone: { type: 'string' },
        region: { type: 'string' },
        'sub-zone': { type: 'string' },
        cluster: { type: 'string' },
      },
    }));
  } catch (error) {
    throw usage((error as Error).message);
  }
  if (values.help === true) return 'help';
  const fromEnv = (name: string): string | undefined => (env[name] === '' ? undefined : env[name]);

  const server = values.server ?? fromEnv('ENDPOINTD_SERVER') ?? DEFAULT_SERVER;
  let serverUrl: URL;
  try {
    serverUrl = new URL(server);
  } catch {
    throw usage(`--server must be a URL such as ${DEFAULT_SERVER}, got ${JSON.stringify(server)}`);
  }
  if (serverUrl.protocol !== 'http:' && serverUrl.protocol !== 'https:') {
    throw usage(`--server must be an http:// or https:// URL, got ${JSON.stringify(server)}`);
  }
  const timeoutText = values['request-timeout'] ?? DEFAULT_REQUEST_TIMEOUT;
  const timeoutMs = parseDuration(timeoutText);
  if (timeoutMs === undefined || timeoutMs < 1) {
    throw usage(`--request-timeout must be a duration such as 10s, got ${JSON.stringify(timeoutText)}`);
  }
  if (values.token !== undefined && values['token-file'] !== undefined) {
    throw usage('give --token or --token-file, not both');
  }
  // A flag wins over either variable (a --token for one call overrides a profile's ENDPOINTD_TOKEN_FILE); of the
  // two variables, the file.
  const fromFlags = values.token !== undefined || values['token-file'] !== undefined;
  const tokenFile = fromFlags ? values['token-file'] : fromEnv('ENDPOINTD_TOKEN_FILE');
  let token = fromFlags ? values.token : fromEnv('ENDPOINTD_TOKEN');
  if (tokenFile !== undefined) {
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
  for (const flag of ['region', 'sub-zone'] as const) {
    if (values[flag] !== undefined && command !== 'bootstrap') throw usage(`--${flag} goes with bootstrap`);
  }
  // get and watch take the caller's place by the rule every door checks it by (names.ts).
  if (command !== 'bootstrap') {
    for (const place of ['zone', 'node'] as const) {
      const value = values[place];
      const problem = value === undefined ? undefined : callerPlaceProblem(place, value);
      if (problem !== undefined)
        throw usage(`--${place} ${JSON.stringify(value)} is not a valid ${place} name: it ${problem}`);
    }
  }
  if (values.cluster !== undefined) {
    if (command === 'bootstrap') throw usage('--cluster goes with get and watch');
    const problem = clusterNameProblem(values.cluster);
    if (problem !== undefined)
      throw usage(`--cluster ${JSON.stringify(values.cluster)} is not a valid cluster name: it ${problem}`);
  }

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
    node: command === 'bootstrap' ? values.node : undefined,
    caller:
      command === 'bootstrap'
        ? {}
        : {
            ...(values.zone === undefined || values.zone === '' ? {} : { zone: values.zone }),
            ...(values.node === undefined || values.node === '' ? {} : { node: values.node }),
          },
    locality:
      command !== 'bootstrap'
        ? {}
        : {
            ...(values.zone === undefined ? {} : { zone: values.zone }),
            ...(values.region === undefined ? {} : { region: values.region }),
            ...(values['sub-zone'] === undefined ? {} : { subZone: values['sub-zone'] }),
          },
    cluster: values.cluster,
  };
}
