// gRPC streaming calls on bare node:http2 sessions, for the fan-out harness's clients (grpc-bench-child.ts): the
// request framed by hand, each response message cut out of the DATA chunks by its 5-byte prefix, the status taken
// from the trailers. The harness receives 10,000 messages a change on a machine it shares with the server it
// measures; grpc-js's client spent 20–70 µs of CPU a message (its call stack, a Readable per call, its decoder),
// 180–720 ms of CPU and several collections a change at 10,000 streams, while the server's event loop waited
// 40–370 ms a change for a CPU (the tail of its receipts followed that wait, BENCH_GRPC_TRACE); with this, the
// clients' CPU a change fell to 115 ms for endpointd's streams and 222 for etcd's. The same code opens endpointd's
// server-streaming Watch and etcd's bidirectional one, so both sides are still received alike.
import {
  connect,
  constants,
  type ClientHttp2Session,
  type ClientHttp2Stream,
  type IncomingHttpHeaders,
} from 'node:http2';

/** One connection, with grpc-js's client settings (a 64 KB stream window, no session memory limit). */
export function rawSession(target: string): ClientHttp2Session {
  const session = connect(`http://${target}`, {
    settings: { initialWindowSize: 65_535, enablePush: false },
    maxSessionMemory: Number.MAX_SAFE_INTEGER,
    maxSendHeaderBlockLength: Number.MAX_SAFE_INTEGER,
  });
  // A session error also fails its streams, which report it.
  session.on('error', () => undefined);
  return session;
}

export interface RawCallHandlers {
  /** One whole response message (without its prefix); a view into the received chunk, valid for this call only. */
  readonly onMessage: (message: Buffer) => void;
  /** The call ended other than by the harness (an error, a non-OK status, the server closing it). */
  readonly onFailure: (reason: string) => void;
}

/**
 * Opens `path` on `session` and writes `request` as its one message; `endRequest` half-closes the sending side
 * (server-streaming) or keeps it open (bidirectional, as a real etcd client keeps it for more requests).
 */
export function rawCall(
  session: ClientHttp2Session,
  path: string,
  request: Buffer,
  endRequest: boolean,
  handlers: RawCallHandlers,
): ClientHttp2Stream {
  const stream = session.request(
    {
      [constants.HTTP2_HEADER_METHOD]: 'POST',
      [constants.HTTP2_HEADER_PATH]: path,
      [constants.HTTP2_HEADER_CONTENT_TYPE]: 'application/grpc',
      [constants.HTTP2_HEADER_TE]: 'trailers',
    },
    { endStream: false },
  );
  const framed = Buffer.allocUnsafe(5 + request.byteLength);
  framed.writeUInt8(0, 0);
  framed.writeUInt32BE(request.byteLength, 1);
  request.copy(framed, 5);
  if (endRequest) stream.end(framed);
  else stream.write(framed);

  const status = (headers: IncomingHttpHeaders): void => {
    const code = headers['grpc-status'];
    if (code !== undefined && code !== '0')
      handlers.onFailure(`grpc-status ${String(code)}: ${String(headers['grpc-message'] ?? '')}`);
  };
  stream.on('response', (headers) => {
    const code = Number(headers[constants.HTTP2_HEADER_STATUS]);
    if (code !== 200) handlers.onFailure(`HTTP status ${code}`);
    else status(headers);
  });
  stream.on('trailers', status);
  stream.on('error', (error: Error) => handlers.onFailure(error.message));
  stream.on('end', () => handlers.onFailure('the server ended the call'));

  // What a chunk left of a message cut by its end: kept until the rest arrives.
  let partial: Buffer | undefined;
  stream.on('data', (chunk: Buffer) => {
    const data = partial === undefined ? chunk : Buffer.concat([partial, chunk]);
    let offset = 0;
    while (data.byteLength - offset >= 5) {
      const length = data.readUInt32BE(offset + 1);
      const end = offset + 5 + length;
      if (end > data.byteLength) break;
      if (data[offset] !== 0) {
        handlers.onFailure('a compressed message (the harness asks for none)');
        return;
      }
      handlers.onMessage(data.subarray(offset + 5, end));
      offset = end;
    }
    partial = offset === data.byteLength ? undefined : data.subarray(offset);
  });
  return stream;
}
