// Runs a server in its own Node process, so that it owns a whole event loop (and core) and the load generator or
// the harness never steal its time. Parent side: spawnServer(). Child side: announceReady() and stop on request or
// when the parent goes away, so that no server outlives a harness that crashed or was killed.
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';

/** The messages between the harness and a server child, over the IPC channel. */
export type ToChild = { readonly type: 'stop' } | { readonly type: 'config'; readonly payload: unknown };
export type FromChild =
  | { readonly type: 'want-config' }
  | { readonly type: 'ready'; readonly port: number }
  | { readonly type: 'failed'; readonly error: string };

export interface ServerChild {
  readonly port: number;
  readonly pid: number;
  /** Asks the child to stop cleanly; kills it if it has not exited within `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

export interface SpawnOptions {
  /** Sent to the child as its first message, before it is expected to listen (e.g. the bytes to serve). */
  readonly payload?: unknown;
  readonly args?: readonly string[];
  /** The child's Node flags (default none: no inherited --inspect or the like). */
  readonly execArgv?: readonly string[];
  /** How long the child may take to announce that it listens. */
  readonly startTimeoutMs?: number;
}

/** Forks `script` (a .ts file run by this same Node binary) and resolves once it listens. */
export async function spawnServer(script: URL, options: SpawnOptions = {}): Promise<ServerChild> {
  const child = fork(script, [...(options.args ?? [])], {
    // No inherited --inspect or the like: the server must run as it would in production.
    execArgv: [...(options.execArgv ?? [])],
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    serialization: 'advanced',
  });
  const exited = once(child, 'exit');
  const ready = new Promise<number>((resolve, reject) => {
    const timer = setTimeout(
      () =>
        reject(new Error(`${script.pathname}: not listening after ${options.startTimeoutMs ?? 30_000} ms`)),
      options.startTimeoutMs ?? 30_000,
    );
    child.on('message', (message: FromChild) => {
      // The payload goes on request: a message sent before the child listens for it would be lost.
      if (message.type === 'want-config') {
        send(child, { type: 'config', payload: options.payload });
        return;
      }
      clearTimeout(timer);
      if (message.type === 'ready') resolve(message.port);
      else reject(new Error(`${script.pathname}: ${message.error}`));
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${script.pathname} exited before listening (code ${code}, signal ${signal})`));
    });
  });
  let port: number;
  try {
    port = await ready;
  } catch (error) {
    child.kill('SIGKILL');
    await exited;
    throw error;
  }
  let stopping: Promise<void> | undefined;
  return {
    port,
    pid: child.pid ?? -1,
    stop: (graceMs = 5_000) => {
      stopping ??= (async () => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        send(child, { type: 'stop' });
        const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
        await exited;
        clearTimeout(timer);
      })();
      return stopping;
    },
  };
}

function send(child: ChildProcess, message: ToChild): void {
  if (child.connected) child.send(message);
}

/** Child side: the payload the parent sent with spawnServer({ payload }). */
export async function receivePayload(): Promise<unknown> {
  const received = once(process, 'message');
  process.send?.({ type: 'want-config' } satisfies FromChild);
  const [message] = (await received) as [ToChild];
  if (message.type !== 'config') throw new Error(`expected the config message first, got ${message.type}`);
  return message.payload;
}

/**
 * Child side: tells the parent the server listens on `port`, then runs `stop` and exits when the parent asks or
 * disconnects (it died or was killed).
 */
export function announceReady(port: number, stop: () => Promise<void>): void {
  let stopping = false;
  const shutdown = (): void => {
    if (stopping) return;
    stopping = true;
    void stop()
      .catch((error: unknown) => process.stderr.write(`stop failed: ${String(error)}\n`))
      .finally(() => process.exit(0));
  };
  process.on('message', (message: ToChild) => {
    if (message.type === 'stop') shutdown();
  });
  process.once('disconnect', shutdown);
  process.send?.({ type: 'ready', port } satisfies FromChild);
}

/** Child side: reports a start failure to the parent and exits non-zero. */
export function announceFailure(error: unknown): void {
  const text = error instanceof Error ? (error.stack ?? error.message) : String(error);
  process.send?.({ type: 'failed', error: text } satisfies FromChild, () => process.exit(1));
}
