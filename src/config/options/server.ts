// The options of the process and its doors as a whole: ports, address, logging, heartbeats, the encoded cache,
// shutdown and CORS. (gRPC's own, security's and the limits' are in their modules.)
import type { LevelWithSilent } from 'pino';
import { LOG_LEVELS } from '../../observability/logger.ts';
import { list, optional, option, switchOption } from '../option.ts';
import { byteSize, duration, HOUR, nonEmpty, oneOf, port, text } from '../values.ts';

const logLevels = LOG_LEVELS as [LevelWithSilent, ...LevelWithSilent[]];

export const SERVER_OPTIONS = {
  httpPort: option({
    flag: 'http-port',
    value: 'PORT',
    default: '8080',
    parse: port(),
    help: 'REST API port (0 picks a free one)',
  }),
  healthPort: optional({
    flag: 'health-port',
    value: 'PORT',
    parse: port(),
    unset: 'off',
    help: 'also serve /healthz and /readyz on this port over plain HTTP, without TLS or authentication, for probes (kubelet cannot present a client certificate under --tls-client-auth require)',
  }),
  healthPortMetrics: switchOption({
    flag: 'health-port-metrics',
    default: 'false',
    help: 'serve /metrics on --health-port too (for a Prometheus that scrapes without credentials)',
  }),
  grpcPort: option({
    flag: 'grpc-port',
    value: 'PORT',
    default: '9090',
    parse: port(),
    help: 'gRPC and xDS port (0 picks a free one)',
  }),
  bind: option({
    flag: 'bind',
    value: 'ADDRESS',
    default: '0.0.0.0',
    parse: nonEmpty('must be an address to listen on'),
    help: 'address to listen on (e.g. 127.0.0.1, ::)',
  }),
  corsAllowOrigins: list({
    flag: 'cors-allow-origin',
    value: 'ORIGIN',
    // Checked as a whole list with the TLS options (src/config/assemble.ts): `*` goes alone, and not with mTLS.
    parse: text(),
    unset: 'none',
    help: 'let browser pages of this origin (exactly scheme://host[:port]) call the REST API, e.g. https://dash.example.com; * allows any origin, for bearer tokens only (not with --tls-client-ca-file)',
  }),
  logLevel: option({
    flag: 'log-level',
    value: 'LEVEL',
    default: 'info',
    parse: oneOf(logLevels, `must be one of ${LOG_LEVELS.join(', ')}`),
    help: `how much is logged: ${LOG_LEVELS.join(', ')}`,
  }),
  heartbeatIntervalMs: option({
    flag: 'heartbeat-interval',
    value: 'DURATION',
    default: '15s',
    parse: duration(100, HOUR),
    help: 'heartbeat period on REST watch streams (e.g. 15s, 1m)',
  }),
  encodedCacheBytes: option({
    flag: 'encoded-cache-size',
    value: 'BYTES',
    default: '64MiB',
    parse: byteSize(1024, 'must be a size of at least 1KiB (e.g. 64MiB)', Number.MAX_SAFE_INTEGER),
    help: 'bound of the cache of encoded responses, each counted with its key and bookkeeping (~256 bytes) (e.g. 64MiB, 512KiB)',
  }),
  shutdownDelayMs: option({
    flag: 'shutdown-delay',
    value: 'DURATION',
    default: '0s',
    parse: duration(0, 600_000),
    help: 'on SIGTERM/SIGINT, how long to keep serving while not ready (load balancers notice) before draining',
  }),
  shutdownGraceMs: option({
    flag: 'shutdown-grace',
    value: 'DURATION',
    default: '5s',
    parse: duration(0, 600_000),
    help: 'on SIGTERM/SIGINT, how long open requests get before the process exits',
  }),
};
