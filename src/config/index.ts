// The configuration's public face: parse the command line and the environment into a Config, the help, and the
// defaults (for tests and for modules that take the options' defaults when not told otherwise).
import { defaultsOf } from './option.ts';
import { KUBERNETES_OPTIONS, LIMIT_OPTIONS } from './options/index.ts';
import type { LimitsConfig } from '../security/guards.ts';
import type { Config, KubernetesSourceConfig } from './types.ts';

import { parseCommandLine } from './assemble.ts';

export { parseCommandLine };
export { usage } from './help.ts';
export type * from './types.ts';

/** The configuration with no flag and no variable: every option at its default. */
export function defaultConfig(): Config {
  const parsed = parseCommandLine([], {});
  if (parsed.kind !== 'run') throw new Error(`the defaults do not parse: ${JSON.stringify(parsed)}`);
  return parsed.config;
}

/** A Kubernetes source with every setting at its default (the current kubeconfig, all namespaces, ...). */
export function defaultKubernetesSource(): KubernetesSourceConfig {
  return { kind: 'kubernetes', ...defaultsOf(KUBERNETES_OPTIONS) };
}

/** Limits that never get in a test's way (no caps, no rate limit), with the production timeouts. */
export const UNLIMITED: LimitsConfig = {
  http: defaultsOf(LIMIT_OPTIONS.http),
  restStreams: { total: 0, perClient: 0 },
  grpcStreams: { total: 0, perClient: 0 },
  grpcUnauthenticatedStreams: { total: 0, perClient: 0 },
  failedAuthRate: { perSecond: 1e6, burst: 1e6 },
  xdsMaxNamesPerStream: 10_000_000,
  lookupRate: undefined,
};
