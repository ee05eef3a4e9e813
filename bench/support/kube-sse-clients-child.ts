// Child-process entry for the kubernetes suite: many SSE subscribers of one endpointd service watch, plus one raw
// watch on the fake API server (the floor: when the event left the fake), all on their own event loop so that
// neither endpointd nor the fake pays for the clients. Each stream is a bare TCP socket that writes its GET and
// looks for the event in the bytes (no HTTP parser, no JSON.parse on the hot path): the time taken at the start of
// the 'data' callback that completes the event is the receipt time, on the machine-wide now() clock.
import { connect, type Socket } from 'node:net';
import { childFailed, now, onParentMessage, toParent } from './kube-child.ts';

export type ToSseClientsChild =
  | {
      readonly type: 'start';
      readonly restPort: number;
      /** e.g. /v1/namespaces/team-1/services/svc-1/watch */
      readonly servicePath: string;
      readonly streams: number;
      readonly apiPort: number;
      /** A watch of the one EndpointSlice that changes, on the fake API server. */
      readonly apiWatchPath: string;
    }
  | { readonly type: 'ping' }
  | { readonly type: 'arm' }
  | { readonly type: 'stop' };

export type FromSseClientsChild =
  | { readonly type: 'subscribed'; readonly streams: number }
  | { readonly type: 'pong'; readonly at: number }
  | { readonly type: 'armed' }
  | {
      readonly type: 'received';
      /** Per SSE stream: now() when its MODIFIED event was complete. */
      readonly sse: readonly number[];
      /** now() when the raw watch on the fake had the MODIFIED event. */
      readonly api: number;
      /** The `version` the SSE events carried (all streams agree, or this is an error) */
      readonly version: string;
      /** The resourceVersion of the slice in the fake's event. */
      readonly apiResourceVersion: string;
      /** MODIFIED events that arrived while not armed, or twice in a round, since the last report. */
      readonly unexpected: number;
    };

const send = (message: FromSseClientsChild): void => toParent(message);
const MODIFIED = '"type":"MODIFIED"';
const BATCH = 100;

let armed = false;
let pending = 0;
let unexpected = 0;
let onAllReceived: () => void = () => {};
let closing = false;

/** One streaming GET on a raw socket, looking for `marker` … `terminator` (one event) in what arrives. */
class RawStream {
  readonly #socket: Socket;
  readonly opened: Promise<void>;
  #buffer = '';
  #open = false;
  /** now() when this round's event was complete; 0 while waiting. */
  at = 0;
  /** The start of this round's event, for the version check. */
  event = '';

  constructor(port: number, path: string, accept: string, ready: string, terminator: string) {
    this.#socket = connect({ port, host: '127.0.0.1', noDelay: true });
    this.#socket.setEncoding('latin1');
    this.#socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAccept: ${accept}\r\n\r\n`);
    this.opened = new Promise((resolve, reject) => {
      this.#socket.once('error', reject);
      this.#socket.once('close', () => {
        const error = new Error(`${path}: connection closed by the server`);
        reject(error);
        // A stream lost after it opened would leave a round waiting for it: fail loudly instead.
        if (this.#open && !closing) childFailed(error);
      });
      this.#socket.on('data', (chunk: string) => {
        const t = now();
        this.#buffer += chunk;
        if (!this.#open) {
          if (this.#buffer.length >= 12 && !this.#buffer.startsWith('HTTP/1.1 200')) {
            reject(new Error(`${path}: ${this.#buffer.slice(0, 200)}`));
            this.#socket.destroy();
            return;
          }
          if (this.#buffer.includes(ready)) {
            this.#open = true;
            this.#buffer = '';
            resolve();
          }
          return;
        }
        this.#onData(t, terminator);
      });
    });
    this.opened.catch(() => {});
  }

  #onData(t: number, terminator: string): void {
    const marker = this.#buffer.indexOf(MODIFIED);
    if (marker >= 0 && this.#buffer.indexOf(terminator, marker) >= 0) {
      if (armed && this.at === 0) {
        this.at = t;
        this.event = this.#buffer.slice(marker, marker + 4096);
        pending -= 1;
        if (pending === 0) onAllReceived();
      } else {
        unexpected += 1;
      }
    }
    // Keep only what follows the last complete event (usually nothing).
    const end = this.#buffer.lastIndexOf(terminator);
    if (end >= 0) this.#buffer = this.#buffer.slice(end + terminator.length);
  }

  close(): void {
    this.#socket.destroy();
  }
}

const streams: RawStream[] = [];
let api: RawStream | undefined;

async function start(message: Extract<ToSseClientsChild, { type: 'start' }>): Promise<void> {
  // In batches: a thousand SYNs at once could overflow the listen backlog.
  for (let i = 0; i < message.streams; i += BATCH) {
    const batch: RawStream[] = [];
    for (let j = i; j < Math.min(message.streams, i + BATCH); j++) {
      // SSE: the state first (ADDED), then SYNCED; every event ends with a blank line.
      batch.push(
        new RawStream(message.restPort, message.servicePath, 'text/event-stream', '"type":"SYNCED"', '\n\n'),
      );
    }
    streams.push(...batch);
    await Promise.all(batch.map((s) => s.opened));
  }
  // The fake's watch without a resourceVersion starts with the current object (ADDED); one JSON line per event.
  api = new RawStream(message.apiPort, message.apiWatchPath, 'application/json', '"type":"ADDED"', '\n');
  await api.opened;
  send({ type: 'subscribed', streams: streams.length });
}

function report(): void {
  armed = false;
  const versions = new Set(streams.map((s) => /"version":"([^"]*)"/.exec(s.event)?.[1] ?? '?'));
  if (versions.size !== 1) {
    childFailed(new Error(`the streams saw different versions: ${[...versions].slice(0, 5).join(', ')}`));
    return;
  }
  const apiVersion = /"resourceVersion":"(\d+)"/.exec(api?.event ?? '')?.[1] ?? '?';
  send({
    type: 'received',
    sse: streams.map((s) => s.at),
    api: api?.at ?? 0,
    version: [...versions][0] ?? '?',
    apiResourceVersion: apiVersion,
    unexpected,
  });
  unexpected = 0;
}

onParentMessage<ToSseClientsChild>(
  (message) => {
    switch (message.type) {
      case 'start':
        start(message).catch(childFailed);
        return;
      case 'ping':
        send({ type: 'pong', at: now() });
        return;
      case 'arm':
        for (const s of [...streams, ...(api === undefined ? [] : [api])]) {
          s.at = 0;
          s.event = '';
        }
        pending = streams.length + (api === undefined ? 0 : 1);
        onAllReceived = report;
        armed = true;
        send({ type: 'armed' });
        return;
      case 'stop':
        return;
    }
  },
  () => {
    closing = true;
    for (const s of streams) s.close();
    api?.close();
    return Promise.resolve();
  },
);
