// Reads one YAML document written in the plain block style that `kubectl get -o yaml` and js-yaml's dump print
// (block mappings and sequences, one-line plain and simply quoted scalars, `[]` and `{}`) several times faster than
// js-yaml, and declines everything else: the caller then parses the document with js-yaml, which stays the one
// authority on YAML. So this reader is never the one to report an error, and it need not know YAML's corners: at
// the first thing outside its subset (a comment, a tab, an anchor, a tag, a block or multi-line scalar, a flow
// collection that is not empty, a quoted or non-string key, an escape, a duplicate key, a non-ASCII character, a
// number JSON cannot hold...) it answers undefined. Plain scalars are typed by js-yaml's own schema (the one loadAll
// uses), so a value cannot be typed differently on the two paths. test/file-plain-yaml.test.ts holds the two equal
// on generated documents.
//
// It does not build the document's objects: it writes the document as JSON text (bytes, json-bytes.ts), which
// JSON.parse turns into objects several times faster than objects can be built key by key in JavaScript, with flat
// strings of their own. A parse worker writes the documents of a whole batch into the one text it hands over, so
// that the main thread's JSON.parse of it is the only time the objects are built (parse-worker.ts).
import { CORE_SCHEMA } from 'js-yaml';
import { flatString } from './flat-string.ts';
import { JsonBytes } from './json-bytes.ts';

/** Deeper documents are left to js-yaml (it refuses beyond 100 levels). */
const MAX_DEPTH = 64;
/** YAML bounds an implicit key to 1024 characters; longer ones are left to js-yaml to refuse. */
const MAX_KEY = 1000;
/**
 * Anything but printable ASCII and line feeds (tabs, CR, control and non-ASCII characters), and `#` (a comment), is
 * left to js-yaml. One class, not an alternation: several times faster over a document. So what is written is ASCII.
 */
const OUTSIDE_SUBSET = /[^\n\x20-\x22\x24-\x7e]/;
/** Characters that cannot start a plain scalar here (YAML's indicators; `-` is checked apart), by char code. */
const INDICATOR = charTable('?:,[]{}#&*!|>\'"%@`');
/**
 * The first characters for which one of the schema's implicit tags (null, bool, int, float) may match a plain
 * scalar, as js-yaml declares them (a superset of what they match), by char code; undefined when some tag may match
 * anything. A plain scalar starting with any other character is a string, and is not handed to the resolvers.
 */
const TYPED_FIRST = typedFirstCharacters();

class Declined extends Error {}
const DECLINED = new Declined();

/**
 * The document's non-blank lines, as offsets into its text rather than a string and an object per line: where its
 * content starts (after the indentation) and ends (before trailing spaces), and its indentation. Reused from one
 * document to the next (the reader is synchronous and never re-entered); a table grown past INITIAL_LINES for a
 * huge document is let go after it.
 */
const INITIAL_LINES = 4096;
let starts = new Int32Array(INITIAL_LINES);
let ends = new Int32Array(INITIAL_LINES);
let indents = new Int32Array(INITIAL_LINES);

/** Where the document being read is written: `out.bytes`, from `at`; taken from a JsonBytes and given back. */
let out: Buffer = Buffer.alloc(0);
let at = 0;

/** What readPlainDocument writes into before parsing it. */
const scratch = new JsonBytes();

/**
 * The document held in `text` (at most one `---` line, before it), exactly as js-yaml's loadAll would give it;
 * undefined when the text is outside the plain subset (or holds no document), whatever js-yaml would make of it.
 */
export function readPlainDocument(text: string): unknown {
  scratch.length = 0;
  if (!writePlainDocument(text, scratch)) return undefined;
  return JSON.parse(scratch.text());
}

/**
 * Writes the document held in `text` as JSON (ASCII) at the end of `into`: the text whose JSON.parse is what
 * readPlainDocument gives. False, and nothing written, where readPlainDocument is undefined.
 */
