// Flags and ENDPOINTD_* environment variables → one validated, typed Config. A flag wins over its variable.
// Every bad value is reported at once, naming the flag, the value and what is expected.
import { parseArgs } from 'node:util';
import type { LevelWithSilent } from 'pino';
import type { GrpcTransportOptions } from '../api/grpc/options.ts';
import { corsOriginProblem, type CorsOptions } from '../api/rest/cors.ts';
import { formatDuration, parseDuration } from '../duration.ts';
import { namespaceNameProblem } from '../names.ts';
import { SYSTEM_NAMESPACES } from '../policy/exposure.ts';
import { parseLabelSelector } from '../policy/label-selector.ts';
import { LOG_LEVELS } from '../observability/logger.ts';
import { DEFAULT_HTTP_LIMITS } from '../limits/http-limits.ts';
import { parseRate } from '../limits/rate-limiter.ts';
import type { LimitsConfig, SecurityConfig } from '../security/guards.ts';

export type SourceConfig =
  | { readonly kind: 'file'; readonly path: string; readonly maxFileBytes?: number }
  | { readonly kind: 'kubernetes' };

export interface KubernetesConfig {
  readonly kubeconfig: string | undefined;
  readonly context: string | undefined;
  /** Empty: all namespaces. */
  readonly namespaces: readonly string[];
  readonly resource: 'endpointslices' | 'endpoints';
  readonly labelSelector: string | undefined;
  /** A watch that delivered nothing (no event, no bookmark) for this long is reopened. */
  readonly watchIdleTimeoutMs: number;
}

/** Which Services clients may see (see src/policy/exposure.ts). */
export interface ExposureConfig {
  readonly exposeNamespaces: readonly string[];
  readonly hideNamespaces: readonly string[];
  readonly selector: string | undefined;
  readonly annotation: { readonly key: string; readonly value: string } | undefined;
}

export interface GrpcConfig {
  readonly heartbeatIntervalMs: number;
  readonly maxWatchedServices: number;
  readonly transport: GrpcTransportOptions;
}

export interface Config {
  /** Empty: serve the bundled examples. */
  readonly sources: readonly SourceConfig[];
  readonly kubernetes: KubernetesConfig;
  readonly exposure: ExposureConfig;
  readonly grpc: GrpcConfig;
  readonly httpPort: number;
  /** Plain-HTTP port of /healthz and /readyz (and /metrics with healthPortMetrics); undefined: none. */
  readonly healthPort: number | undefined;
  readonly healthPortMetrics: boolean;
  readonly grpcPort: number;
  readonly bind: string;
  readonly logLevel: LevelWithSilent;
  readonly heartbeatIntervalMs: number;
  readonly encodedCacheBytes: number;
  readonly shutdownGraceMs: number;
  readonly shutdownDelayMs: number;
  /** TLS and authentication of both doors (all off by default). */
  readonly security: SecurityConfig;
  /** Limits against hostile or broken clients. */
  readonly limits: LimitsConfig;
  /** Browser pages of other origins allowed to call the REST API; absent: none. */
  readonly cors?: CorsOptions;
}

export type ParsedCommandLine =
  | { readonly kind: 'run'; readonly config: Config }
  | { readonly kind: 'help'; readonly text: string }
  | { readonly kind: 'version' }
  | { readonly kind: 'invalid'; readonly problems: readonly string[] };

interface OptionSpec {
  readonly env: string;
  readonly default?: string;
  readonly multiple?: boolean;
  readonly valueName: string;
  readonly help: string;
}

