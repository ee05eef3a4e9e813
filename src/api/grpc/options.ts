// The gRPC server's transport settings: what production needs to keep connections healthy and bounded, mapped to
// grpc-js channel options. Their defaults and bounds are those of the --grpc-* options (src/config/options/grpc.ts),
// which suit long-lived Watch streams; values are checked there, once, when the command line is read.
import type { ChannelOptions } from '@grpc/grpc-js';
import { defaultsOf } from '../../config/option.ts';
import { GRPC_OPTIONS } from '../../config/options/grpc.ts';

export interface GrpcTransportOptions {
  /**
   * The server pings each connection after this long without activity, in ms, and closes it when the ping is
   * not answered within `keepaliveTimeoutMs`: dead clients (and their watch subscriptions) go away, and NATs and
   * load balancers keep idle Watch connections open.
   */
  readonly keepaliveTimeMs: number;
  /** How long a keepalive ping may go unanswered before the connection is closed, in ms. */
  readonly keepaliveTimeoutMs: number;
  /**
   * Connections idle (no call open) for this long are closed with GOAWAY, in ms; 0 = never. Clients
   * reconnect on their next call.
   */
  readonly maxConnectionIdleMs: number;
  /**
   * Connections older than this are closed gracefully (GOAWAY), in ms; 0 = never. Set it (e.g. 30 min)
   * so that long-lived Watch clients spread over replicas added later; they resume with their known versions and
   * are not resent what they hold.
   */
  readonly maxConnectionAgeMs: number;
  /** After a max-age GOAWAY, how long open calls get before the connection is cut, in ms. */
  readonly maxConnectionAgeGraceMs: number;
  /**
   * HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS: calls one connection may have open at once. Bounds what one client
   * can hold (each Watch stream holds subscriptions); clients open more connections beyond it.
   */
  readonly maxConcurrentStreams: number;
  /** Largest request accepted, in bytes; bigger ones fail with RESOURCE_EXHAUSTED. */
  readonly maxReceiveMessageBytes: number;
  /**
   * Largest response sent, in bytes; a bigger Resolve or Watch message fails with RESOURCE_EXHAUSTED. The
   * default fits a service of tens of thousands of endpoints. Clients must raise their own receive limit (gRPC's
   * 4 MiB by default) to take messages that large.
   */
  readonly maxSendMessageBytes: number;
}

/** The defaults of the --grpc-* transport options (their declarations give them and their bounds). */
export const DEFAULT_TRANSPORT_OPTIONS: GrpcTransportOptions = defaultsOf(GRPC_OPTIONS.transport);

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
