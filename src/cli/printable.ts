// What the command line writes to a terminal: text from the server (names, addresses, problem details) passes
// through here, so that a hostile server, or anything between it and the client on plain HTTP, cannot make the
// terminal act (retitle it, clear it, hide lines, write the clipboard) with control characters in a name.
import { Writable } from 'node:stream';

/** C0 controls but tab and newline (the output's own layout), DEL and the C1 controls (0x9b is a CSI too). */
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;

/**
 * `text` with each control character written as its `\uXXXX` escape: visible, and inside a JSON string (the only
 * place -o json can hold one) the very same character.
 */
export function printable(text: string): string {
  return text.replace(CONTROL, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** A stream writing to `target` what it is given, made printable; synchronous, as the target's writes are. */
export function printableStream(target: NodeJS.WritableStream): NodeJS.WritableStream {
  return new Writable({
    decodeStrings: false,
    write(chunk: string | Buffer, _encoding, done) {
      target.write(printable(typeof chunk === 'string' ? chunk : chunk.toString('utf8')));
      done();
    },
  });
}
