// The gRPC server's transport settings: what production needs to keep connections healthy and bounded, with
// defaults that suit long-lived Watch streams, validated at the edge and mapped to grpc-js channel options.
import type { ChannelOptions } from '@grpc/grpc-js';

export interface GrpcTransportOptions {
  /**
   * The server pings each connection after this long without activity, in ms, and closes it when the ping is
   * not answered within `keepaliveTimeoutMs`: dead clients (and their watch subscriptions) go away, and NATs and
   * load balancers keep idle Watch connections open. Default 60 s (gRPC's own default, 2 h, outlives most NATs).
   */
  readonly keepaliveTimeMs: number;
  /** How long a keepalive ping may go unanswered before the connection is closed, in ms. Default 20 s. */
  readonly keepaliveTimeoutMs: number;
  /**
   * Connections idle (no call open) for this long are closed with GOAWAY, in ms; 0 = never (default). Clients
   * reconnect on their next call.
   */
  readonly maxConnectionIdleMs: number;
  /**
   * Connections older than this are closed gracefully (GOAWAY), in ms; 0 = never (default). Set it (e.g. 30 min)
   * so that long-lived Watch clients spread over replicas added later; they resume with their known versions and
   * are not resent what they hold.
   */
  readonly maxConnectionAgeMs: number;
  /** After a max-age GOAWAY, how long open calls get before the connection is cut, in ms. Default 30 s. */
  readonly maxConnectionAgeGraceMs: number;
  /**
   * HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS: calls one connection may have open at once. Bounds what one client
   * can hold (each Watch stream holds subscriptions); clients open more connections beyond it. Default 1000.
   */
  readonly maxConcurrentStreams: number;
  /** Largest request accepted, in bytes; bigger ones fail with RESOURCE_EXHAUSTED. Default 4 MiB (gRPC's default). */
  readonly maxReceiveMessageBytes: number;
  /**
   * Largest response sent, in bytes; a bigger Resolve or Watch message fails with RESOURCE_EXHAUSTED. Default
   * 16 MiB: a service of tens of thousands of endpoints fits. Clients must raise their own receive limit (4 MiB
   * by default) to take messages that large.
   */
  readonly maxSendMessageBytes: number;
}

export const DEFAULT_TRANSPORT_OPTIONS: GrpcTransportOptions = {
  keepaliveTimeMs: 60_000,
  keepaliveTimeoutMs: 20_000,
  maxConnectionIdleMs: 0,
  maxConnectionAgeMs: 0,
  maxConnectionAgeGraceMs: 30_000,
  maxConcurrentStreams: 1000,
  maxReceiveMessageBytes: 4 * 1024 * 1024,
  maxSendMessageBytes: 16 * 1024 * 1024,
};

/** Every option that is not a sensible number, named with what is expected; empty when all are fine. */
export function transportOptionProblems(options: GrpcTransportOptions): string[] {
  const problems: string[] = [];
  const check = (name: keyof GrpcTransportOptions, min: number, max: number): void => {
    const value = options[name];
    if (!Number.isInteger(value) || value < min || value > max) {
      problems.push(`${name} must be an integer from ${min} to ${max}, got ${value}`);
    }
  };
  const day = 24 * 3_600_000;
  check('keepaliveTimeMs', 1000, day);
  check('keepaliveTimeoutMs', 100, day);
  check('maxConnectionIdleMs', 0, 30 * day);
  check('maxConnectionAgeMs', 0, 30 * day);
  check('maxConnectionAgeGraceMs', 0, day);
  check('maxConcurrentStreams', 1, 2 ** 31 - 1);
  check('maxReceiveMessageBytes', 1024, 2 ** 31 - 1);
  check('maxSendMessageBytes', 1024, 2 ** 31 - 1);
  return problems;
}

/**
 * The grpc-js server options. Note what grpc-js 1.14 does not do on the server side, whatever the options say:
 * it does not police clients' keepalive pings (no `grpc.http2.min_ping_interval_without_data_ms` or ping strikes);
 * Node's HTTP/2 layer still closes a connection that floods pings (nghttp2's outbound ACK limit).
 */
export function channelOptions(options: GrpcTransportOptions): ChannelOptions {
  const never = (ms: number): number => (ms === 0 ? 2 ** 31 - 1 : ms);
  return {
    'grpc.keepalive_time_ms': options.keepaliveTimeMs,
    'grpc.keepalive_timeout_ms': options.keepaliveTimeoutMs,
    'grpc.max_connection_idle_ms': never(options.maxConnectionIdleMs),
    'grpc.max_connection_age_ms': never(options.maxConnectionAgeMs),
    'grpc.max_connection_age_grace_ms': options.maxConnectionAgeGraceMs,
    'grpc.max_concurrent_streams': options.maxConcurrentStreams,
    'grpc.max_receive_message_length': options.maxReceiveMessageBytes,
    'grpc.max_send_message_length': options.maxSendMessageBytes,
  };
}