export function writePlainDocument(text: string, into: JsonBytes): boolean {
  if (OUTSIDE_SUBSET.test(text)) return false;
  const count = documentLines(text);
  if (count <= 0) return false;
  const writer = new Writer(text, count);
  // About as long as the text, in all (indentation and `- ` out, quotes and commas in); reserved as it is written.
  out = into.reserve(text.length + 64);
  at = into.length;
  try {
    writer.block(0, 0);
    if (!writer.atEnd()) return false;
    into.bytes = out;
    into.length = at;
    return true;
  } catch (error) {
    if (error === DECLINED) return false;
    throw error;
  } finally {
    // A grown buffer is kept by `into` even when declined (the bytes past its length are not its).
    into.bytes = out;
    out = EMPTY;
    if (starts.length > INITIAL_LINES) {
      starts = new Int32Array(INITIAL_LINES);
      ends = new Int32Array(INITIAL_LINES);
      indents = new Int32Array(INITIAL_LINES);
    }
  }
}

const EMPTY = Buffer.alloc(0);

// ---- output -------------------------------------------------------------------------------------------------------

/** Room for `more` bytes at `at`. */
function room(more: number): void {
  if (at + more <= out.length) return;
  const grown = Buffer.allocUnsafe(Math.max(at + more, out.length * 2));
  out.copy(grown, 0, 0, at);
  out = grown;
}

function byte(code: number): void {
  if (at === out.length) room(1);
  out[at++] = code;
}

/** An ASCII string as it is. */
function ascii(part: string): void {
  const length = part.length;
  room(length);
  for (let i = 0; i < length; i++) out[at++] = part.charCodeAt(i);
}

/** A scalar's value as JSON; declined for the numbers JSON has no text for (NaN, the infinities, -0). */
function jsonValue(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'number':
      if (!Number.isFinite(value) || Object.is(value, -0)) throw DECLINED;
      return String(value);
    case 'boolean':
      return value ? 'true' : 'false';
    default:
      if (value === null) return 'null';
      throw DECLINED;
  }
}

/**
 * Fills the line tables with the document's non-blank lines; their count, or -1 for a marker line with content, a
 * second marker, or a directive.
 */
function documentLines(text: string): number {
  let count = 0;
  let start = 0;
  let marker = false;
  const length = text.length;
  while (start <= length) {
    let end = text.indexOf('\n', start);
    if (end === -1) end = length;
    let indent = start;
    while (indent < end && text.charCodeAt(indent) === 0x20) indent++;
    let last = end;
    while (last > indent && text.charCodeAt(last - 1) === 0x20) last--;
    if (last > indent) {
      const first = indent === start ? text.charCodeAt(start) : 0;
      if (
        (first === 0x2d /* - */ || first === 0x2e) /* . */ &&
        last - start >= 3 &&
        text.charCodeAt(start + 1) === first &&
        text.charCodeAt(start + 2) === first
      ) {
        // `---` or `...` at the start of a line: one bare `---` before the content is all this reader takes.
        if (first !== 0x2d || last - start !== 3 || marker || count > 0) return -1;
        marker = true;
      } else if (first === 0x25 /* % */) return -1;
      else {
        if (count === starts.length) growLines();
        starts[count] = indent;
        ends[count] = last;
        indents[count] = indent - start;
        count++;
      }
    }
    start = end + 1;
  }
  return count;
}

function growLines(): void {
  const grown = (table: Int32Array<ArrayBuffer>): Int32Array<ArrayBuffer> => {
    const out = new Int32Array(table.length * 2);
    out.set(table);
    return out;
  };
  starts = grown(starts);
  ends = grown(ends);
  indents = grown(indents);
}

class Writer {
  readonly #text: string;
  readonly #count: number;
  #next = 0;

  constructor(text: string, count: number) {
    this.#text = text;
    this.#count = count;
  }

  atEnd(): boolean {
    return this.#next === this.#count;
  }

