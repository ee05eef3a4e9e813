// A bare node:http(s) client for asserting exactly what goes over the wire (headers, chunks, events, clean ends).

import { request as httpRequest } from 'node:http';
import type { ClientRequest, IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';

export interface RawTarget {
  url: string;
  caPem?: string | undefined;
}

export interface RawOptions {
  token?: string;
  headers?: Record<string, string>;
}

export interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  /** The parsed body, or undefined when it is not JSON. */
  json: unknown;
}

export interface RawWatchObject {
  kind?: string;
  apiVersion?: string;
  metadata?: {
    name?: string;
    namespace?: string;
    resourceVersion?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    [field: string]: unknown;
  };
  code?: number;
  reason?: string;
  message?: string;
  status?: string;
  [field: string]: unknown;
}

export interface RawWatchEvent {
  type: string;
  object: RawWatchObject;
}

function send(target: RawTarget, path: string, opts: RawOptions): ClientRequest {
  const url = new URL(path, target.url);
  const headers: Record<string, string> = { Accept: 'application/json', ...opts.headers };
  if (opts.token !== undefined) headers['Authorization'] = `Bearer ${opts.token}`;
  // agent: false gives each request its own connection, so no pooled socket outlives a test.
  const options = { method: 'GET', headers, agent: false as const };
  return url.protocol === 'https:'
    ? httpsRequest(url, { ...options, ca: target.caPem })
    : httpRequest(url, options);
}

export function rawGet(target: RawTarget, path: string, opts: RawOptions = {}): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = send(target, path, opts);
    req.on('error', reject);
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
      });
    });
    req.end();
  });
}

/** A streaming GET (usually a watch) that records every chunk and every newline-delimited event. */
export class RawStream {
  readonly chunks: string[] = [];
  readonly events: RawWatchEvent[] = [];
  /** Resolves when headers arrive; rejects on a connection error before that. */
  readonly response: Promise<IncomingMessage>;
  /** 'end' after a clean end of the body; 'aborted' when the connection died first. */
  readonly ended: Promise<'end' | 'aborted'>;
  readonly #req: ClientRequest;
  #buffer = '';
  #res: IncomingMessage | undefined;
  #listeners = new Set<() => void>();

  constructor(target: RawTarget, path: string, opts: RawOptions = {}) {
    this.#req = send(target, path, opts);
    let settleEnd: (how: 'end' | 'aborted') => void = () => {};
    this.ended = new Promise((resolve) => {
      settleEnd = resolve;
    });
    this.response = new Promise((resolve, reject) => {
      this.#req.on('error', (err) => {
        reject(err);
        settleEnd('aborted');
      });
      this.#req.on('response', (res) => {
        this.#res = res;
        let cleanEnd = false;
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => this.#onData(chunk));
        res.on('end', () => {
          cleanEnd = true;
          settleEnd('end');
        });
        res.on('error', () => settleEnd('aborted'));
        res.on('close', () => settleEnd(cleanEnd ? 'end' : 'aborted'));
        resolve(res);
      });
    });
    // Callers that only look at `ended` must not see an unhandled rejection.
    this.response.catch(() => {});
    this.#req.end();
  }

  static async open(target: RawTarget, path: string, opts: RawOptions = {}): Promise<RawStream> {
    const stream = new RawStream(target, path, opts);
    await stream.response;
    return stream;
  }

  get status(): number {
    return this.#res?.statusCode ?? 0;
  }

  get headers(): IncomingHttpHeaders {
    return this.#res?.headers ?? {};
  }

  #onData(chunk: string): void {
    this.chunks.push(chunk);
    this.#buffer += chunk;
    let nl = this.#buffer.indexOf('\n');
    while (nl >= 0) {
      const line = this.#buffer.slice(0, nl).trim();
      this.#buffer = this.#buffer.slice(nl + 1);
      if (line !== '') this.events.push(JSON.parse(line) as RawWatchEvent);
      nl = this.#buffer.indexOf('\n');
    }
    for (const wake of [...this.#listeners]) wake();
  }

  /** Waits until at least `count` events arrived in total, then returns all of them. */
  async waitForEvents(count: number, timeoutMs = 3000): Promise<RawWatchEvent[]> {
    await this.#until(
      () => this.events.length >= count,
      timeoutMs,
      `${count} event(s), have ${this.events.length}`,
    );
    return this.events;
  }

  async waitForEvent(predicate: (e: RawWatchEvent) => boolean, timeoutMs = 3000): Promise<RawWatchEvent> {
    let found: RawWatchEvent | undefined;
    await this.#until(
      () => (found = this.events.find(predicate)) !== undefined,
      timeoutMs,
      'a matching event',
    );
    if (found === undefined) throw new Error('unreachable');
    return found;
  }

  #until(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
    if (condition()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = () => {
        if (condition()) {
          done();
          resolve();
        }
      };
      const done = () => {
        clearTimeout(timer);
        this.#listeners.delete(check);
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`raw stream: timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      this.#listeners.add(check);
    });
  }

  close(): void {
    this.#req.destroy();
  }
}
