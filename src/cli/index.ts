// The command-line client of a running endpointd, in the manner of `kubectl get endpoints`: `get` prints services
// and their endpoints, `watch` follows them, `bootstrap` prints an xDS bootstrap. It reads only the public REST
// API. Exit codes tell a script what went wrong (see exit-codes.ts).
import { parseClientArgs } from './args.ts';
import { ApiClient } from './client.ts';
export { CLIENT_COMMANDS } from './commands.ts';
import { CliError, EXIT, type ExitCode } from './exit-codes.ts';
import { get } from './get.ts';
import { HELP } from './help.ts';
import { printableStream } from './printable.ts';
import { watch } from './watch.ts';

/** Where the client writes; the process's streams, or a test's. */
export interface ClientIo {
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
  readonly env: NodeJS.ProcessEnv;
  /** Aborted on SIGINT/SIGTERM: `watch` then ends with exit code 0. */
  readonly signal: AbortSignal;
}

/** Runs one client command; resolves with the process's exit code. Never throws. */
export async function runClient(
  command: string,
  argv: readonly string[],
  terminal: ClientIo,
): Promise<ExitCode> {
  // Everything written passes through printable(): what the server sends is data, never terminal control.
  const io: ClientIo = {
    ...terminal,
    stdout: printableStream(terminal.stdout),
    stderr: printableStream(terminal.stderr),
  };
  let client: ApiClient | undefined;
  try {
    const parsed = parseClientArgs(command, argv, io.env);
    if (parsed === 'help') {
      io.stdout.write(`${HELP[command] ?? ''}\n`);
      return EXIT.ok;
    }
    client = new ApiClient(parsed.connection);
    if (command === 'bootstrap') {
      // The server checks the values (a 400 names the bad one, and the CLI says it); the CLI only passes them on.
      const { zone, region, subZone } = parsed.locality;
      const params = new URLSearchParams();
      if (parsed.node !== undefined) params.set('id', parsed.node);
      if (zone !== undefined) params.set('zone', zone);
      if (region !== undefined) params.set('region', region);
      if (subZone !== undefined) params.set('node', subZone);
      const query = params.size === 0 ? '' : `?${params.toString()}`;
      const bootstrap = await client.getJson<unknown>(`/v1/xds/bootstrap${query}`);
      io.stdout.write(`${JSON.stringify(bootstrap, null, 2)}\n`);
      return EXIT.ok;
    }
    if (command === 'get') return await get(client, parsed, io);
    return await watch(client, parsed, io);
  } catch (error) {
    if (error instanceof CliError) {
      io.stderr.write(`endpointd ${command}: ${error.message}\n`);
      if (error.code === EXIT.usage && error.message.startsWith('usage:'))
        io.stderr.write(`Run endpointd ${command} --help for the options.\n`);
      return error.code;
    }
    io.stderr.write(`endpointd ${command}: ${error instanceof Error ? error.message : String(error)}\n`);
    return EXIT.failed;
  } finally {
    await client?.close();
  }
}
