// gRPC messages framed once for many calls: the 5-byte length prefix and the message in one Buffer that grpc-js's
// server writes to the HTTP/2 stream as it is. grpc-js frames every message it sends by allocating a new Buffer and
// copying the message into it (BaseServerInterceptingCall.serializeMessage); a change fanned out to 10,000 Watch
// streams was thus 10,000 allocations and copies of the same ~2 KB (a quarter of the server's CPU a change in a
// profile, and the garbage after it), where one framed Buffer written 10,000 times does (HTTP/2 sends a written
// Buffer without copying it, and nobody writes into it).
//
// grpc-js has no public way to hand it a framed message, so this module wraps that one method of its server call:
// a Buffer that frame() made is passed through, anything else is framed by grpc-js as before. If the module or the
// method is not there (another grpc-js), frame() returns the message unframed and grpc-js frames it: slower, never
// wrong, and test/grpc-watch-framed.test.ts fails so that the upgrade is noticed.
import { createRequire } from 'node:module';

/** The Buffers frame() made: only these skip grpc-js's framing. */
const FRAMED = new WeakSet<Buffer>();

/** grpc-js's server call as this module uses it: the method that frames one outgoing message. */
interface FramingCall {
  serializeMessage?: (this: unknown, value: unknown) => Buffer;
}

/** Whether grpc-js passes frame()'s Buffers through (it did when this module was loaded). */
export const framedWrites: boolean = installPassThrough();

/**
 * grpc-js's server call class, from the same module instance the server uses (Node's one CommonJS cache), or
 * undefined where this grpc-js does not have that file (it is not part of its public API).
 */
function serverCallPrototype(): FramingCall | undefined {
  try {
    const module = createRequire(import.meta.url)('@grpc/grpc-js/build/src/server-interceptors.js') as {
      readonly BaseServerInterceptingCall?: { readonly prototype: FramingCall };
    };
    return module.BaseServerInterceptingCall?.prototype;
  } catch {
    return undefined;
  }
}

function installPassThrough(): boolean {
  const call = serverCallPrototype();
  if (call === undefined) return false;
  const serializeMessage = call.serializeMessage;
  if (typeof serializeMessage !== 'function' || serializeMessage.length !== 1) return false;
  call.serializeMessage = function serializeOrPass(this: unknown, value: unknown): Buffer {
    return Buffer.isBuffer(value) && FRAMED.has(value) ? value : serializeMessage.call(this, value);
  };
  return true;
}

/**
 * `message` as grpc-js would put it on the wire (uncompressed flag, big-endian length, the bytes), for writing the
 * same Buffer to many calls; or `message` itself where grpc-js does its own framing. Returns a new Buffer: callers
 * keep it for as long as they write it (one change, one heartbeat tick).
 */
export function frame(message: Buffer): Buffer {
  if (!framedWrites) return message;
  const framed = Buffer.allocUnsafeSlow(message.byteLength + 5);
  framed.writeUInt8(0, 0);
  framed.writeUInt32BE(message.byteLength, 1);
  message.copy(framed, 5);
  FRAMED.add(framed);
  return framed;
}
