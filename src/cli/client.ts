// The REST client of the command line: one connection pool (with the CA, client certificate and bearer token the
// flags give) and the two ways the CLI reads the API — one JSON answer, or a watch stream read line by line.
// Every failure becomes a CliError with the exit code a script can act on.
import { SERVER_OPTIONS } from '../config/options/server.ts';
import { readFileSync } from 'node:fs';
import { Agent, request, type Dispatcher } from 'undici';
import type { ProblemBody, WatchEventBody } from '../api/rest/wire.ts';
import { CliError, EXIT } from './exit-codes.ts';

export interface ClientOptions {
  /** Base URL of the REST API, e.g. http://localhost:8080. */
  readonly server: string;
  readonly token: string | undefined;
  /** PEM CA bundle to verify an https server with (instead of the system's). */
  readonly caFile: string | undefined;
  /** PEM client certificate and key, for mTLS. */
  readonly certFile: string | undefined;
  readonly keyFile: string | undefined;
  /** Bound on connecting and on waiting for an answer's headers (and for each part of a `get`'s answer), in ms. */
  readonly timeoutMs: number;
}

/**
 * A stream that sends no byte for this long is taken for dead (a half-open connection): three heartbeats missed at
 * the server's default --heartbeat-interval. The dashboard uses the same bound (45 s, in its own script).
 */
const STREAM_IDLE_MS = 3 * SERVER_OPTIONS.heartbeatIntervalMs.defaultValue;

export class ApiClient {
  readonly #base: URL;
  readonly #token: string | undefined;
  readonly #agent: Agent;
  readonly #timeoutMs: number;

  /** --request-timeout, in ms: what `get` allows each part of its answer. */
  get timeoutMs(): number {
    return this.#timeoutMs;
  }

  constructor(options: ClientOptions) {
    this.#base = new URL(options.server.endsWith('/') ? options.server : `${options.server}/`);
    this.#token = options.token;
    this.#timeoutMs = options.timeoutMs;
    const read = (flag: string, path: string | undefined): string | undefined => {
      if (path === undefined) return undefined;
      try {
        return readFileSync(path, 'utf8');
      } catch (error) {
        throw new CliError(
          EXIT.usage,
          `${flag} ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`,
        );
      }
    };
    this.#agent = new Agent({
      connect: {
        ca: read('--ca-file', options.caFile),
        cert: read('--cert-file', options.certFile),
        key: read('--key-file', options.keyFile),
        timeout: options.timeoutMs,
      },
      headersTimeout: options.timeoutMs,
    });
  }

  url(path: string): string {
    return new URL(path.replace(/^\//, ''), this.#base).toString();
  }

  /** GETs `path` and parses its JSON answer; any status but 200 becomes a CliError. */
  async getJson<T>(path: string): Promise<T> {
    const answer = await this.#get(path, 'application/json', this.#timeoutMs);
    const text = await answer.body.text();
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new CliError(EXIT.failed, `${this.url(path)} answered something that is not JSON`);
    }
  }

  /**
   * Opens a watch stream (NDJSON) and yields its events until it ends or `signal` aborts. Fails like getJson()
   * when the stream cannot be opened; a stream cut later, or silent for `idleMs`, ends the iteration with a
   * CliError(unavailable).
   */
  async *watch(
    path: string,
    signal: AbortSignal,
    /** Default: three missed heartbeats, for a stream followed for long; a stream read as one answer passes less. */
    idleMs = STREAM_IDLE_MS,
  ): AsyncGenerator<WatchEventBody> {
    const answer = await this.#get(path, 'application/x-ndjson', idleMs, signal);
    let buffer = '';
    try {
      for await (const chunk of answer.body) {
        buffer += (chunk as Buffer).toString('utf8');
        let newline = buffer.indexOf('\n');
        while (newline !== -1) {
          const line = buffer.slice(0, newline);
          buffer = buffer.slice(newline + 1);
          if (line.trim() !== '') yield JSON.parse(line) as WatchEventBody;
          newline = buffer.indexOf('\n');
        }
      }
    } catch (error) {
      if (signal.aborted) return;
      throw new CliError(
        EXIT.unavailable,
        `the stream from ${this.#base.origin} was cut: ${describe(error)}`,
      );
    } finally {
      answer.body.destroy();
    }
    if (!signal.aborted) throw new CliError(EXIT.unavailable, `${this.#base.origin} ended the stream`);
  }

  close(): Promise<void> {
    return this.#agent.close();
  }

  async #get(
    path: string,
    accept: string,
    bodyTimeoutMs: number,
    signal?: AbortSignal,
  ): Promise<Dispatcher.ResponseData> {
    const headers: Record<string, string> = { accept };
    if (this.#token !== undefined) headers.authorization = `Bearer ${this.#token}`;
    let answer: Dispatcher.ResponseData;
    try {
      answer = await request(this.url(path), {
        dispatcher: this.#agent,
        headers,
        bodyTimeout: bodyTimeoutMs,
        ...(signal === undefined ? {} : { signal }),
      });
    } catch (error) {
      throw new CliError(EXIT.unavailable, `cannot reach ${this.#base.origin}: ${describe(error)}`);
    }
    if (answer.statusCode === 200) return answer;
    const text = await answer.body.text().catch(() => '');
    let detail = text.trim().split('\n')[0] ?? '';
    try {
      detail = (JSON.parse(text) as ProblemBody).detail ?? detail;
    } catch {
      // not a problem document: keep the first line of the text
    }
    const said = `${answer.statusCode}${detail === '' ? '' : `: ${detail}`}`;
    switch (answer.statusCode) {
      case 400:
        throw new CliError(EXIT.usage, `the server refused the request: ${said}`);
      case 401:
      case 403:
        throw new CliError(
          EXIT.unauthorized,
          `${this.#base.origin} refused the credentials (${said}); give --token or --token-file`,
        );
      case 404:
        throw new CliError(EXIT.notFound, detail === '' ? `not found: ${this.url(path)}` : detail);
      case 429:
        // The server's rate or stream limits: an answer to be had later, like a 503 (a watch rides it out).
        throw new CliError(
          EXIT.unavailable,
          `${this.#base.origin} refused more requests for now: ${said}`,
          retryAfterMs(answer.headers['retry-after']),
        );
      case 503:
        throw new CliError(
          EXIT.unavailable,
          `${this.#base.origin} is not ready: ${said}`,
          retryAfterMs(answer.headers['retry-after']),
        );
      default:
        throw new CliError(EXIT.failed, `${this.url(path)} answered ${said}`);
    }
  }
}

/** A Retry-After header in delay-seconds (what endpointd sends), in ms; undefined when absent or not a number. */
function retryAfterMs(header: string | string[] | undefined): number | undefined {
  const text = Array.isArray(header) ? header[0] : header;
  if (text === undefined || !/^\d{1,6}$/.test(text.trim())) return undefined;
  return Number(text.trim()) * 1000;
}

/** The most specific words an undici or TLS error has: its code and message, and its cause's. */
function describe(error: unknown): string {
  const parts: string[] = [];
  let current: unknown = error;
  for (let depth = 0; current instanceof Error && depth < 4; depth++) {
    const code = (current as NodeJS.ErrnoException).code;
    const text =
      code !== undefined && !current.message.includes(code) ? `${code} ${current.message}` : current.message;
    if (text !== '' && !parts.includes(text)) parts.push(text);
    current = (current as { cause?: unknown }).cause;
  }
  const words = parts.join(': ');
  return /certificate|self.signed|CERT_|TLS/i.test(words) ? `${words} (is --ca-file right?)` : words;
}