const OPTIONS = {
  source: {
    env: 'ENDPOINTD_SOURCE',
    multiple: true,
    valueName: 'SOURCE',
    help: 'where endpoints come from: kubernetes (list+watch the API server), or file:PATH (a manifest file or a directory, watched live). Repeatable; the variable takes a comma-separated list. Default: the bundled examples/',
  },
  'file-max-size': {
    env: 'ENDPOINTD_FILE_MAX_SIZE',
    default: '64MiB',
    valueName: 'SIZE',
    help: 'a manifest file larger than this is refused (logged, listed in /readyz, its last good state kept)',
  },
  kubeconfig: {
    env: 'ENDPOINTD_KUBECONFIG',
    valueName: 'PATH',
    help: 'kubeconfig file for --source kubernetes (else $KUBECONFIG, ~/.kube/config, then the in-cluster service account)',
  },
  context: {
    env: 'ENDPOINTD_CONTEXT',
    valueName: 'NAME',
    help: 'kubeconfig context to use (default: its current context)',
  },
  namespace: {
    env: 'ENDPOINTD_NAMESPACE',
    multiple: true,
    valueName: 'NAMESPACE',
    help: 'watch only this namespace; repeatable (the variable: comma-separated). Default: all namespaces',
  },
  'kube-resource': {
    env: 'ENDPOINTD_KUBE_RESOURCE',
    default: 'endpointslices',
    valueName: 'RESOURCE',
    help: 'endpointslices (discovery.k8s.io/v1) or endpoints (the legacy core/v1 API)',
  },
  'expose-namespace': {
    env: 'ENDPOINTD_EXPOSE_NAMESPACE',
    multiple: true,
    valueName: 'NAMESPACE',
    help: 'show clients only the Services of these namespaces; repeatable (the variable: comma-separated). Default: all',
  },
  'hide-namespace': {
    env: 'ENDPOINTD_HIDE_NAMESPACE',
    multiple: true,
    valueName: 'NAMESPACE[,...]',
    help: 'never show the Services of these namespaces, in addition to kube-system, kube-public and kube-node-lease (always hidden unless --hide-default-namespaces=false); comma-separated, repeatable',
  },
  'hide-default-namespaces': {
    env: 'ENDPOINTD_HIDE_DEFAULT_NAMESPACES',
    default: 'true',
    valueName: 'BOOL',
    help: 'hide kube-system, kube-public and kube-node-lease; false leaves only the --hide-namespace list hidden',
  },
  'expose-selector': {
    env: 'ENDPOINTD_EXPOSE_SELECTOR',
    valueName: 'SELECTOR',
    help: 'show only Services whose labels match this label selector, e.g. expose=true',
  },
  'expose-annotation': {
    env: 'ENDPOINTD_EXPOSE_ANNOTATION',
    valueName: 'KEY=VALUE',
    help: 'show only Services annotated so, e.g. endpointd.io/expose=true',
  },
  'kube-watch-idle-timeout': {
    env: 'ENDPOINTD_KUBE_WATCH_IDLE_TIMEOUT',
    default: '90s',
    valueName: 'DURATION',
    help: 'reopen a watch that sent nothing (bookmarks come about once a minute) for this long',
  },
  'label-selector': {
    env: 'ENDPOINTD_LABEL_SELECTOR',
    valueName: 'SELECTOR',
    help: 'serve only the endpoints whose labels match (slices and Endpoints carry their Service labels), e.g. tier=web',
  },
  'http-port': {
    env: 'ENDPOINTD_HTTP_PORT',
    default: '8080',
    valueName: 'PORT',
    help: 'REST API port (0 picks a free one)',
  },
  'health-port': {
    env: 'ENDPOINTD_HEALTH_PORT',
    valueName: 'PORT',
    help: 'also serve /healthz and /readyz on this port over plain HTTP, without TLS or authentication, for probes (kubelet cannot present a client certificate under --tls-client-auth require). Default: off',
  },
  'health-port-metrics': {
    env: 'ENDPOINTD_HEALTH_PORT_METRICS',
    default: 'false',
    valueName: 'BOOL',
    help: 'serve /metrics on --health-port too (for a Prometheus that scrapes without credentials)',
  },
  'grpc-port': {
    env: 'ENDPOINTD_GRPC_PORT',
    default: '9090',
    valueName: 'PORT',
    help: 'gRPC and xDS port (0 picks a free one)',
  },
  'grpc-heartbeat-interval': {
    env: 'ENDPOINTD_GRPC_HEARTBEAT_INTERVAL',
    default: '30s',
    valueName: 'DURATION',
    help: 'heartbeat period of gRPC Watch streams (each carries the current versions)',
  },
  'grpc-max-watch-services': {
    env: 'ENDPOINTD_GRPC_MAX_WATCH_SERVICES',
    default: '1000',
    valueName: 'N',
    help: 'at most this many services named in one gRPC Watch request (each costs a subscription)',
  },
  'grpc-keepalive-time': {
    env: 'ENDPOINTD_GRPC_KEEPALIVE_TIME',
    default: '60s',
    valueName: 'DURATION',
    help: 'ping a gRPC connection after this long without activity',
  },
  'grpc-keepalive-timeout': {
    env: 'ENDPOINTD_GRPC_KEEPALIVE_TIMEOUT',
    default: '20s',
    valueName: 'DURATION',
    help: 'close a gRPC connection whose ping is not answered within this',
  },
  'grpc-max-connection-idle': {
    env: 'ENDPOINTD_GRPC_MAX_CONNECTION_IDLE',
    default: '0s',
    valueName: 'DURATION',
    help: 'close gRPC connections without calls for this long (0s: never)',
  },
  'grpc-max-connection-age': {
    env: 'ENDPOINTD_GRPC_MAX_CONNECTION_AGE',
    default: '0s',
    valueName: 'DURATION',
    help: 'close gRPC connections older than this with GOAWAY, to spread clients over new replicas (0s: never)',
  },
  'grpc-max-connection-age-grace': {
    env: 'ENDPOINTD_GRPC_MAX_CONNECTION_AGE_GRACE',
    default: '30s',
    valueName: 'DURATION',
    help: 'after that GOAWAY, how long open calls get',
  },
  'grpc-max-concurrent-streams': {
    env: 'ENDPOINTD_GRPC_MAX_CONCURRENT_STREAMS',
    default: '1000',
    valueName: 'N',
    help: 'calls one gRPC connection may have open at once',
  },
  'grpc-max-receive-message-size': {
    env: 'ENDPOINTD_GRPC_MAX_RECEIVE_MESSAGE_SIZE',
    default: '4MiB',
    valueName: 'BYTES',
    help: 'largest gRPC request accepted',
  },
  'grpc-max-send-message-size': {
    env: 'ENDPOINTD_GRPC_MAX_SEND_MESSAGE_SIZE',
    default: '16MiB',
    valueName: 'BYTES',
    help: 'largest gRPC response sent (clients must raise their receive limit to take more than 4MiB)',
  },
  'cors-allow-origin': {
    env: 'ENDPOINTD_CORS_ALLOW_ORIGIN',
    multiple: true,
    valueName: 'ORIGIN',
    help: 'let browser pages of this origin (exactly scheme://host[:port]) call the REST API, e.g. https://dash.example.com; repeatable (the variable: comma-separated); * allows any origin, for bearer tokens only (not with --tls-client-ca-file). Default: none',
  },
  bind: {
    env: 'ENDPOINTD_BIND',
    default: '0.0.0.0',
    valueName: 'ADDRESS',
    help: 'address to listen on (e.g. 127.0.0.1, ::)',
  },
  'log-level': {
    env: 'ENDPOINTD_LOG_LEVEL',
    default: 'info',
    valueName: 'LEVEL',
    help: LOG_LEVELS.join('|'),
  },
  'heartbeat-interval': {
    env: 'ENDPOINTD_HEARTBEAT_INTERVAL',
    default: '15s',
    valueName: 'DURATION',
    help: 'heartbeat period on watch streams (e.g. 15s, 1m)',
  },
  'encoded-cache-size': {
    env: 'ENDPOINTD_ENCODED_CACHE_SIZE',
    default: '64MiB',
    valueName: 'BYTES',
    help: 'bound of the cache of encoded responses (e.g. 64MiB, 512KiB)',
  },
  'shutdown-delay': {
    env: 'ENDPOINTD_SHUTDOWN_DELAY',
    default: '0s',
    valueName: 'DURATION',
    help: 'on SIGTERM/SIGINT, how long to keep serving while not ready (load balancers notice) before draining',
  },
  'shutdown-grace': {
    env: 'ENDPOINTD_SHUTDOWN_GRACE',
    default: '5s',
    valueName: 'DURATION',
    help: 'on SIGTERM/SIGINT, how long open requests get before the process exits',
  },
  'tls-cert-file': {
    env: 'ENDPOINTD_TLS_CERT_FILE',
    valueName: 'PATH',
    help: 'serve REST (https) and gRPC/xDS over TLS with this PEM certificate (chain); re-read when it changes. Needs --tls-key-file',
  },
  'tls-key-file': {
    env: 'ENDPOINTD_TLS_KEY_FILE',
    valueName: 'PATH',
    help: 'the PEM private key of --tls-cert-file; re-read when it changes',
  },
  'tls-client-ca-file': {
    env: 'ENDPOINTD_TLS_CLIENT_CA_FILE',
    valueName: 'PATH',
    help: 'mTLS: ask clients for a certificate signed by this PEM CA; a verified one authenticates its client',
  },
  'tls-client-auth': {
    env: 'ENDPOINTD_TLS_CLIENT_AUTH',
    default: 'require',
    valueName: 'MODE',
    help: 'with --tls-client-ca-file: require (the handshake fails without a valid client certificate) or optional (clients without one must send a token)',
  },
  'auth-tokens-file': {
    env: 'ENDPOINTD_AUTH_TOKENS_FILE',
    valueName: 'PATH',
    help: 'require authentication; accept the bearer tokens of this file (one per line, "token" or "token,name"; # comments), re-read when it changes',
  },
  'auth-token-review': {
    env: 'ENDPOINTD_AUTH_TOKEN_REVIEW',
    default: 'false',
    valueName: 'BOOL',
    help: 'require authentication; accept bearer tokens the Kubernetes API server vouches for (TokenReview, with --kubeconfig/--context credentials; needs RBAC create tokenreviews). Answers cached 1m (accepted) / 10s (refused)',
  },
  'auth-open-health': {
    env: 'ENDPOINTD_AUTH_OPEN_HEALTH',
    default: 'true',
    valueName: 'BOOL',
    help: 'with authentication on, leave /healthz, /readyz and grpc.health.v1.Health open',
  },
  'auth-open-metrics': {
    env: 'ENDPOINTD_AUTH_OPEN_METRICS',
    default: 'false',
    valueName: 'BOOL',
    help: 'with authentication on, leave /metrics open',
  },
  'credentials-reload-interval': {
    env: 'ENDPOINTD_CREDENTIALS_RELOAD_INTERVAL',
    default: '10s',
    valueName: 'DURATION',
    help: 'how often the TLS files and the tokens file are re-read for changes',
  },
  'http-max-header-size': {
    env: 'ENDPOINTD_HTTP_MAX_HEADER_SIZE',
    default: '16KiB',
    valueName: 'BYTES',
    help: 'largest REST request head (request line and headers); larger gets 431',
  },
  'http-headers-timeout': {
    env: 'ENDPOINTD_HTTP_HEADERS_TIMEOUT',
    default: '10s',
    valueName: 'DURATION',
    help: 'a REST request head must arrive within this, else 408 and the connection closes (slow-loris)',
  },
  'http-request-timeout': {
    env: 'ENDPOINTD_HTTP_REQUEST_TIMEOUT',
    default: '30s',
    valueName: 'DURATION',
    help: 'a whole REST request must arrive within this (0s: no bound); answers and streams are not bounded by it',
  },
  'http-keep-alive-timeout': {
    env: 'ENDPOINTD_HTTP_KEEP_ALIVE_TIMEOUT',
    default: '65s',
    valueName: 'DURATION',
    help: 'close a kept-alive REST connection after this long without a request',
  },
  'http-idle-timeout': {
    env: 'ENDPOINTD_HTTP_IDLE_TIMEOUT',
    default: '2m',
    valueName: 'DURATION',
    help: 'close a REST connection whose request moves no byte for this long (0s: never); must exceed --heartbeat-interval, long-polls get their wait on top',
  },
  'rest-max-streams': {
    env: 'ENDPOINTD_REST_MAX_STREAMS',
    default: '10000',
    valueName: 'N',
    help: 'REST watch streams and long-polls open at once; more get 429 (0: no cap)',
  },
  'rest-max-streams-per-client': {
    env: 'ENDPOINTD_REST_MAX_STREAMS_PER_CLIENT',
    default: '1000',
    valueName: 'N',
    help: 'REST watch streams and long-polls one remote address may hold at once; more get 429 (0: no cap)',
  },
  'grpc-max-streams': {
    env: 'ENDPOINTD_GRPC_MAX_STREAMS',
    default: '10000',
    valueName: 'N',
    help: 'gRPC streaming calls (Watch, ADS, health Watch, reflection) open at once; more get RESOURCE_EXHAUSTED (0: no cap)',
  },
  'grpc-max-streams-per-client': {
    env: 'ENDPOINTD_GRPC_MAX_STREAMS_PER_CLIENT',
    default: '1000',
    valueName: 'N',
    help: 'gRPC streaming calls one remote address may hold at once, over all its connections (0: no cap)',
  },
  'rate-limit-lookups': {
    env: 'ENDPOINTD_RATE_LIMIT_LOOKUPS',
    default: 'off',
    valueName: 'RATE',
    help: 'per-client rate of REST /v1 requests and gRPC Discovery calls, e.g. 50/s or 600/m; a client is its authenticated name, else its address; beyond it 429 with Retry-After / RESOURCE_EXHAUSTED',
  },
  'grpc-max-unauthenticated-streams': {
    env: 'ENDPOINTD_GRPC_MAX_UNAUTHENTICATED_STREAMS',
    default: '100',
    valueName: 'N',
    help: 'with authentication on: streams of the open gRPC methods (health Watch) at once, a budget apart from --grpc-max-streams so that they never take authenticated capacity; more get RESOURCE_EXHAUSTED',
  },
  'xds-max-names-per-stream': {
    env: 'ENDPOINTD_XDS_MAX_NAMES_PER_STREAM',
    default: '10000',
    valueName: 'N',
    help: 'resource names one ADS stream (SotW or delta) may subscribe to, all types together; a request beyond ends the stream with RESOURCE_EXHAUSTED',
  },
  'auth-max-failures': {
    env: 'ENDPOINTD_AUTH_MAX_FAILURES',
    default: '30/m',
    valueName: 'RATE',
    help: 'failed bearer-token attempts allowed per remote address (after a burst of 10); beyond, its requests get 429 / RESOURCE_EXHAUSTED before any token is looked at or reviewed',
  },
  'rate-limit-burst': {
    env: 'ENDPOINTD_RATE_LIMIT_BURST',
    default: '0',
    valueName: 'N',
    help: "requests a client may make at once over --rate-limit-lookups (0: one second's worth)",
  },
} as const satisfies Record<string, OptionSpec>;

