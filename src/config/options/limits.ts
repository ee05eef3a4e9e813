// The options that bound what one client can make endpointd do: REST request deadlines and sizes, stream caps,
// rates. LIMIT_OPTIONS.http is shaped like HttpLimits (src/limits/http-limits.ts); the rest is assembled into
// LimitsConfig (src/security/guards.ts) by src/config/assemble.ts.
import { option } from '../option.ts';
import { byteSize, DAY, duration, HOUR, rate, rateOrOff, wholeNumber } from '../values.ts';

/** Failed bearer-token attempts a remote address may make at once, before --auth-max-failures paces it. */
export const FAILED_AUTH_BURST = 10;

/** The most streams (REST or gRPC) a cap may be set to; 0 means no cap. */
const MAX_STREAMS = 1e7;

export const LIMIT_OPTIONS = {
  http: {
    maxHeaderBytes: option({
      flag: 'http-max-header-size',
      value: 'BYTES',
      default: '16KiB',
      parse: byteSize(1024),
      help: 'largest REST request head (request line and headers); larger gets 431',
    }),
    headersTimeoutMs: option({
      flag: 'http-headers-timeout',
      value: 'DURATION',
      default: '10s',
      parse: duration(100, 600_000),
      help: 'a REST request head must arrive within this, else 408 and the connection closes (slow-loris)',
    }),
    requestTimeoutMs: option({
      flag: 'http-request-timeout',
      value: 'DURATION',
      default: '30s',
      parse: duration(0, HOUR),
      help: 'a whole REST request must arrive within this (0s: no bound); answers and streams are not bounded by it',
    }),
    keepAliveTimeoutMs: option({
      flag: 'http-keep-alive-timeout',
      value: 'DURATION',
      default: '65s',
      parse: duration(100, HOUR),
      help: 'close a kept-alive REST connection after this long without a request',
    }),
    idleTimeoutMs: option({
      flag: 'http-idle-timeout',
      value: 'DURATION',
      default: '2m',
      parse: duration(0, DAY),
      help: 'close a REST connection whose request moves no byte for this long (0s: never); must exceed --heartbeat-interval, long-polls get their wait on top',
    }),
  },
  restStreams: {
    total: option({
      flag: 'rest-max-streams',
      value: 'N',
      default: '10000',
      parse: wholeNumber(0, MAX_STREAMS),
      help: 'REST watch streams and long-polls open at once; more get 429 (0: no cap)',
    }),
    perClient: option({
      flag: 'rest-max-streams-per-client',
      value: 'N',
      default: '1000',
      parse: wholeNumber(0, MAX_STREAMS),
      help: 'REST watch streams and long-polls one remote address may hold at once; more get 429 (0: no cap)',
    }),
  },
  grpcStreams: {
    total: option({
      flag: 'grpc-max-streams',
      value: 'N',
      default: '10000',
      parse: wholeNumber(0, MAX_STREAMS),
      help: 'gRPC streaming calls (Watch, ADS, health Watch, reflection) open at once; more get RESOURCE_EXHAUSTED (0: no cap)',
    }),
    perClient: option({
      flag: 'grpc-max-streams-per-client',
      value: 'N',
      default: '1000',
      parse: wholeNumber(0, MAX_STREAMS),
      help: 'gRPC streaming calls one remote address may hold at once, over all its connections (0: no cap)',
    }),
  },
  grpcUnauthenticatedStreams: option({
    flag: 'grpc-max-unauthenticated-streams',
    value: 'N',
    default: '100',
    parse: wholeNumber(1, MAX_STREAMS),
    help: 'with authentication on: streams of the open gRPC methods (health Watch) at once, a budget apart from --grpc-max-streams so that they never take authenticated capacity; more get RESOURCE_EXHAUSTED',
  }),
  // 2,500 gRPC targets (four names each), or as many Envoy clusters.
  xdsMaxNamesPerStream: option({
    flag: 'xds-max-names-per-stream',
    value: 'N',
    default: '10000',
    parse: wholeNumber(1, MAX_STREAMS),
    help: 'resource names one ADS stream (SotW or delta) may subscribe to, all types together; a request beyond ends the stream with RESOURCE_EXHAUSTED',
  }),
  failedAuthPerSecond: option({
    flag: 'auth-max-failures',
    value: 'RATE',
    default: '30/m',
    parse: rate('must be a rate such as 30/m or 1/s'),
    help: `failed bearer-token attempts allowed per remote address (after a burst of ${FAILED_AUTH_BURST}); beyond, its requests get 429 / RESOURCE_EXHAUSTED before any token is looked at or reviewed`,
  }),
  lookupPerSecond: option({
    flag: 'rate-limit-lookups',
    value: 'RATE',
    default: 'off',
    parse: rateOrOff('must be off or a rate such as 50/s or 600/m'),
    help: 'per-client rate of REST /v1 requests and gRPC Discovery calls, e.g. 50/s or 600/m; a client is its authenticated name, else its address; beyond it 429 with Retry-After / RESOURCE_EXHAUSTED',
  }),
  lookupBurst: option({
    flag: 'rate-limit-burst',
    value: 'N',
    default: '0',
    parse: wholeNumber(0, 1e6),
    help: "requests a client may make at once over --rate-limit-lookups (0: one second's worth)",
  }),
};
