// Typed IPC with the child processes of the kubernetes suite (endpointd, the raw lister, the SSE subscribers):
// parent side forkChild(), child side onParentMessage()/toParent()/childFailed(). Unlike child-server.ts, the
// parent can choose the child's Node flags (--expose-gc, --cpu-prof) and exchange any message after start.
import { fork } from 'node:child_process';
import { once } from 'node:events';

/** Milliseconds on a clock every process of this machine shares (wall clock at process start + monotonic time). */
export const now = (): number => performance.timeOrigin + performance.now();

interface Message {
  readonly type: string;
}

/** What any child sends when it cannot go on; the parent's pending next() calls reject with it. */
export interface ChildFailure {
  readonly type: 'failed';
  readonly error: string;
}

export interface Child<In extends Message, Out extends Message> {
  readonly pid: number;
  /** now() just before fork(). */
  readonly forkedAt: number;
  send(message: In): void;
  /** The next message of `type` (earlier ones of other types stay queued); rejects if the child fails or exits. */
  next<T extends Out['type']>(type: T, timeoutMs?: number): Promise<Extract<Out, { type: T }>>;
  /** Sends `{ type: 'stop' }`, kills the child after `graceMs` if it is still there. */
  stop(graceMs?: number): Promise<void>;
}

export interface ForkOptions {
  readonly execArgv?: readonly string[];
  readonly args?: readonly string[];
  /** Added to this process's environment. */
  readonly env?: Readonly<Record<string, string>>;
}

export function forkChild<In extends Message, Out extends Message>(
  script: URL,
  options: ForkOptions = {},
): Child<In, Out> {
  const name = script.pathname.split('/').pop() ?? script.pathname;
  const forkedAt = now();
  const child = fork(script, [...(options.args ?? [])], {
    execArgv: [...(options.execArgv ?? [])],
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    serialization: 'advanced',
  });
  const exited = once(child, 'exit');
  const queue: Out[] = [];
  const waiters = new Set<{
    readonly type: string;
    readonly resolve: (m: Out) => void;
    readonly reject: (e: Error) => void;
  }>();
  let failure: Error | undefined;
  const failAll = (error: Error): void => {
    failure ??= error;
    for (const waiter of waiters) waiter.reject(failure);
    waiters.clear();
  };
  child.on('message', (message: Out | ChildFailure) => {
    if (isFailure(message)) {
      failAll(new Error(`${name}: ${message.error}`));
      return;
    }
    for (const waiter of waiters) {
      if (waiter.type === message.type) {
        waiters.delete(waiter);
        waiter.resolve(message);
        return;
      }
    }
    queue.push(message);
  });
  child.once('exit', (code, signal) =>
    failAll(new Error(`${name} exited (code ${String(code)}, signal ${String(signal)})`)),
  );
  // A child that exits while a message is on its way makes send() fail: that is reported by 'exit', not here.
  child.on('error', () => {});
  const post = (message: Message): void => {
    try {
      if (child.connected) child.send(message, () => {});
    } catch {
      // the channel closed between the check and the send
    }
  };
  let stopping: Promise<void> | undefined;
  return {
    pid: child.pid ?? -1,
    forkedAt,
    send: post,
    next: <T extends Out['type']>(type: T, timeoutMs = 30_000) =>
      new Promise<Extract<Out, { type: T }>>((resolve, reject) => {
        const queued = queue.findIndex((m) => m.type === type);
        if (queued >= 0) {
          const [message] = queue.splice(queued, 1);
          resolve(message as Extract<Out, { type: T }>);
          return;
        }
        if (failure !== undefined) {
          reject(failure);
          return;
        }
        const timer = setTimeout(() => {
          waiters.delete(waiter);
          reject(new Error(`${name}: no ${type} message within ${timeoutMs} ms`));
        }, timeoutMs);
        const waiter = {
          type,
          resolve: (m: Out) => {
            clearTimeout(timer);
            resolve(m as Extract<Out, { type: T }>);
          },
          reject: (e: Error) => {
            clearTimeout(timer);
            reject(e);
          },
        };
        waiters.add(waiter);
      }),
    stop: (graceMs = 5_000) => {
      stopping ??= (async () => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        post({ type: 'stop' });
        const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
        await exited;
        clearTimeout(timer);
      })();
      return stopping;
    },
  };
}

function isFailure(message: unknown): message is ChildFailure {
  return typeof message === 'object' && message !== null && (message as { type?: unknown }).type === 'failed';
}

// ---- child side ----------------------------------------------------------------------------------------------

export function toParent<T extends Message>(message: T): void {
  process.send?.(message);
}

/**
 * Calls `handle` for each parent message but 'stop'; 'stop' (or the parent going away) runs `stop` then exits.
 */
export function onParentMessage<In extends Message>(
  handle: (message: In) => void,
  stop: () => Promise<void> = () => Promise.resolve(),
): void {
  let stopping = false;
  const shutdown = (): void => {
    if (stopping) return;
    stopping = true;
    void stop()
      .catch((error: unknown) => process.stderr.write(`stop failed: ${String(error)}\n`))
      .finally(() => process.exit(0));
  };
  process.on('message', (message: In) => {
    if (message.type === 'stop') shutdown();
    else handle(message);
  });
  process.once('disconnect', shutdown);
}

/** Reports the error to the parent and exits non-zero. */
export function childFailed(error: unknown): void {
  const text = error instanceof Error ? (error.stack ?? error.message) : String(error);
  if (process.send === undefined || !process.connected) {
    process.stderr.write(`${text}\n`);
    process.exit(1);
  }
  process.send({ type: 'failed', error: text } satisfies ChildFailure, () => process.exit(1));
}
