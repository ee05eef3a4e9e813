// A gRPC C-core xDS client driven from a test: Debian's python3-grpcio (C-core inside) running
// test/support/ccore-xds-client.py against a bootstrap file, one channel per process, batches of calls on demand.
// A second xDS implementation beside grpc-js, so that what endpointd sends is checked by another parser.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/** Debian's interpreter: python3-grpcio lives in its dist-packages, which another python3 on PATH may not see. */
export const CCORE_PYTHON = process.env.ENDPOINTD_CCORE_PYTHON ?? '/usr/bin/python3';

const SCRIPT = fileURLToPath(new URL('./ccore-xds-client.py', import.meta.url));

/** One call's outcome, as the script prints it. */
export interface CcoreCall {
  readonly backend?: string;
  readonly error?: string;
  readonly detail?: string;
}

interface Line extends CcoreCall {
  readonly done?: number;
  readonly grpc?: string;
}

export class CcoreXdsClient {
  readonly #child: ChildProcessWithoutNullStreams;
  readonly #lines: Line[] = [];
  #waiter: (() => void) | undefined;
  #stderr = '';
  #exited = false;
  /** The grpcio version the script reported. */
  version = '';

  private constructor(child: ChildProcessWithoutNullStreams) {
    this.#child = child;
    createInterface({ input: child.stdout }).on('line', (text) => {
      this.#lines.push(JSON.parse(text) as Line);
      this.#waiter?.();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      this.#stderr = (this.#stderr + chunk.toString()).slice(-4000);
    });
    child.on('exit', () => {
      this.#exited = true;
      this.#waiter?.();
    });
  }

  /**
   * Starts the client on `target` with the bootstrap file `bootstrap`; resolves with the outcomes of its first
   * `count` calls (each waits for the channel within `deadlineS` seconds; the first failure ends them).
   */
  static async start(
    target: string,
    bootstrap: string,
    count: number,
    deadlineS = 5,
  ): Promise<{ client: CcoreXdsClient; calls: CcoreCall[] }> {
    const env = Object.fromEntries(
      Object.entries(process.env).filter(([name]) => !/^(https?|grpc|all)_proxy$/i.test(name)),
    );
    const child = spawn(CCORE_PYTHON, [SCRIPT, target, String(count), String(deadlineS)], {
      env: { ...env, GRPC_XDS_BOOTSTRAP: bootstrap, GRPC_VERBOSITY: process.env.GRPC_VERBOSITY ?? 'error' },
    });
    const client = new CcoreXdsClient(child);
    const hello = await client.#next(15_000);
    client.version = hello.grpc ?? '';
    return { client, calls: await client.#collect(count, count * deadlineS * 1000 + 15_000) };
  }

  /**
   * Up to `count` more calls on the same channel, ending at the first failed one; `failFast`: fail at once instead
   * of waiting (up to `deadlineS`, default 5 s) for a usable endpoint.
   */
  batch(count: number, options: { failFast?: boolean; deadlineS?: number } = {}): Promise<CcoreCall[]> {
    this.#child.stdin.write(`${count}${options.failFast === true ? ' fail-fast' : ''}\n`);
    return this.#collect(count, count * (options.deadlineS ?? 5) * 1000 + 15_000);
  }

  /** Closes the channel (stdin EOF) and waits for the process; kills it if it does not exit within 5 s. */
  async close(): Promise<void> {
    if (this.#exited) return;
    const exited = once(this.#child, 'exit');
    this.#child.stdin.end();
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }

  async #collect(count: number, timeoutMs: number): Promise<CcoreCall[]> {
    const calls: CcoreCall[] = [];
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const line = await this.#next(deadline - Date.now());
      if (line.done !== undefined) {
        if (calls.length !== line.done || calls.length > count) {
          throw new Error(`batch of ${count}: ${calls.length} answers for ${line.done} calls`);
        }
        return calls;
      }
      calls.push(line);
    }
  }

  async #next(timeoutMs: number): Promise<Line> {
    const started = Date.now();
    for (;;) {
      const line = this.#lines.shift();
      if (line !== undefined) return line;
      if (this.#exited) throw new Error(`the C-core client exited: ${this.#stderr.trim()}`);
      const left = timeoutMs - (Date.now() - started);
      if (left <= 0)
        throw new Error(`no answer from the C-core client in ${timeoutMs} ms: ${this.#stderr.trim()}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#waiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.#waiter = undefined;
    }
  }
}
