// JSON text written as bytes into one growing buffer: what the plain YAML reader (plain-yaml.ts) writes a document
// into, and what a parse worker hands the main thread a batch of documents in. JSON.parse of such text builds the
// objects on the thread that keeps them, faster than any reader written in JavaScript can, with flat strings of
// their own (never slices of a file's text).

const INITIAL_BYTES = 64 * 1024;

export class JsonBytes {
  /** The bytes written so far are bytes[0, length). */
  bytes: Buffer;
  length = 0;

  constructor(initialBytes = INITIAL_BYTES) {
    this.bytes = Buffer.allocUnsafe(initialBytes);
  }

  /** Room for `more` bytes past `length`. */
  reserve(more: number): Buffer {
    const needed = this.length + more;
    if (needed > this.bytes.length) {
      const grown = Buffer.allocUnsafe(Math.max(needed, this.bytes.length * 2));
      this.bytes.copy(grown, 0, 0, this.length);
      this.bytes = grown;
    }
    return this.bytes;
  }

  /** Appends `text` as it is (already JSON), in UTF-8. */
  raw(text: string): void {
    this.reserve(text.length * 3);
    this.length += this.bytes.write(text, this.length, 'utf8');
  }

  /** The bytes from `start` as a string (UTF-8; ASCII for what plain-yaml.ts writes). */
  text(start = 0): string {
    return this.bytes.toString('utf8', start, this.length);
  }

  /** The bytes written so far, in a buffer of their own (one that can be transferred to another thread). */
  copy(): ArrayBuffer {
    const out = new ArrayBuffer(this.length);
    new Uint8Array(out).set(this.bytes.subarray(0, this.length));
    return out;
  }
}
