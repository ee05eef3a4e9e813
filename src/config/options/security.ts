// The options of TLS and authentication of both doors (all off by default). SECURITY_OPTIONS is shaped like
// SecurityConfig (src/security/guards.ts) before the TLS files are checked to go together (src/config/assemble.ts).
import { formatDuration } from '../../duration.ts';
import { TOKEN_REVIEW_DEFAULTS } from '../../security/token-review-defaults.ts';
import { optional, option, switchOption } from '../option.ts';
import { duration, HOUR, oneOf, text } from '../values.ts';

export const SECURITY_OPTIONS = {
  tls: {
    certFile: optional({
      flag: 'tls-cert-file',
      value: 'PATH',
      parse: text(),
      unset: 'plain HTTP and gRPC',
      help: 'serve REST (https) and gRPC/xDS over TLS with this PEM certificate (chain); re-read when it changes. Needs --tls-key-file',
    }),
    keyFile: optional({
      flag: 'tls-key-file',
      value: 'PATH',
      parse: text(),
      help: 'the PEM private key of --tls-cert-file; re-read when it changes',
    }),
    clientCaFile: optional({
      flag: 'tls-client-ca-file',
      value: 'PATH',
      parse: text(),
      unset: 'no client certificates asked for',
      help: 'mTLS: ask clients for a certificate signed by this PEM CA; a verified one authenticates its client',
    }),
    clientAuth: option({
      flag: 'tls-client-auth',
      value: 'MODE',
      default: 'require',
      parse: oneOf(['require', 'optional'], 'must be require or optional'),
      help: 'with --tls-client-ca-file: require (the handshake fails without a valid client certificate) or optional (clients without one must send a token)',
    }),
  },
  auth: {
    tokensFile: optional({
      flag: 'auth-tokens-file',
      value: 'PATH',
      parse: text(),
      unset: 'no static tokens',
      help: 'require authentication; accept the bearer tokens of this file (one per line, "token" or "token,name"; # comments), re-read when it changes',
    }),
    tokenReview: switchOption({
      flag: 'auth-token-review',
      default: 'false',
      help:
        'require authentication; accept bearer tokens the Kubernetes API server vouches for (TokenReview, with --kubeconfig/--context credentials; needs RBAC create tokenreviews). Answers cached ' +
        `${formatDuration(TOKEN_REVIEW_DEFAULTS.acceptedTtlMs)} (accepted) / ${formatDuration(TOKEN_REVIEW_DEFAULTS.refusedTtlMs)} (refused)`,
    }),
    openHealth: switchOption({
      flag: 'auth-open-health',
      default: 'true',
      help: 'with authentication on, leave /healthz, /readyz and grpc.health.v1.Health open',
    }),
    openMetrics: switchOption({
      flag: 'auth-open-metrics',
      default: 'false',
      help: 'with authentication on, leave /metrics open',
    }),
  },
  reloadIntervalMs: option({
    flag: 'credentials-reload-interval',
    value: 'DURATION',
    default: '10s',
    parse: duration(100, HOUR),
    help: 'how often the TLS files and the tokens file are re-read for changes',
  }),
};
