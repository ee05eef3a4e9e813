// Starts the real endpointd for a suite: in a child process (default: the server owns its event loop, as in
// production) or in this process (when a suite must reach the store directly). Both go through startEndpointd with
// the configuration parsed from flags, so new config fields get their production defaults.
import { pino } from 'pino';
import { parseCommandLine, type Config } from '../../src/config/index.ts';
import { startEndpointd, type Endpointd } from '../../src/main.ts';
import { spawnServer, type ServerChild } from './child-server.ts';

const SYNC_TIMEOUT_MS = 30_000;

export interface EndpointdOptions {
  /** A manifest file or directory, served by a file source. */
  readonly manifests: string;
  /** More endpointd flags, e.g. ['--encoded-cache-size', '1MiB']. */
  readonly extraArgs?: readonly string[];
}

/** Loopback only, ephemeral ports, no logs: a benchmark must not depend on or disturb anything else. */
export function benchConfig(options: EndpointdOptions): Config {
  const parsed = parseCommandLine(
    [
      '--source',
      `file:${options.manifests}`,
      '--bind',
      '127.0.0.1',
      '--http-port',
      '0',
      '--grpc-port',
      '0',
      '--log-level',
      'silent',
      '--shutdown-grace',
      '1s',
      ...(options.extraArgs ?? []),
    ],
    {},
  );
  if (parsed.kind !== 'run') {
    throw new Error(
      `bench config rejected: ${parsed.kind === 'invalid' ? parsed.problems.join('; ') : parsed.kind}`,
    );
  }
  return parsed.config;
}

/** endpointd in this process, synced with its manifests (every /v1 answer is then a real one, not a 503). */
export async function startEndpointdInProcess(options: EndpointdOptions): Promise<Endpointd> {
  const endpointd = await startEndpointd(benchConfig(options), pino({ level: 'silent' }));
  // startEndpointd may resolve before its sources have synced; readiness is the one signal that says they have.
  const deadline = Date.now() + SYNC_TIMEOUT_MS;
  while (!endpointd.readiness.synced) {
    if (Date.now() > deadline) {
      await endpointd.stop();
      throw new Error(`endpointd did not sync ${options.manifests} within ${SYNC_TIMEOUT_MS} ms`);
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return endpointd;
}

/** endpointd in a child process, synced with its manifests; `port` is its REST port on 127.0.0.1. */
export function startEndpointdProcess(
  options: EndpointdOptions,
  execArgv: readonly string[] = [],
): Promise<ServerChild> {
  return spawnServer(new URL('./endpointd-child.ts', import.meta.url), { payload: options, execArgv });
}
