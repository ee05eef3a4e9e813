// Messages framed once and written to many calls (src/api/grpc/framed-message.ts), against the real grpc-js server
// and client: each call receives the message itself, and only frame()'s Buffers skip grpc-js's own framing.
import {
  Client,
  credentials,
  Server,
  ServerCredentials,
  type MethodDefinition,
  type ServerWritableStream,
} from '@grpc/grpc-js';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { frame, framedWrites } from '../src/api/grpc/framed-message.ts';

const PATH = '/test.Framed/Stream';
const bytes = (b: Buffer): Buffer => b;
const method: MethodDefinition<Buffer, Buffer> = {
  path: PATH,
  requestStream: false,
  responseStream: true,
  requestSerialize: bytes,
  requestDeserialize: bytes,
  responseSerialize: bytes,
  responseDeserialize: bytes,
};

describe('framed messages', () => {
  let server: Server;
  let client: Client;
  /** What every call is sent, in order; set before the calls are opened. */
  let toSend: Buffer[] = [];

  before(async () => {
    server = new Server();
    server.addService(
      { Stream: method },
      {
        Stream: (call: ServerWritableStream<Buffer, Buffer>) => {
          for (const message of toSend) call.write(message);
          call.end();
        },
      },
    );
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (error, bound) =>
        error === null ? resolve(bound) : reject(error),
      ),
    );
    client = new Client(`127.0.0.1:${port}`, credentials.createInsecure());
  });

  after(() => {
    client.close();
    server.forceShutdown();
  });

  const receive = (): Promise<Buffer[]> =>
    new Promise((resolve, reject) => {
      const call = client.makeServerStreamRequest(PATH, bytes, bytes, Buffer.alloc(0));
      const received: Buffer[] = [];
      call.on('data', (message: Buffer) => received.push(message));
      call.on('error', reject);
      call.on('end', () => resolve(received));
    });

  it('is in use with the grpc-js this checkout installs (an upgrade that drops it fails here, not silently)', () => {
    assert.equal(framedWrites, true);
  });

  it('puts the message in gRPC framing: flag 0, big-endian length, the bytes', () => {
    const message = randomBytes(300);
    const framed = frame(message);
    assert.equal(framed.byteLength, 305);
    assert.equal(framed[0], 0);
    assert.equal(framed.readUInt32BE(1), 300);
    assert.deepEqual(framed.subarray(5), message);
    assert.notEqual(frame(message), framed, 'a new Buffer each time: callers keep theirs');
  });

  it('delivers one framed Buffer written to many calls as the message on each, beside unframed ones', async () => {
    const shared = randomBytes(2000);
    const own = randomBytes(40);
    const empty = Buffer.alloc(0);
    // A Buffer that merely looks framed is not frame()'s: grpc-js frames it as the message it is.
    const lookalike = Buffer.from(frame(own));
    const framedShared = frame(shared);
    toSend = [framedShared, own, frame(empty), lookalike, framedShared];
    const calls = await Promise.all(Array.from({ length: 50 }, receive));
    for (const received of calls) assert.deepEqual(received, [shared, own, empty, lookalike, shared]);
  });
});
