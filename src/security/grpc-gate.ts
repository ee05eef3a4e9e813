// The gRPC door's admission, as one grpc-js server interceptor in front of every service (Discovery, Health,
// reflection, ADS): authentication (UNAUTHENTICATED; RESOURCE_EXHAUSTED after too many failures; UNAVAILABLE when
// the API server could not review the token), then the lookup rate limit per client on Discovery
// (RESOURCE_EXHAUSTED), then the caps on open streams (RESOURCE_EXHAUSTED). With authentication on, streams of the
// open methods (health Watch) come out of a small budget of their own, so that anonymous clients can never take the
// slots authenticated ones need. A refused call never reaches its handler; an admitted stream holds its slot until
// its status is sent or it is cancelled.
import {
  Metadata,
  ServerInterceptingCall,
  status,
  type ServerInterceptingCallInterface,
  type ServerInterceptor,
} from '@grpc/grpc-js';
import type { RateLimiter } from '../limits/rate-limiter.ts';
import type { Refusals } from '../limits/refusals.ts';
import type { StreamSlots } from '../limits/stream-slots.ts';
import { bearerToken, type Authenticator } from './authenticator.ts';

export interface GrpcGateOptions {
  readonly authenticator: Authenticator;
  /** Method paths (`/package.Service/Method`) or service prefixes (ending in `/`) served without authentication. */
  readonly openMethods: readonly string[];
  /** Per-client rate limit of the methods under `rateLimitedPrefix`; undefined: none. */
  readonly rateLimiter: RateLimiter | undefined;
  /** e.g. `/endpointd.v1.Discovery/`: lookups, not xDS or health. */
  readonly rateLimitedPrefix: string;
  /** Caps on streaming calls (Watch, ADS, health Watch, reflection), the per-client one by remote address. */
  readonly streams: StreamSlots;
  /** With authentication on: the caps on streams of the open methods, apart from `streams`. */
  readonly unauthenticatedStreams: StreamSlots;
  readonly refusals: Refusals;
}

type Verdict =
  { readonly code: status; readonly details: string; readonly retryAfterMs?: number } | undefined;

export function grpcGate(options: GrpcGateOptions): ServerInterceptor {
  const { authenticator, rateLimiter, streams, refusals } = options;
  const isOpen = (path: string): boolean =>
    options.openMethods.some((open) => (open.endsWith('/') ? path.startsWith(open) : path === open));

  return (method, call) => {
    const path = method.path;
    const streaming = method.requestStream || method.responseStream;
    const address = remoteAddress(call);
    let release: (() => void) | undefined;
    /** The client cancelled (or the call ended): a slot taken after this would never be given back. */
    let cancelled = false;
    const done = (): void => {
      release?.();
      release = undefined;
    };

    const admit = async (metadata: Metadata): Promise<Verdict> => {
      let client = address;
      const anonymous = authenticator.enabled && isOpen(path);
      if (authenticator.enabled && !anonymous) {
        const header = metadata.get('authorization')[0];
        const outcome = await authenticator.authenticate({
          bearer: bearerToken(typeof header === 'string' ? header : header?.toString()),
          verifiedCertificate: call.getAuthContext().sslPeerCertificate,
          address,
        });
        if (!outcome.ok) {
          refusals.record({ door: 'grpc', reason: outcome.reason, client: address, detail: outcome.detail });
          const code =
            outcome.reason === 'too_many_failures'
              ? status.RESOURCE_EXHAUSTED
              : outcome.reason === 'token_review_failed'
                ? status.UNAVAILABLE
                : status.UNAUTHENTICATED;
          return { code, details: outcome.detail, retryAfterMs: outcome.retryAfterMs };
        }
        client = outcome.identity.name;
      }
      if (rateLimiter !== undefined && path.startsWith(options.rateLimitedPrefix)) {
        const waitMs = rateLimiter.take(client);
        if (waitMs > 0) {
          const { perSecond, burst } = rateLimiter.limit;
          const details = `more than ${perSecond} requests per second (burst ${burst}) from ${client}; retry in ${waitMs} ms`;
          refusals.record({ door: 'grpc', reason: 'rate_limited', client, detail: details });
          return { code: status.RESOURCE_EXHAUSTED, details, retryAfterMs: waitMs };
        }
      }
      // Authentication may have waited on a TokenReview, during which the client may have given up: its onCancel
      // has run already, so a slot taken now would be held for ever.
      if (cancelled) return { code: status.CANCELLED, details: 'cancelled before it was admitted' };
      if (streaming) {
        const admission = (anonymous ? options.unauthenticatedStreams : streams).acquire(address);
        if (!admission.admitted) {
          const whose = admission.reason === 'too_many_streams' ? 'this server' : address;
          const which = anonymous ? 'unauthenticated streams' : 'streams';
          const details = `${whose} already holds ${admission.limit} ${which}, the most allowed; close one or retry later`;
          refusals.record({ door: 'grpc', reason: admission.reason, client: address, detail: details });
          return { code: status.RESOURCE_EXHAUSTED, details };
        }
        release = admission.release;
      }
      return undefined;
    };

    return new ServerInterceptingCall(call, {
      start: (next) => {
        next({
          onReceiveMetadata: (metadata, forward) => {
            admit(metadata).then(
              (verdict) => {
                if (cancelled) return; // nothing to answer: the call is gone
                if (verdict === undefined) {
                  forward(metadata);
                  return;
                }
                const trailers = new Metadata();
                // The same hint gRPC's retry throttling reads (grpc-retry-pushback-ms), for clients that honour it.
                if (verdict.retryAfterMs !== undefined) {
                  trailers.set('grpc-retry-pushback-ms', String(verdict.retryAfterMs));
                }
                call.sendStatus({ code: verdict.code, details: verdict.details, metadata: trailers });
              },
              (error: unknown) => {
                call.sendStatus({
                  code: status.INTERNAL,
                  details: `admission failed: ${(error as Error).message}`,
                });
              },
            );
          },
          onCancel: () => {
            cancelled = true;
            done();
          },
        });
      },
      sendStatus: (statusObject, next) => {
        done();
        next(statusObject);
      },
    });
  };
}

function remoteAddress(call: ServerInterceptingCallInterface): string {
  const info = call.getConnectionInfo();
  if (info.remoteAddress !== undefined) return info.remoteAddress;
  // getPeer() is "host:port" (IPv6 in brackets); drop the port so that one client's connections share a key.
  return call.getPeer().replace(/:\d+$/, '');
}
