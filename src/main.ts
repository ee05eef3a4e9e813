#!/usr/bin/env node
// The process: the command line's dispatcher (`endpointd [serve] [flags]` runs the server, `endpointd
// get|watch|bootstrap …` the client in src/cli/), the server's signals and its exit codes. The wiring of the
// layers is src/compose/endpointd.ts.
import './node-version.ts'; // first: on a Node too old, one clear line instead of a failure further on
import { CLIENT_COMMANDS } from './cli/commands.ts';
import { startEndpointd, type Endpointd } from './compose/endpointd.ts';
import { parseCommandLine } from './config/index.ts';
import { createLogger } from './observability/logger.ts';

export { startEndpointd, type Endpointd } from './compose/endpointd.ts';
export { BUNDLED_EXAMPLES } from './compose/sources.ts';

const COMMANDS_HELP = `Commands:
  endpointd [serve] [options]      run the server (the options below)
  endpointd get [-n NS] [SERVICE]  print services and their endpoints, as kubectl get endpoints does
  endpointd watch [-n NS] [SERVICE]
                                   print them, then every change
  endpointd bootstrap [--node ID]  print an xDS bootstrap for gRPC clients
Run endpointd get --help (watch, bootstrap) for the client's options and exit codes.
`;

/** What `endpointd ARGS…` does: a client command, or the server (`serve` is optional). Sets process.exitCode. */
export async function runCommandLine(argv: readonly string[]): Promise<void> {
  const [command, ...rest] = argv;
  if (command !== undefined && CLIENT_COMMANDS.has(command)) {
    const { runClient } = await import('./cli/index.ts');
    const stop = new AbortController();
    const onSignal = (): void => stop.abort();
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    process.exitCode = await runClient(command, rest, {
      stdout: process.stdout,
      stderr: process.stderr,
      env: process.env,
      signal: stop.signal,
    });
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    return;
  }
  if (command !== undefined && command !== 'serve' && !command.startsWith('-')) {
    process.stderr.write(
      `endpointd: unknown command ${JSON.stringify(command)}; the commands are serve (the default), get, watch and bootstrap.\nRun endpointd --help for more.\n`,
    );
    process.exitCode = 2;
    return;
  }
  await runServer(command === 'serve' ? rest : argv);
}

async function runServer(argv: readonly string[]): Promise<void> {
  const parsed = parseCommandLine(argv, process.env);
  switch (parsed.kind) {
    case 'help':
      process.stdout.write(`${COMMANDS_HELP}\n${parsed.text}\n`);
      return;
    case 'version':
      process.stdout.write('endpointd 0.1.0\n');
      return;
    case 'invalid':
      process.stderr.write(
        `endpointd: invalid configuration:\n${parsed.problems.map((p) => `  ${p}`).join('\n')}\nRun endpointd --help for the options.\n`,
      );
      process.exitCode = 2;
      return;
    case 'run':
      break;
  }
  const logger = createLogger(parsed.config.logLevel);
  process.on('unhandledRejection', (reason) => logger.error({ err: reason }, 'unhandled rejection'));
  let endpointd: Endpointd;
  try {
    endpointd = await startEndpointd(parsed.config, logger);
  } catch (error) {
    logger.fatal({ err: error }, 'endpointd could not start');
    process.exitCode = 1;
    return;
  }
  endpointd.synced.catch((error: unknown) => {
    logger.fatal({ err: error }, 'endpointd could not start');
    process.exit(1);
  });
  const shutdown = (signal: NodeJS.Signals): void => {
    logger.info({ signal }, 'shutting down');
    // A second signal means "now": do not make an operator wait for the grace period twice.
    process.once(signal, () => process.exit(1));
    void endpointd.stop().then(() => {
      logger.info('stopped');
      process.exit(0);
    });
  };
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
}

if (import.meta.main) await runCommandLine(process.argv.slice(2));