type OptionName = keyof typeof OPTIONS;

export function usage(): string {
  const lines = [
    'Usage: endpointd [options]',
    '',
    'Serves the live backend addresses of Kubernetes Services over REST, gRPC and xDS.',
    '',
    'Options (each also read from its environment variable; the flag wins):',
  ];
  for (const [name, spec] of Object.entries(OPTIONS) as [OptionName, OptionSpec][]) {
    const fallback = spec.default === undefined ? '' : ` (default ${spec.default})`;
    lines.push(`  --${name} ${spec.valueName}`.padEnd(46) + `  ${spec.help}${fallback} [${spec.env}]`);
  }
  lines.push(
    '  -h, --help'.padEnd(46) + '  show this help',
    '  --version'.padEnd(46) + '  print the version',
  );
  return lines.join('\n');
}

export function parseCommandLine(argv: readonly string[], env: NodeJS.ProcessEnv): ParsedCommandLine {
  let values: Record<string, string | boolean | (string | boolean)[] | undefined>;
  try {
    const options: Record<string, { type: 'string' | 'boolean'; multiple?: boolean; short?: string }> = {
      help: { type: 'boolean', short: 'h' },
      version: { type: 'boolean' },
    };
    for (const [name, spec] of Object.entries(OPTIONS) as [OptionName, OptionSpec][]) {
      options[name] = { type: 'string', multiple: spec.multiple === true };
    }
    ({ values } = parseArgs({ args: [...argv], options, strict: true, allowPositionals: false }));
  } catch (error) {
    return { kind: 'invalid', problems: [(error as Error).message] };
  }
  if (values.help === true) return { kind: 'help', text: usage() };
  if (values.version === true) return { kind: 'version' };

  const problems: string[] = [];
  const raw = (name: OptionName): string | undefined => {
    const flag = values[name];
    if (typeof flag === 'string') return flag;
    const fromEnv = env[OPTIONS[name].env];
    if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
    return (OPTIONS[name] as OptionSpec).default;
  };
  const invalid = (name: OptionName, value: string, expected: string): void => {
    problems.push(`--${name} (${OPTIONS[name].env}): ${expected}, got ${JSON.stringify(value)}`);
  };
  const port = (name: OptionName): number => {
    const value = raw(name) ?? '';
    const n = /^\d+$/.test(value) ? Number(value) : Number.NaN;
    if (!(n >= 0 && n <= 65535)) invalid(name, value, 'must be a port number from 0 to 65535');
    return n;
  };
  const duration = (name: OptionName, min: number, max: number): number => {
    const value = raw(name) ?? '';
    const ms = parseDuration(value);
    if (ms === undefined && /^\d+(\.\d+)?$/.test(value.trim())) {
      invalid(
        name,
        value,
        `must be a duration with its unit (ms, s, m, h), e.g. ${value.trim()}s; a bare number is ambiguous`,
      );
      return 0;
    }
    if (ms === undefined || ms < min || ms > max) {
      invalid(
        name,
        value,
        `must be a duration from ${formatDuration(min)} to ${formatDuration(max)} (e.g. 15s, 2m)`,
      );
    }
    return ms ?? 0;
  };

  const bool = (name: OptionName): boolean => {
    const text = (raw(name) ?? '').toLowerCase();
    if (text !== 'true' && text !== 'false') invalid(name, text, 'must be true or false');
    return text === 'true';
  };
  /** A list option: the flag repeated and/or comma-separated (namespaces; a source path is taken whole), else its variable comma-separated. */
  const list = (
    name: 'source' | 'namespace' | 'expose-namespace' | 'hide-namespace' | 'cors-allow-origin',
  ): string[] => {
    const flags = values[name];
    const texts = Array.isArray(flags)
      ? flags.map(String).flatMap((text) => (name === 'source' ? [text] : text.split(',')))
      : (env[OPTIONS[name].env] ?? '').split(',');
    return texts.map((s) => s.trim()).filter((s) => s !== '');
  };
  const sources: SourceConfig[] = [];
  for (const text of list('source')) {
    if (text === 'kubernetes' && !sources.some((s) => s.kind === 'kubernetes')) {
      sources.push({ kind: 'kubernetes' });
    } else if (text.startsWith('file:') && text.length > 'file:'.length) {
      sources.push({ kind: 'file', path: text.slice('file:'.length) });
    } else {
      invalid('source', text, 'must be kubernetes (once) or file:PATH');
    }
  }
  const namespaces = list('namespace');
  for (const namespace of namespaces) {
    const problem = namespaceNameProblem(namespace);
    if (problem !== undefined) invalid('namespace', namespace, `must be a namespace name: it ${problem}`);
  }
  const exposeNamespaces = list('expose-namespace');
  const hideList = list('hide-namespace');
  if (hideList.includes('none')) {
    invalid(
      'hide-namespace',
      'none',
      'adds to the namespaces hidden by default; to hide none of those, use --hide-default-namespaces=false',
    );
  }
  const hideNamespaces = [
    ...new Set([...(bool('hide-default-namespaces') ? SYSTEM_NAMESPACES : []), ...hideList]),
  ].filter((n) => n !== 'none');
  for (const [name, values] of [
    ['expose-namespace', exposeNamespaces],
    ['hide-namespace', hideNamespaces],
  ] as const) {
    for (const namespace of values) {
      const problem = namespaceNameProblem(namespace);
      if (problem !== undefined) invalid(name, namespace, `must be a namespace name: it ${problem}`);
    }
  }
  const validSelector = (name: 'expose-selector' | 'label-selector'): string | undefined => {
    const text = raw(name);
    if (text === undefined) return undefined;
    try {
      parseLabelSelector(text);
    } catch (error) {
      invalid(name, text, `must be a label selector (${(error as Error).message})`);
    }
    return text;
  };
  const annotationText = raw('expose-annotation');
  const annotationMatch = annotationText === undefined ? null : /^([^=\s]+)=(.*)$/.exec(annotationText);
  if (annotationText !== undefined && annotationMatch === null) {
    invalid('expose-annotation', annotationText, 'must be KEY=VALUE, e.g. endpointd.io/expose=true');
  }
  const exposure: ExposureConfig = {
    exposeNamespaces,
    hideNamespaces,
    selector: validSelector('expose-selector'),
    annotation:
      annotationMatch === null
        ? undefined
        : { key: annotationMatch[1] ?? '', value: annotationMatch[2] ?? '' },
  };
  const resource = raw('kube-resource') ?? '';
  if (resource !== 'endpointslices' && resource !== 'endpoints') {
    invalid('kube-resource', resource, 'must be endpointslices or endpoints');
  }

  const logLevel = raw('log-level') ?? '';
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) {
    invalid('log-level', logLevel, `must be one of ${LOG_LEVELS.join(', ')}`);
  }
  const bind = raw('bind') ?? '';
  if (bind === '') invalid('bind', bind, 'must be an address to listen on');
  const bytes = (name: OptionName, min: number): number => {
    const text = raw(name) ?? '';
    const value = parseByteSize(text);
    if (value === undefined || value < min || value > 2 ** 31 - 1) {
      invalid(name, text, `must be a size from ${min} bytes to 2GiB (e.g. 4MiB)`);
    }
    return value ?? 0;
  };
  const count = (name: OptionName, min: number, max: number): number => {
    const text = raw(name) ?? '';
    const value = /^\d+$/.test(text) ? Number(text) : Number.NaN;
    if (!(value >= min && value <= max)) invalid(name, text, `must be a whole number from ${min} to ${max}`);
    return value;
  };
  const day = 86_400_000;
  const security = securityConfig(raw, invalid, bool, duration);
  const limits = limitsConfig(raw, invalid, duration, bytes, count);
  const grpc: GrpcConfig = {
    heartbeatIntervalMs: duration('grpc-heartbeat-interval', 100, 3_600_000),
    maxWatchedServices: count('grpc-max-watch-services', 1, 100_000),
    transport: {
      keepaliveTimeMs: duration('grpc-keepalive-time', 1000, day),
      keepaliveTimeoutMs: duration('grpc-keepalive-timeout', 100, day),
      maxConnectionIdleMs: duration('grpc-max-connection-idle', 0, 30 * day),
      maxConnectionAgeMs: duration('grpc-max-connection-age', 0, 30 * day),
      maxConnectionAgeGraceMs: duration('grpc-max-connection-age-grace', 0, day),
      maxConcurrentStreams: count('grpc-max-concurrent-streams', 1, 2 ** 31 - 1),
      maxReceiveMessageBytes: bytes('grpc-max-receive-message-size', 1024),
      maxSendMessageBytes: bytes('grpc-max-send-message-size', 1024),
    },
  };
  const cacheText = raw('encoded-cache-size') ?? '';
  const encodedCacheBytes = parseByteSize(cacheText);
  if (encodedCacheBytes === undefined || encodedCacheBytes < 1024) {
    invalid('encoded-cache-size', cacheText, 'must be a size of at least 1KiB (e.g. 64MiB)');
  }

  const maxFileBytes = bytes('file-max-size', 1024);
  const allowOrigins = list('cors-allow-origin');
  for (const origin of allowOrigins) {
    const problem = corsOriginProblem(origin, allowOrigins);
    if (problem !== undefined) invalid('cors-allow-origin', origin, problem);
  }
  if (allowOrigins.includes('*') && security.tls?.clientCaFile !== undefined) {
    // Browsers send client certificates only on credentialed requests, which `*` cannot allow.
    invalid(
      'cors-allow-origin',
      '*',
      'cannot be * with --tls-client-ca-file (browsers send client certificates only to listed origins): list the origins',
    );
  }

  const config: Config = {
    sources: sources.map((s) => (s.kind === 'file' ? { ...s, maxFileBytes } : s)),
    exposure,
    grpc,
    kubernetes: {
      kubeconfig: raw('kubeconfig'),
      context: raw('context'),
      namespaces,
      resource: resource === 'endpoints' ? 'endpoints' : 'endpointslices',
      labelSelector: validSelector('label-selector'),
      watchIdleTimeoutMs: duration('kube-watch-idle-timeout', 1000, 600_000),
    },
    httpPort: port('http-port'),
    healthPort: raw('health-port') === undefined ? undefined : port('health-port'),
    healthPortMetrics: bool('health-port-metrics'),
    grpcPort: port('grpc-port'),
    bind,
    logLevel: logLevel as LevelWithSilent,
    heartbeatIntervalMs: duration('heartbeat-interval', 100, 3_600_000),
    encodedCacheBytes: encodedCacheBytes ?? 0,
    shutdownGraceMs: duration('shutdown-grace', 0, 600_000),
    shutdownDelayMs: duration('shutdown-delay', 0, 600_000),
    security,
    limits,
    cors: { allowOrigins },
  };
  if (limits.http.idleTimeoutMs > 0 && limits.http.idleTimeoutMs <= config.heartbeatIntervalMs) {
    invalid(
      'http-idle-timeout',
      raw('http-idle-timeout') ?? '',
      `must exceed --heartbeat-interval (${formatDuration(config.heartbeatIntervalMs)}), or healthy watch streams are cut`,
    );
  }
  return problems.length > 0 ? { kind: 'invalid', problems } : { kind: 'run', config };
}

