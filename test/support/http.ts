// HTTP helpers for tests: plain requests with parsed bodies, and watch streams read event by event.
import {
  createServer,
  request,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';

export interface HttpAnswer {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly text: string;
  /** The body parsed as JSON; throws when it is not JSON. */
  json<T = unknown>(): T;
}

/** A loopback server whose every answer `answer` writes (a stand-in for an API server or a proxy); with its URL. */
export async function rawServer(
  answer: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<{ url: string; server: Server }> {
  const server = createServer(answer);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

export async function get(url: string, headers: Record<string, string> = {}): Promise<HttpAnswer> {
  const res = await fetch(url, { headers });
  const text = await res.text();
  return {
    status: res.status,
    headers: Object.fromEntries(res.headers.entries()),
    text,
    json: <T>() => JSON.parse(text) as T,
  };
}

/** The names of the Services `GET /v1/services?namespace=…` lists, sorted. */
export async function listedServiceNames(baseUrl: string, namespace: string): Promise<string[]> {
  const list = (await get(`${baseUrl}/v1/services?namespace=${namespace}`)).json<{
    services: Array<{ name: string }>;
  }>();
  return list.services.map((s) => s.name).sort();
}

/** One event of a stream: for SSE the `id` (undefined when the event had none) and the parsed `data`. */
export interface StreamEvent {
  readonly id: string | undefined;
  readonly data: { type: string; [field: string]: unknown };
}

/** A watch stream read event by event; `next()` waits for the next one. */
export class EventStream {
  readonly response: IncomingMessage;
  readonly #events: StreamEvent[] = [];
  readonly #waiters: Array<() => void> = [];
  #buffer = '';
  #ended = false;

  private constructor(response: IncomingMessage, format: 'sse' | 'ndjson') {
    this.response = response;
    response.setEncoding('utf8');
    response.on('data', (chunk: string) => {
      this.#buffer += chunk;
      this.#parse(format);
    });
    response.on('close', () => {
      this.#ended = true;
      this.#wake();
    });
  }

  static open(url: string, headers: Record<string, string> = {}): Promise<EventStream> {
    const format = (headers.Accept ?? '').includes('text/event-stream') ? 'sse' : 'ndjson';
    return new Promise((resolve, reject) => {
      const req = request(url, { headers }, (res) => resolve(new EventStream(res, format)));
      req.on('error', reject);
      req.end();
    });
  }

  get ended(): boolean {
    return this.#ended && this.#events.length === 0;
  }

  /** The next event; rejects after `timeoutMs` or when the stream ends first. */
  async next(timeoutMs = 3000): Promise<StreamEvent> {
    const deadline = Date.now() + timeoutMs;
    while (this.#events.length === 0) {
      if (this.#ended) throw new Error('stream ended');
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no event within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return this.#events.shift() as StreamEvent;
  }

  /** Events until (and including) the first whose type is `type`. */
  async until(type: string, timeoutMs = 3000): Promise<StreamEvent[]> {
    const seen: StreamEvent[] = [];
    for (;;) {
      const event = await this.next(timeoutMs);
      seen.push(event);
      if (event.data.type === type) return seen;
    }
  }

  close(): void {
    this.response.destroy();
  }

  #parse(format: 'sse' | 'ndjson'): void {
    const separator = format === 'sse' ? '\n\n' : '\n';
    let index = this.#buffer.indexOf(separator);
    while (index !== -1) {
      const block = this.#buffer.slice(0, index);
      this.#buffer = this.#buffer.slice(index + separator.length);
      if (block.trim() !== '')
        this.#events.push(
          format === 'sse'
            ? parseSse(block)
            : { id: undefined, data: JSON.parse(block) as StreamEvent['data'] },
        );
      index = this.#buffer.indexOf(separator);
    }
    this.#wake();
  }

  #wake(): void {
    for (const waiter of this.#waiters.splice(0)) waiter();
  }
}

function parseSse(block: string): StreamEvent {
  let id: string | undefined;
  const data: string[] = [];
  for (const line of block.split('\n')) {
    if (line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'id') id = value;
    else if (field === 'data') data.push(value);
  }
  return { id, data: JSON.parse(data.join('\n')) as StreamEvent['data'] };
}

/** Polls `check` until it returns a value other than undefined, or fails after `timeoutMs`. */
export async function eventually<T>(
  check: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 2000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** The value of one sample of a Prometheus text exposition (`name{labels}`), or undefined when absent. */
export async function metricValue(baseUrl: string, sample: string): Promise<number | undefined> {
  const text = (await get(`${baseUrl}/metrics`)).text;
  for (const line of text.split('\n')) {
    if (line.startsWith(`${sample} `)) return Number(line.slice(sample.length + 1));
  }
  return undefined;
}

/**
 * Resolves once `endpointd_subscribers{door}` reads `count`: a long-poll or watch the door holds open is counted
 * there, so a test sees its request pending before it changes anything.
 */
export async function subscribersReach(baseUrl: string, door: string, count: number): Promise<void> {
  await eventually(
    async () =>
      (await metricValue(baseUrl, `endpointd_subscribers{door="${door}"}`)) === count ? true : undefined,
    10_000,
  );
}