  /** The node whose first line is the next one, at `indent` exactly. */
  block(indent: number, depth: number): void {
    if (depth > MAX_DEPTH) throw DECLINED;
    const line = this.#next;
    if (line >= this.#count || indents[line] !== indent) throw DECLINED;
    if (this.#isItem(starts[line] ?? 0, ends[line] ?? 0)) this.#sequence(indent, depth);
    else this.#mapping(indent, depth);
  }

  #mapping(indent: number, depth: number): void {
    const text = this.#text;
    let shape = ROOT_SHAPE;
    // Past MAX_SHAPE_KEYS keys, the keys in a set, to find duplicates (a large labels map).
    let seen: Set<string> | undefined;
    let first = true;
    byte(0x7b /* { */);
    for (let line = this.#next; line < this.#count; line = this.#next) {
      const lineIndent = indents[line] ?? 0;
      const start = starts[line] ?? 0;
      const end = ends[line] ?? 0;
      if (lineIndent < indent || (lineIndent === indent && this.#isItem(start, end))) break;
      if (lineIndent > indent) throw DECLINED;
      if (!first) byte(0x2c /* , */);
      first = false;
      let colon: number;
      const likely = seen === undefined ? likelyAfter(shape, text, start, end) : undefined;
      if (likely !== undefined) {
        // A key that came next before when this shape was met, as plain text: valid, and not a duplicate of the
        // keys before it (the shape was made from them), so neither checked nor cut out of the text again.
        colon = start + likely.key.length;
        shape = likely;
        ascii(likely.json);
      } else {
        colon = keyEnd(text, start, end);
        const plain = text.charCodeAt(start) !== 0x27 && text.charCodeAt(start) !== 0x22;
        const key = mappingKey(text, start, colon);
        if (seen === undefined) {
          // A key given twice: js-yaml refuses the document, and says where.
          if (shape.keys.includes(key)) throw DECLINED;
          const next = shape.keys.length < MAX_SHAPE_KEYS ? shapeAfter(shape, key) : undefined;
          if (next === undefined) {
            seen = new Set([...shape.keys, key]);
            ascii(keyJson(key));
          } else {
            if (plain && !shape.likely.includes(next)) {
              if (shape.likely.length === MAX_LIKELY) shape.likely.shift();
              shape.likely.push(next);
            }
            shape = next;
            ascii(next.json);
          }
        } else {
          if (seen.has(key)) throw DECLINED;
          seen.add(key);
          ascii(keyJson(key));
        }
      }
      this.#next++;
      let rest = colon + 1;
      while (rest < end && text.charCodeAt(rest) === 0x20) rest++;
      if (rest === end) this.#nested(indent, depth, true);
      else this.#inline(rest, end, indent);
    }
    byte(0x7d /* } */);
  }

  #sequence(indent: number, depth: number): void {
    const text = this.#text;
    let first = true;
    byte(0x5b /* [ */);
    for (let line = this.#next; line < this.#count; line = this.#next) {
      const lineIndent = indents[line] ?? 0;
      const start = starts[line] ?? 0;
      const end = ends[line] ?? 0;
      if (lineIndent < indent) break;
      if (lineIndent > indent) throw DECLINED;
      if (!this.#isItem(start, end)) break;
      if (!first) byte(0x2c /* , */);
      first = false;
      let rest = start + 1;
      while (rest < end && text.charCodeAt(rest) === 0x20) rest++;
      if (rest === end) {
        this.#next++;
        this.#nested(indent, depth, false);
      } else if (this.#isItem(rest, end) || startsMapping(text, rest, end)) {
        // `- key: value` or `- - item`: a collection whose indentation is that of its first entry; read it as if
        // that entry were on a line of its own.
        indents[line] = indent + (rest - start);
        starts[line] = rest;
        this.block(indent + (rest - start), depth + 1);
      } else {
        this.#next++;
        this.#inline(rest, end, indent);
      }
    }
    byte(0x5d /* ] */);
  }

  /**
   * The value of a key or item with nothing after its indicator: the block on the next lines, more indented (a
   * mapping's value may also be a sequence at the key's own indentation, as kubectl writes it), or else null.
   */
  #nested(indent: number, depth: number, inMapping: boolean): void {
    const next = this.#next;
    if (next < this.#count) {
      const nextIndent = indents[next] ?? 0;
      if (nextIndent > indent) {
        this.block(nextIndent, depth + 1);
        return;
      }
      if (inMapping && nextIndent === indent && this.#isItem(starts[next] ?? 0, ends[next] ?? 0)) {
        this.#sequence(indent, depth + 1);
        return;
      }
    }
    ascii(EMPTY_SCALAR);
  }

  /** The value at text[start, end) on its key's or item's line; the next line must not be more indented (that would continue it). */
  #inline(start: number, end: number, indent: number): void {
    const next = this.#next;
    if (next < this.#count && (indents[next] ?? 0) > indent) throw DECLINED;
    const text = this.#text;
    const first = text.charCodeAt(start);
    if (end - start === 2) {
      const second = text.charCodeAt(start + 1);
      if (
        (first === 0x5b /* [ */ && second === 0x5d) /* ] */ ||
        (first === 0x7b /* { */ && second === 0x7d)
      ) {
        byte(first);
        byte(second);
        return;
      }
    }
    if (first === 0x27 /* ' */ || first === 0x22 /* " */) quoted(text, start, end);
    else plainScalar(text, start, end);
  }

  /** `- ` or a lone `-` at text[start, end): a sequence item. */
  #isItem(start: number, end: number): boolean {
    const text = this.#text;
    return text.charCodeAt(start) === 0x2d && (end - start === 1 || text.charCodeAt(start + 1) === 0x20);
  }
}

/** What an empty plain scalar (`key:` with nothing under it) is to js-yaml's schema (null), as JSON. */
const EMPTY_SCALAR = jsonValue(CORE_SCHEMA.resolveImplicitScalarTag('').value);

// ---- mappings: their shapes -------------------------------------------------------------------------------------

/** Mappings with more keys have their keys kept in a set instead (a large labels map). */
const MAX_SHAPE_KEYS = 24;
/** Shapes remembered at most (the tree starts over when full). */
const MAX_SHAPES = 2_000;

/**
 * A sequence of keys met at the start of a mapping, in a tree: each shape knows the shapes one key longer, and the
 * few that came last (after a plain key), which the next mapping of the same kind is likely to follow.
 */
interface Shape {
  readonly keys: readonly string[];
  readonly after: Map<string, Shape>;
  /** Shapes one plain key longer met lately (at most MAX_LIKELY), tried first. */
  readonly likely: Shape[];
  /** The last of `keys`. */
  readonly key: string;
  /** `key` as JSON, then `:`. */
  readonly json: string;
}

const newShape = (keys: readonly string[]): Shape => {
  const key = keys.at(-1) ?? '';
  return { keys, after: new Map(), likely: [], key, json: keyJson(key) };
};
let ROOT_SHAPE = newShape([]);
let shapeCount = 0;

/** A key as JSON, then `:`. */
function keyJson(key: string): string {
  return `${JSON.stringify(key)}:`;
}

/** The shape of `shape`'s keys then `key`, made if new (the tree starts over when full). */
function shapeAfter(shape: Shape, key: string): Shape {
  const known = shape.after.get(key);
  if (known !== undefined) return known;
  if (shapeCount >= MAX_SHAPES) {
    // The mapping being read goes on in the old tree; later ones start in the new one.
    ROOT_SHAPE = newShape([]);
    shapeCount = 0;
  }
  shapeCount++;
  // A key is cut from the text of the file it was first met in: kept as a slice, in this tree that outlives the
  // read, it would hold that whole text (megabytes, for a large manifest) for as long as the tree stands.
  const own = flatString(key);
  const next = newShape([...shape.keys, own]);
  shape.after.set(own, next);
  return next;
}

/** Keys tried at once after a shape (kubectl's metadata is followed by one of a few keys, a document by one of two). */
const MAX_LIKELY = 16;

/** The shape of `shape` and the plain key at text[start, end), if it is one of those met lately. */
function likelyAfter(shape: Shape, text: string, start: number, end: number): Shape | undefined {
  const likely = shape.likely;
  for (let i = likely.length - 1; i >= 0; i--) {
    const next = likely[i];
    if (next !== undefined && isKeyAt(text, next.key, start, end)) return next;
  }
  return undefined;
}

/** Whether text[start, end) is a plain `key` then `:` ending the key (followed by a space or the end of the line). */
function isKeyAt(text: string, key: string, start: number, end: number): boolean {
  const colon = start + key.length;
  if (colon >= end || text.charCodeAt(colon) !== 0x3a) return false;
  if (colon + 1 !== end && text.charCodeAt(colon + 1) !== 0x20) return false;
  return sameAt(text, key, start);
}

/**
 * Whether `part` is in `text` at `start`: a loop of char codes, faster than startsWith for the short keys and
 * scalars compared here (which is not inlined, and unwraps a sliced text on every call).
 */
function sameAt(text: string, part: string, start: number): boolean {
  for (let i = part.length - 1; i >= 0; i--)
    if (text.charCodeAt(start + i) !== part.charCodeAt(i)) return false;
  return true;
}

// ---- keys ---------------------------------------------------------------------------------------------------------

/** The position of the `:` that ends the key of text[start, end) (`key: value` or `key:`); declines when there is none. */
function keyEnd(text: string, start: number, end: number): number {
  const first = text.charCodeAt(start);
  if (first === 0x27 || first === 0x22) {
    const colon = quotedKeyEnd(text, start, end, first);
    if (colon === -1) throw DECLINED;
    return colon;
  }
  const limit = Math.min(end, start + MAX_KEY + 1);
  for (let at = start + 1; at < limit; at++) {
    if (text.charCodeAt(at) === 0x3a && (at + 1 === end || text.charCodeAt(at + 1) === 0x20)) return at;
  }
  throw DECLINED;
}

/** After a quoted key at text[start, end) (`'y': …`, as dump quotes keys YAML 1.1 would read as booleans), its `:`; -1 if none. */
function quotedKeyEnd(text: string, start: number, end: number, quote: number): number {
  const mark = quote === 0x27 ? "'" : '"';
  let close = text.indexOf(mark, start + 1);
  // In single quotes, '' stands for a quote: skip the pairs.
  while (quote === 0x27 && close !== -1 && close + 1 < end && text.charCodeAt(close + 1) === 0x27)
    close = text.indexOf("'", close + 2);
  if (close === -1 || close >= end) return -1;
  const colon = close + 1;
  if (colon - start > MAX_KEY || colon >= end || text.charCodeAt(colon) !== 0x3a) return -1;
  if (colon + 1 < end && text.charCodeAt(colon + 1) !== 0x20) return -1;
  return colon;
}

/** Whether an item's text at text[start, end) is a mapping's first entry (`- key: value`) rather than a scalar (`- 'a: b'`). */
function startsMapping(text: string, start: number, end: number): boolean {
  const first = text.charCodeAt(start);
  if (first === 0x27 || first === 0x22) return quotedKeyEnd(text, start, end, first) !== -1;
  for (let at = start; at < end; at++) {
    if (text.charCodeAt(at) === 0x3a && (at + 1 === end || text.charCodeAt(at + 1) === 0x20)) return true;
  }
  return false;
}

/**
 * The key at text[start, colon) as js-yaml files it: a quoted string, or a plain scalar that resolves to a string
 * of the same text; else (`1:`, `true:`, `null:`, which js-yaml turns into other strings, the merge key,
 * `__proto__`) declined.
 */
function mappingKey(text: string, start: number, colon: number): string {
  const first = text.charCodeAt(start);
  if (first === 0x27 || first === 0x22) {
    const raw = text.slice(start, colon);
    const key = first === 0x27 ? singleQuotedText(raw) : doubleQuotedText(raw);
    if (key === '__proto__') throw DECLINED;
    return key;
  }
  if (!startsPlain(text, start, colon) || text.charCodeAt(colon - 1) === 0x20) throw DECLINED;
  const key = text.slice(start, colon);
  if (key === '__proto__' || key === '<<') throw DECLINED;
  if (TYPED_FIRST !== undefined && TYPED_FIRST[first] !== 1) return key;
  if (CORE_SCHEMA.resolveImplicitScalarTag(key).value !== key) throw DECLINED;
  return key;
}

// ---- scalars ------------------------------------------------------------------------------------------------------

/** Whether a plain scalar may start at text[start, end) in block context. */
function startsPlain(text: string, start: number, end: number): boolean {
  if (end <= start) return false;
  const first = text.charCodeAt(start);
  if (INDICATOR[first] === 1) return false;
  if (first === 0x2d /* - */) return end - start > 1 && text.charCodeAt(start + 1) !== 0x20;
  return true;
}

/**
 * Plain scalars that the schema's tags may type (their first character says so: `true`, `8080`, `null`, also a
 * `node-b-0`), met lately (their text up to CACHED_LENGTH characters, and their value as JSON), in a table by a hash
 * of the text: the same text again is found without being cut out of the document or typed again. A slot holds the last text that hashed to it; what is not found is read, and
 * takes the slot.
 */
const CACHE_SLOTS = 8192;
const CACHED_LENGTH = 64;
/**
 * Texts from this length on are, in V8, slices of the text they were cut from (SlicedString::kMinLength): the table
 * keeps a flat copy of such a text, so as not to keep a whole file's text alive with it.
 */
const SLICED_FROM = 13;
const cachedText: Array<string | undefined> = new Array<string | undefined>(CACHE_SLOTS);
const cachedJson: string[] = new Array<string>(CACHE_SLOTS);

/** The plain scalar at text[start, end), typed as js-yaml types it (null, booleans, integers, floats, else a string). */
function plainScalar(text: string, start: number, end: number): void {
  if (
    (TYPED_FIRST !== undefined && TYPED_FIRST[text.charCodeAt(start)] !== 1) ||
    surelyString(text, start, end)
  ) {
    // A string whatever its text (no tag of the schema may match it): checked as it is written, nothing cut out.
    plainString(text, start, end);
    return;
  }
  const length = end - start;
  if (length > CACHED_LENGTH) {
    checkPlain(text, start, end);
    ascii(jsonValue(CORE_SCHEMA.resolveImplicitScalarTag(text.slice(start, end)).value));
    return;
  }
  // Found again: the same text was checked and typed when it took the slot.
  const slot = slotOf(text, start, end);
  const known = cachedText[slot];
  if (known !== undefined && known.length === length && sameAt(text, known, start)) {
    ascii(cachedJson[slot] ?? '');
    return;
  }
  checkPlain(text, start, end);
  const raw = text.slice(start, end);
  const json = jsonValue(CORE_SCHEMA.resolveImplicitScalarTag(raw).value);
  cachedText[slot] = length >= SLICED_FROM ? flatString(raw) : raw;
  cachedJson[slot] = json;
  ascii(json);
}

/**
 * Whether text[start, end) cannot be typed by any tag of the schema though its first character may be: a second
 * `.` (an IP address), or a `-` or `+` past the first character but not after an exponent's `e` (a UID, a name).
 * None of YAML's null, bool, int or float forms has either.
 */
function surelyString(text: string, start: number, end: number): boolean {
  let dots = 0;
  for (let i = start + 1; i < end; i++) {
    const code = text.charCodeAt(i);
    if (code === 0x2e /* . */) {
      if (++dots === 2) return true;
    } else if (code === 0x2d /* - */ || code === 0x2b /* + */) {
      const before = text.charCodeAt(i - 1) | 0x20;
      if (before !== 0x65 /* e */) return true;
    }
  }
  return text.charCodeAt(start) === 0x2e && dots > 0;
}

/**
 * text[start, end), a plain scalar that is a string, as a JSON string (`"` and `\` escaped); declined when it cannot
 * be a plain scalar here (see checkPlain).
 */
function plainString(text: string, start: number, end: number): void {
  const first = text.charCodeAt(start);
  if (
    INDICATOR[first] === 1 ||
    (first === 0x2d /* - */ && (end - start === 1 || text.charCodeAt(start + 1) === 0x20))
  )
    throw DECLINED;
  room(2 * (end - start) + 2);
  const bytes = out;
  let to = at;
  bytes[to++] = 0x22;
  for (let i = start; i < end; i++) {
    const code = text.charCodeAt(i);
    if (code === 0x3a /* : */ && (i + 1 === end || text.charCodeAt(i + 1) === 0x20)) throw DECLINED;
    if (code === 0x22 || code === 0x5c) bytes[to++] = 0x5c;
    bytes[to++] = code;
  }
  bytes[to++] = 0x22;
  at = to;
}

/**
 * The table slot of text[start, end) (non-empty): a hash of its length and of a few characters at both ends and in
 * the middle, where strings of a set differ (a zone's letter, a counter's digits), not of every one.
 */
function slotOf(text: string, start: number, end: number): number {
  const length = end - start;
  let hash = Math.imul(length, 0x9e3779b1);
  hash = Math.imul(hash ^ text.charCodeAt(start), 0x01000193);
  hash = Math.imul(hash ^ text.charCodeAt(start + (length >> 1)), 0x01000193);
  hash = Math.imul(hash ^ text.charCodeAt(end - 1), 0x01000193);
  if (length > 2) {
    hash = Math.imul(hash ^ text.charCodeAt(start + 1), 0x01000193);
    hash = Math.imul(hash ^ text.charCodeAt(end - 2), 0x01000193);
    hash = Math.imul(hash ^ text.charCodeAt(end - 3), 0x01000193);
  }
  return (hash ^ (hash >>> 16)) & (CACHE_SLOTS - 1);
}

/** Declines text[start, end) as a plain scalar here when it starts with an indicator, or holds `: ` or ends with `:` (a mapping, which js-yaml refuses there). */
function checkPlain(text: string, start: number, end: number): void {
  if (!startsPlain(text, start, end)) throw DECLINED;
  for (let at = start; at < end; at++) {
    if (text.charCodeAt(at) === 0x3a && (at + 1 === end || text.charCodeAt(at + 1) === 0x20)) throw DECLINED;
  }
}

function typedFirstCharacters(): Uint8Array | undefined {
  const out = new Uint8Array(128);
  for (const tag of CORE_SCHEMA.tags) {
    if (tag.nodeKind !== 'scalar' || !tag.implicit) continue;
    if (tag.implicitFirstChars === null) return undefined;
    // '' (the empty scalar) is always resolved; non-ASCII never reaches the resolvers here (OUTSIDE_SUBSET).
    for (const first of tag.implicitFirstChars) {
      const code = first.charCodeAt(0);
      if (first.length === 1 && code < 128) out[code] = 1;
    }
  }
  return out;
}

/** A table of 128 ASCII codes, 1 for those in `characters`. */
function charTable(characters: string): Uint8Array {
  const out = new Uint8Array(128);
  for (let i = 0; i < characters.length; i++) out[characters.charCodeAt(i)] = 1;
  return out;
}

/** `'…'` on one line, `''` standing for a quote; anything else (a quote inside, text after it) is declined. */
function singleQuotedText(text: string): string {
  if (text.length < 2 || !text.endsWith("'")) throw DECLINED;
  const inner = text.slice(1, -1);
  if (!inner.includes("'")) return inner;
  if (inner.replaceAll("''", '').includes("'")) throw DECLINED;
  return inner.replaceAll("''", "'");
}

/** `"…"` on one line without escapes; with a backslash or a quote inside it is declined. */
function doubleQuotedText(text: string): string {
  if (text.length < 2 || !text.endsWith('"')) throw DECLINED;
  const inner = text.slice(1, -1);
  if (inner.includes('"') || inner.includes('\\')) throw DECLINED;
  return inner;
}

/** The quoted scalar at text[start, end), as a JSON string. */
function quoted(text: string, start: number, end: number): void {
  const raw = text.slice(start, end);
  ascii(JSON.stringify(text.charCodeAt(start) === 0x27 ? singleQuotedText(raw) : doubleQuotedText(raw)));
}