const BYTE_UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
  kb: 1000,
  mb: 1e6,
  gb: 1e9,
};

function parseByteSize(text: string): number | undefined {
  const match = /^(\d+)\s*([a-z]*)$/i.exec(text.trim());
  const unit = BYTE_UNITS[(match?.[2] ?? '').toLowerCase()];
  if (match === null || unit === undefined) return undefined;
  return Number(match[1]) * unit;
}

type Raw = (name: OptionName) => string | undefined;
type Invalid = (name: OptionName, value: string, expected: string) => void;

function securityConfig(
  raw: Raw,
  invalid: Invalid,
  bool: (name: OptionName) => boolean,
  duration: (name: OptionName, min: number, max: number) => number,
): SecurityConfig {
  const certFile = raw('tls-cert-file');
  const keyFile = raw('tls-key-file');
  const clientCaFile = raw('tls-client-ca-file');
  const clientAuth = raw('tls-client-auth') ?? '';
  if (clientAuth !== 'require' && clientAuth !== 'optional') {
    invalid('tls-client-auth', clientAuth, 'must be require or optional');
  }
  if ((certFile === undefined) !== (keyFile === undefined)) {
    const [given, missing]: [OptionName, OptionName] =
      certFile === undefined ? ['tls-key-file', 'tls-cert-file'] : ['tls-cert-file', 'tls-key-file'];
    invalid(given, raw(given) ?? '', `needs --${missing} too`);
  }
  if (clientCaFile !== undefined && certFile === undefined) {
    invalid(
      'tls-client-ca-file',
      clientCaFile,
      'needs --tls-cert-file and --tls-key-file (client certificates need TLS)',
    );
  }
  return {
    tls:
      certFile === undefined || keyFile === undefined
        ? undefined
        : { certFile, keyFile, clientCaFile, clientAuth: clientAuth === 'optional' ? 'optional' : 'require' },
    auth: {
      tokensFile: raw('auth-tokens-file'),
      tokenReview: bool('auth-token-review'),
      openHealth: bool('auth-open-health'),
      openMetrics: bool('auth-open-metrics'),
    },
    reloadIntervalMs: duration('credentials-reload-interval', 100, 3_600_000),
  };
}

