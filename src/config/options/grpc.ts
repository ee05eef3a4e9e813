// The options of the gRPC door (Discovery Watch streams and the transport: keepalive, connection age, message
// sizes). GRPC_OPTIONS.transport is shaped like GrpcTransportOptions (src/api/grpc/options.ts), whose defaults
// are these options' defaults.
import { option } from '../option.ts';
import { byteSize, DAY, duration, HOUR, INT32_MAX, wholeNumber } from '../values.ts';

export const GRPC_OPTIONS = {
  heartbeatIntervalMs: option({
    flag: 'grpc-heartbeat-interval',
    value: 'DURATION',
    default: '30s',
    parse: duration(100, HOUR),
    help: 'heartbeat period of gRPC Watch streams (each carries the current versions)',
  }),
  maxWatchedServices: option({
    flag: 'grpc-max-watch-services',
    value: 'N',
    default: '1000',
    parse: wholeNumber(1, 100_000),
    help: 'at most this many services named in one gRPC Watch request (each costs a subscription)',
  }),
  transport: {
    keepaliveTimeMs: option({
      flag: 'grpc-keepalive-time',
      value: 'DURATION',
      default: '60s',
      parse: duration(1000, DAY),
      help: "ping a gRPC connection after this long without activity (gRPC's own 2h outlives most NATs)",
    }),
    keepaliveTimeoutMs: option({
      flag: 'grpc-keepalive-timeout',
      value: 'DURATION',
      default: '20s',
      parse: duration(100, DAY),
      help: 'close a gRPC connection whose ping is not answered within this',
    }),
    maxConnectionIdleMs: option({
      flag: 'grpc-max-connection-idle',
      value: 'DURATION',
      default: '0s',
      parse: duration(0, 30 * DAY),
      help: 'close gRPC connections without calls for this long (0s: never)',
    }),
    maxConnectionAgeMs: option({
      flag: 'grpc-max-connection-age',
      value: 'DURATION',
      default: '0s',
      parse: duration(0, 30 * DAY),
      help: 'close gRPC connections older than this with GOAWAY, to spread clients over new replicas (0s: never)',
    }),
    maxConnectionAgeGraceMs: option({
      flag: 'grpc-max-connection-age-grace',
      value: 'DURATION',
      default: '30s',
      parse: duration(0, DAY),
      help: 'after that GOAWAY, how long open calls get',
    }),
    maxConcurrentStreams: option({
      flag: 'grpc-max-concurrent-streams',
      value: 'N',
      default: '1000',
      parse: wholeNumber(1, INT32_MAX),
      help: 'calls one gRPC connection may have open at once',
    }),
    maxReceiveMessageBytes: option({
      flag: 'grpc-max-receive-message-size',
      value: 'BYTES',
      default: '4MiB',
      parse: byteSize(1024),
      help: "largest gRPC request accepted (gRPC's own default)",
    }),
    maxSendMessageBytes: option({
      flag: 'grpc-max-send-message-size',
      value: 'BYTES',
      default: '16MiB',
      parse: byteSize(1024),
      help: 'largest gRPC response sent (clients must raise their receive limit to take more than 4MiB)',
    }),
  },
};
