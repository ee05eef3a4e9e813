// JSON text written as ASCII bytes into one growing buffer: what the plain YAML reader (plain-yaml.ts) writes a document
// into, and what a parse worker hands the main thread a batch of documents in. JSON.parse of such text builds the
// objects on the thread that keeps them, faster than any reader written in JavaScript can, with flat strings of
// their own (never slices of a file's text).

const INITIAL_BYTES = 64 * 1024;

export class JsonBytes {
  /** The bytes written so far are bytes[0, length). */
  bytes: Buffer;
  length = 0;
  readonly #initialBytes: number;

  constructor(initialBytes = INITIAL_BYTES) {
    this.#initialBytes = initialBytes;
    this.bytes = Buffer.allocUnsafe(initialBytes);
  }

  /** Empties it; a buffer grown past `keepBytes` (for a large document) is let go for one of the initial size. */
  clear(keepBytes: number): void {
    this.length = 0;
    if (this.bytes.length > keepBytes) this.bytes = Buffer.allocUnsafe(this.#initialBytes);
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

  /** Appends `text` as it is (already JSON, and ASCII). */
  raw(text: string): void {
    this.reserve(text.length);
    this.length += this.bytes.write(text, this.length, 'latin1');
  }

  /**
   * The bytes from `start` as a string. They are ASCII (what plain-yaml.ts writes, and `raw`'s): read as Latin-1,
   * a plain copy into a one-byte string, where UTF-8 would be decoded (several times slower, measured in a worker).
   */
  text(start = 0): string {
    return this.bytes.toString('latin1', start, this.length);
  }
}