function limitsConfig(
  raw: Raw,
  invalid: Invalid,
  duration: (name: OptionName, min: number, max: number) => number,
  bytes: (name: OptionName, min: number) => number,
  count: (name: OptionName, min: number, max: number) => number,
): LimitsConfig {
  const day = 86_400_000;
  const http = {
    maxHeaderBytes: bytes('http-max-header-size', 1024),
    headersTimeoutMs: duration('http-headers-timeout', 100, 600_000),
    requestTimeoutMs: duration('http-request-timeout', 0, 3_600_000),
    keepAliveTimeoutMs: duration('http-keep-alive-timeout', 100, 3_600_000),
    idleTimeoutMs: duration('http-idle-timeout', 0, day),
  };
  if (http.requestTimeoutMs > 0 && http.requestTimeoutMs < http.headersTimeoutMs) {
    invalid(
      'http-request-timeout',
      raw('http-request-timeout') ?? '',
      'must be 0s or at least --http-headers-timeout',
    );
  }
  const rateText = raw('rate-limit-lookups') ?? '';
  const perSecond = parseRate(rateText);
  if (perSecond !== undefined && !(perSecond > 0 && perSecond <= 1e6)) {
    invalid('rate-limit-lookups', rateText, 'must be off or a rate such as 50/s or 600/m');
  }
  const burst = count('rate-limit-burst', 0, 1e6);
  const failureText = raw('auth-max-failures') ?? '';
  const failuresPerSecond = parseRate(failureText);
  if (!(failuresPerSecond !== undefined && failuresPerSecond > 0 && failuresPerSecond <= 1e6)) {
    invalid('auth-max-failures', failureText, 'must be a rate such as 30/m or 1/s');
  }
  return {
    http,
    restStreams: {
      total: count('rest-max-streams', 0, 1e7),
      perClient: count('rest-max-streams-per-client', 0, 1e7),
    },
    grpcStreams: {
      total: count('grpc-max-streams', 0, 1e7),
      perClient: count('grpc-max-streams-per-client', 0, 1e7),
    },
    grpcUnauthenticatedStreams: {
      total: count('grpc-max-unauthenticated-streams', 1, 1e7),
      perClient: count('grpc-max-streams-per-client', 0, 1e7),
    },
    failedAuthRate: { perSecond: failuresPerSecond ?? 0.5, burst: 10 },
    xdsMaxNamesPerStream: count('xds-max-names-per-stream', 1, 1e7),
    lookupRate:
      perSecond === undefined || !(perSecond > 0)
        ? undefined
        : { perSecond, burst: burst > 0 ? burst : Math.max(1, Math.ceil(perSecond)) },
  };
}

/** Limits that never get in a test's way (no caps, no rate limit), with the production timeouts. */
export const UNLIMITED: LimitsConfig = {
  http: DEFAULT_HTTP_LIMITS,
  restStreams: { total: 0, perClient: 0 },
  grpcStreams: { total: 0, perClient: 0 },
  grpcUnauthenticatedStreams: { total: 0, perClient: 0 },
  failedAuthRate: { perSecond: 1e6, burst: 1e6 },
  xdsMaxNamesPerStream: 10_000_000,
  lookupRate: undefined,
};
