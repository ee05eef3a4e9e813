// Flags and ENDPOINTD_* environment variables → one validated, typed Config. A flag wins over its variable. Every
// bad value is reported at once, naming the flag, the variable, the value and what is expected; the rules that
// tie several options together (TLS files go in pairs, an idle bound above the heartbeat, ...) live here.
import { realpathSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { corsOriginProblem } from '../api/rest/cors.ts';
import { formatDuration } from '../duration.ts';
import { SYSTEM_NAMESPACES } from '../policy/exposure.ts';
import type { LimitsConfig, SecurityConfig } from '../security/guards.ts';
import { usage } from './help.ts';
import { Option, optionsOf, readOptions, type Values } from './option.ts';
import {
  CLUSTER_OPTIONS,
  EXPOSURE_OPTIONS,
  GRPC_OPTIONS,
  KUBERNETES_OPTIONS,
  LIMIT_OPTIONS,
  OPTION_SECTIONS,
  SECURITY_OPTIONS,
  SERVER_OPTIONS,
  SOURCE_OPTIONS,
  XDS_OPTIONS,
} from './options/index.ts';
import { FAILED_AUTH_BURST } from './options/limits.ts';
import { SOURCE_EXPECTED } from './options/sources.ts';
import type { Config, ExportRule, KubernetesSourceConfig, ParsedCommandLine, SourceConfig } from './types.ts';

const ALL_OPTIONS = OPTION_SECTIONS.flatMap((section) => optionsOf(section.options));

/** Flags that may be given alone, by their `--flag`, with what alone means (`--auth-token-review`: true). */
const BARE_MEANING = new Map<string, string>(
  ALL_OPTIONS.flatMap((option) =>
    option.bare === undefined ? [] : [[`--${option.flag}`, option.bare] as const],
  ),
);

/**
 * The arguments with each switch given alone written out (`--auth-token-review` → `--auth-token-review=true`). A
 * switch followed by a word that is not a flag keeps it as its value, as `--flag=false` does: endpointd takes no
 * positional argument, so `--hide-default-namespaces no` meant a value, and is refused as that switch's.
 */
function withBareSwitches(argv: readonly string[]): string[] {
  return argv.map((arg, i) => {
    const meaning = BARE_MEANING.get(arg);
    const next = argv[i + 1];
    if (meaning === undefined || (next !== undefined && !next.startsWith('-'))) return arg;
    return `${arg}=${meaning}`;
  });
}

export function parseCommandLine(argv: readonly string[], env: NodeJS.ProcessEnv): ParsedCommandLine {
  let flags: Record<string, string | boolean | (string | boolean)[] | undefined>;
  try {
    const options: Record<string, { type: 'string' | 'boolean'; multiple?: boolean; short?: string }> = {
      help: { type: 'boolean', short: 'h' },
      version: { type: 'boolean' },
    };
    for (const option of ALL_OPTIONS)
      options[option.flag] = { type: 'string', multiple: option.list !== false };
    ({ values: flags } = parseArgs({
      args: withBareSwitches(argv),
      options,
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    return { kind: 'invalid', problems: [(error as Error).message] };
  }
  if (flags.help === true) return { kind: 'help', text: usage() };
  if (flags.version === true) return { kind: 'version' };

  const problems: string[] = [];
  const invalid = (option: Option<unknown>, value: string, expected: string): void => {
    problems.push(`--${option.flag} (${option.env}): ${expected}, got ${JSON.stringify(value)}`);
  };
  const inputOf = (option: Option<unknown>) => {
    const flag = flags[option.flag];
    return {
      flag: typeof flag === 'string' || Array.isArray(flag) ? (flag as string | string[]) : undefined,
      env: env[option.env],
    };
  };
  /** The text an option's value came from (flag, variable or default), for messages about several options. */
  const textOf = (option: Option<unknown>): string => {
    const { flag, env: fromEnv } = inputOf(option);
    if (typeof flag === 'string') return flag;
    return fromEnv !== undefined && fromEnv !== '' ? fromEnv : (option.default ?? '');
  };
  const read = (option: Option<unknown>): unknown => {
    const { value, problems: found } = option.read(inputOf(option));
    for (const problem of found) invalid(option, problem.value, problem.expected);
    return value;
  };
  const rules: Rules = { invalid, textOf };

  const { corsAllowOrigins: allowOrigins, ...server } = readOptions(SERVER_OPTIONS, read);
  const kubernetes = readOptions(KUBERNETES_OPTIONS, read);
  const sourceChoices = readOptions(SOURCE_OPTIONS, read);
  const security = securityConfig(readOptions(SECURITY_OPTIONS, read), rules);
  const limits = limitsConfig(readOptions(LIMIT_OPTIONS, read), rules);
  checkCors(allowOrigins, security, rules);
  const { idleTimeoutMs } = limits.http;
  if (
    idleTimeoutMs > 0 &&
    server.heartbeatIntervalMs !== undefined &&
    idleTimeoutMs <= server.heartbeatIntervalMs
  ) {
    invalid(
      LIMIT_OPTIONS.http.idleTimeoutMs,
      textOf(LIMIT_OPTIONS.http.idleTimeoutMs),
      `must exceed --heartbeat-interval (${formatDuration(server.heartbeatIntervalMs)}), or healthy watch streams are cut`,
    );
  }
  const config: Config = {
    ...server,
    sources: [
      ...sourcesConfig(sourceChoices, kubernetes, rules),
      ...clustersConfig(readOptions(CLUSTER_OPTIONS, read), kubernetes, sourceChoices, rules),
    ],
    tokenReviewApi: { kubeconfig: kubernetes.kubeconfig, context: kubernetes.context },
    exposure: exposureConfig(readOptions(EXPOSURE_OPTIONS, read)),
    grpc: readOptions(GRPC_OPTIONS, read),
    xds: readOptions(XDS_OPTIONS, read),
    security,
    limits,
    cors: { allowOrigins },
  };
  return problems.length > 0 ? { kind: 'invalid', problems } : { kind: 'run', config };
}

interface Rules {
  readonly invalid: (option: Option<unknown>, value: string, expected: string) => void;
  readonly textOf: (option: Option<unknown>) => string;
}

/** Two paths name the same file or directory (through links too, when they exist). */
function samePath(a: string, b: string): boolean {
  const real = (path: string): string => {
    try {
      return realpathSync(path);
    } catch {
      return resolve(path); // not there (yet): the file source waits for it
    }
  };
  return real(a) === real(b);
}

function sourcesConfig(
  given: Values<typeof SOURCE_OPTIONS>,
  kubernetes: Values<typeof KUBERNETES_OPTIONS>,
  { invalid }: Rules,
): SourceConfig[] {
  const sources: SourceConfig[] = [];
  for (const choice of given.sources) {
    if (choice === undefined) continue; // refused already
    if (choice.kind === 'file') {
      // The same files read twice would define every Service twice: a conflict logged for each, no use.
      if (sources.some((s) => s.kind === 'file' && samePath(s.path, choice.path))) {
        invalid(SOURCE_OPTIONS.sources, `file:${choice.path}`, 'must name each path once');
        continue;
      }
      sources.push({ ...choice, maxFileBytes: given.maxFileBytes });
    } else if (sources.some((s) => s.kind === 'kubernetes')) {
      invalid(SOURCE_OPTIONS.sources, 'kubernetes', SOURCE_EXPECTED);
    } else {
      const source: KubernetesSourceConfig = { kind: 'kubernetes', ...kubernetes };
      sources.push(source);
    }
  }
  return sources;
}

/** One Kubernetes source per --cluster, each with the shared settings and its own kubeconfig, context and name. */
function clustersConfig(
  given: Values<typeof CLUSTER_OPTIONS>,
  kubernetes: Values<typeof KUBERNETES_OPTIONS>,
  choices: Values<typeof SOURCE_OPTIONS>,
  { invalid }: Rules,
): KubernetesSourceConfig[] {
  const option = CLUSTER_OPTIONS.clusters;
  const exportRule: ExportRule =
    given.export === 'annotation' && given.exportAnnotation !== undefined
      ? { mode: 'annotation', ...given.exportAnnotation }
      : { mode: given.export === 'serviceexport' ? 'serviceexport' : 'all' };
  const seen = new Set<string>();
  const sources: KubernetesSourceConfig[] = [];
  for (const cluster of given.clusters) {
    if (cluster === undefined) continue; // refused already
    if (seen.has(cluster.name)) {
      invalid(option, cluster.name, 'names a cluster given before: each --cluster needs its own name');
      continue;
    }
    seen.add(cluster.name);
    sources.push({
      kind: 'kubernetes',
      ...kubernetes,
      kubeconfig: cluster.kubeconfig ?? kubernetes.kubeconfig,
      context: cluster.context ?? kubernetes.context,
      cluster: {
        name: cluster.name,
        region: cluster.region,
        export: exportRule,
        readyTimeoutMs: given.readyTimeoutMs,
        staleAfterMs: given.staleAfterMs,
      },
    });
  }
  if (sources.length > 0 && choices.sources.some((choice) => choice?.kind === 'kubernetes')) {
    invalid(
      SOURCE_OPTIONS.sources,
      'kubernetes',
      'cannot be given with --cluster: name every cluster with --cluster (an empty KUBECONFIG means the usual search)',
    );
  }
  return sources;
}

function exposureConfig(given: Values<typeof EXPOSURE_OPTIONS>): Config['exposure'] {
  const { hideDefaultNamespaces, ...rules } = given;
  return {
    ...rules,
    hideNamespaces: [
      ...new Set([...(hideDefaultNamespaces ? SYSTEM_NAMESPACES : []), ...given.hideNamespaces]),
    ],
  };
}

function securityConfig(given: Values<typeof SECURITY_OPTIONS>, { invalid, textOf }: Rules): SecurityConfig {
  const { certFile, keyFile, clientCaFile } = given.tls;
  const tls = SECURITY_OPTIONS.tls;
  if ((certFile === undefined) !== (keyFile === undefined)) {
    const [present, missing] =
      certFile === undefined ? [tls.keyFile, tls.certFile] : [tls.certFile, tls.keyFile];
    invalid(present, textOf(present), `needs --${missing.flag} too`);
  }
  if (clientCaFile !== undefined && certFile === undefined) {
    invalid(
      tls.clientCaFile,
      clientCaFile,
      'needs --tls-cert-file and --tls-key-file (client certificates need TLS)',
    );
  }
  return {
    ...given,
    tls: certFile === undefined || keyFile === undefined ? undefined : { ...given.tls, certFile, keyFile },
  };
}

function limitsConfig(given: Values<typeof LIMIT_OPTIONS>, { invalid, textOf }: Rules): LimitsConfig {
  const { requestTimeoutMs, headersTimeoutMs } = given.http;
  if (requestTimeoutMs > 0 && headersTimeoutMs !== undefined && requestTimeoutMs < headersTimeoutMs) {
    const option = LIMIT_OPTIONS.http.requestTimeoutMs;
    invalid(option, textOf(option), 'must be 0s or at least --http-headers-timeout');
  }
  const { lookupPerSecond: perSecond, lookupBurst: burst } = given;
  return {
    http: given.http,
    restStreams: given.restStreams,
    grpcStreams: given.grpcStreams,
    // The open methods' budget is per client as the authenticated one is.
    grpcUnauthenticatedStreams: {
      total: given.grpcUnauthenticatedStreams,
      perClient: given.grpcStreams.perClient,
    },
    failedAuthRate: { perSecond: given.failedAuthPerSecond, burst: FAILED_AUTH_BURST },
    xdsMaxNamesPerStream: given.xdsMaxNamesPerStream,
    lookupRate:
      perSecond === undefined
        ? undefined
        : { perSecond, burst: burst > 0 ? burst : Math.max(1, Math.ceil(perSecond)) },
  };
}

function checkCors(allowOrigins: readonly string[], security: SecurityConfig, { invalid }: Rules): void {
  const option = SERVER_OPTIONS.corsAllowOrigins;
  for (const origin of allowOrigins) {
    const problem = corsOriginProblem(origin, allowOrigins);
    if (problem !== undefined) invalid(option, origin, problem);
  }
  if (allowOrigins.includes('*') && security.tls?.clientCaFile !== undefined) {
    // Browsers send client certificates only on credentialed requests, which `*` cannot allow.
    invalid(
      option,
      '*',
      'cannot be * with --tls-client-ca-file (browsers send client certificates only to listed origins): list the origins',
    );
  }
}
