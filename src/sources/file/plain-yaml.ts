// Reads one YAML document written in the plain block style that `kubectl get -o yaml` and js-yaml's dump print
// (block mappings and sequences, one-line plain and simply quoted scalars, `[]` and `{}`) several times faster than
// js-yaml, and declines everything else: the caller then parses the document with js-yaml, which stays the one
// authority on YAML. So this reader is never the one to report an error, and it need not know YAML's corners: at
// the first thing outside its subset (a comment, a tab, an anchor, a tag, a block or multi-line scalar, a flow
// collection that is not empty, a quoted or non-string key, an escape, a duplicate key, a non-ASCII character...)
// it answers undefined. Plain scalars are typed by js-yaml's own schema (the one loadAll uses), so a value cannot be
// typed differently on the two paths. test/file-plain-yaml.test.ts holds the two equal on generated documents.
import { isMainThread } from 'node:worker_threads';
import { CORE_SCHEMA } from 'js-yaml';
import { flatString } from './flat-string.ts';

/**
 * Strings from this length on are, in V8, slices of the text they were cut from (SlicedString::kMinLength): one
 * kept in a served object keeps the whole file's text alive with it. On the main thread, where the values are
 * kept, such strings are copied (ownString), and a text met again is shared (the scalar table, plainScalar); a
 * worker turns its values into JSON text at once, which copies them.
 */
const SLICED_FROM = 13;
const OWN_STRINGS = isMainThread;
/** Deeper documents are left to js-yaml (it refuses beyond 100 levels). */
const MAX_DEPTH = 64;
/** YAML bounds an implicit key to 1024 characters; longer ones are left to js-yaml to refuse. */
const MAX_KEY = 1000;
/**
 * Anything but printable ASCII and line feeds (tabs, CR, control and non-ASCII characters), and `#` (a comment), is
 * left to js-yaml. One class, not an alternation: several times faster over a document.
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

/**
 * The values of the mappings being read, from the outermost to the innermost: a mapping pushes its values above
 * those of the mappings it is in, builds itself from them and takes them off, so no mapping needs an array of its own.
 * `top` is where the next value goes; what lies above it is stale, and cleared after each document.
 */
const pending: unknown[] = [];
let top = 0;

/**
 * The document held in `text` (at most one `---` line, before it), exactly as js-yaml's loadAll would give it;
 * undefined when the text is outside the plain subset (or holds no document), whatever js-yaml would make of it.
 */
export function readPlainDocument(text: string): unknown {
  if (OUTSIDE_SUBSET.test(text)) return undefined;
  const count = documentLines(text);
  if (count <= 0) return undefined;
  const reader = new Reader(text, count);
  try {
    const value = reader.block(0, 0);
    return reader.atEnd() ? value : undefined;
  } catch (error) {
    if (error === DECLINED) return undefined;
    throw error;
  } finally {
    pending.fill(undefined);
    top = 0;
    if (starts.length > INITIAL_LINES) {
      starts = new Int32Array(INITIAL_LINES);
      ends = new Int32Array(INITIAL_LINES);
      indents = new Int32Array(INITIAL_LINES);
    }
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

class Reader {
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
  block(indent: number, depth: number): unknown {
    if (depth > MAX_DEPTH) throw DECLINED;
    const line = this.#next;
    if (line >= this.#count || indents[line] !== indent) throw DECLINED;
    return this.#isItem(starts[line] ?? 0, ends[line] ?? 0)
      ? this.#sequence(indent, depth)
      : this.#mapping(indent, depth);
  }

  #mapping(indent: number, depth: number): Record<string, unknown> {
    const text = this.#text;
    const base = top;
    let shape = ROOT_SHAPE;
    // Past MAX_SHAPE_KEYS keys, the keys in a list and duplicates looked for in a set (a large labels map).
    let longKeys: string[] | undefined;
    let seen: Set<string> | undefined;
    for (let line = this.#next; line < this.#count; line = this.#next) {
      const lineIndent = indents[line] ?? 0;
      const start = starts[line] ?? 0;
      const end = ends[line] ?? 0;
      if (lineIndent < indent || (lineIndent === indent && this.#isItem(start, end))) break;
      if (lineIndent > indent) throw DECLINED;
      let colon: number;
      const likely = longKeys === undefined ? likelyAfter(shape, text, start, end) : undefined;
      if (likely !== undefined) {
        // A key that came next before when this shape was met, as plain text: valid, and not a duplicate of the
        // keys before it (the shape was made from them), so neither checked nor cut out of the text again.
        colon = start + likely.key.length;
        shape = likely;
      } else {
        colon = keyEnd(text, start, end);
        const plain = text.charCodeAt(start) !== 0x27 && text.charCodeAt(start) !== 0x22;
        const key = mappingKey(text, start, colon);
        if (longKeys === undefined || seen === undefined) {
          // A key given twice: js-yaml refuses the document, and says where.
          if (shape.keys.includes(key)) throw DECLINED;
          const next = shape.keys.length < MAX_SHAPE_KEYS ? shapeAfter(shape, key) : undefined;
          if (next === undefined) {
            longKeys = [...shape.keys, key];
            seen = new Set(longKeys);
          } else {
            if (plain && !shape.likely.includes(next)) {
              if (shape.likely.length === MAX_LIKELY) shape.likely.shift();
              shape.likely.push(next);
            }
            shape = next;
          }
        } else {
          if (seen.has(key)) throw DECLINED;
          seen.add(key);
          longKeys.push(key);
        }
      }
      this.#next++;
      let rest = colon + 1;
      while (rest < end && text.charCodeAt(rest) === 0x20) rest++;
      const value = rest === end ? this.#nested(indent, depth, true) : this.#inline(rest, end, indent);
      pending[top++] = value;
    }
    const out = longKeys === undefined ? built(shape, base) : keyed(longKeys, base);
    top = base;
    return out;
  }

  #sequence(indent: number, depth: number): unknown[] {
    const text = this.#text;
    const out: unknown[] = [];
    for (let line = this.#next; line < this.#count; line = this.#next) {
      const lineIndent = indents[line] ?? 0;
      const start = starts[line] ?? 0;
      const end = ends[line] ?? 0;
      if (lineIndent < indent) break;
      if (lineIndent > indent) throw DECLINED;
      if (!this.#isItem(start, end)) break;
      let rest = start + 1;
      while (rest < end && text.charCodeAt(rest) === 0x20) rest++;
      if (rest === end) {
        this.#next++;
        out.push(this.#nested(indent, depth, false));
      } else if (this.#isItem(rest, end) || startsMapping(text, rest, end)) {
        // `- key: value` or `- - item`: a collection whose indentation is that of its first entry; read it as if
        // that entry were on a line of its own.
        indents[line] = indent + (rest - start);
        starts[line] = rest;
        out.push(this.block(indent + (rest - start), depth + 1));
      } else {
        this.#next++;
        out.push(this.#inline(rest, end, indent));
      }
    }
    return out;
  }

  /**
   * The value of a key or item with nothing after its indicator: the block on the next lines, more indented (a
   * mapping's value may also be a sequence at the key's own indentation, as kubectl writes it), or else null.
   */
  #nested(indent: number, depth: number, inMapping: boolean): unknown {
    const next = this.#next;
    if (next < this.#count) {
      const nextIndent = indents[next] ?? 0;
      if (nextIndent > indent) return this.block(nextIndent, depth + 1);
      if (inMapping && nextIndent === indent && this.#isItem(starts[next] ?? 0, ends[next] ?? 0))
        return this.#sequence(indent, depth + 1);
    }
    return EMPTY_SCALAR;
  }

  /** The value at text[start, end) on its key's or item's line; the next line must not be more indented (that would continue it). */
  #inline(start: number, end: number, indent: number): unknown {
    const next = this.#next;
    if (next < this.#count && (indents[next] ?? 0) > indent) throw DECLINED;
    const text = this.#text;
    const first = text.charCodeAt(start);
    if (end - start === 2) {
      const second = text.charCodeAt(start + 1);
      if (first === 0x5b /* [ */ && second === 0x5d /* ] */) return [];
      if (first === 0x7b /* { */ && second === 0x7d /* } */) return {};
    }
    if (first === 0x27 /* ' */) return singleQuoted(text.slice(start, end));
    if (first === 0x22 /* " */) return doubleQuoted(text.slice(start, end));
    return plainScalar(text, start, end);
  }

  /** `- ` or a lone `-` at text[start, end): a sequence item. */
  #isItem(start: number, end: number): boolean {
    const text = this.#text;
    return text.charCodeAt(start) === 0x2d && (end - start === 1 || text.charCodeAt(start + 1) === 0x20);
  }
}

/** null: what an empty plain scalar (`key:` with nothing under it) is to js-yaml's schema. */
const EMPTY_SCALAR = CORE_SCHEMA.resolveImplicitScalarTag('').value;

// ---- mappings: their shapes -------------------------------------------------------------------------------------

/** Mappings with more keys are built a key at a time (a constructor per shape would not pay). */
const MAX_SHAPE_KEYS = 24;
/** A shape (its keys in order) met this often gets a constructor of its own. */
const SHAPE_COMPILE_AFTER = 16;
/** Shapes remembered at most (the tree starts over when full). */
const MAX_SHAPES = 2_000;
type Construct = (values: readonly unknown[], base: number) => Record<string, unknown>;

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
  /** Mappings of exactly these keys met so far, until they get `construct`. */
  met: number;
  construct: Construct | undefined;
}

const newShape = (keys: readonly string[]): Shape => ({
  keys,
  after: new Map(),
  likely: [],
  key: keys.at(-1) ?? '',
  met: 0,
  construct: undefined,
});
let ROOT_SHAPE = newShape([]);
let shapeCount = 0;

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
  const next = newShape([...shape.keys, key]);
  shape.after.set(key, next);
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

/**
 * The mapping of `shape`'s keys to the values on `pending` from `base`, as assigning them one at a time in order
 * would make it. A shape met often (the keys of kubectl's endpoints, ports, conditions) is built by a function made
 * for it: an object literal, which V8 creates with its final layout at once, where keyed assignment of each key (a
 * megamorphic store) is several times slower. Keys are JSON strings in that literal; `__proto__`, which a literal
 * would take for the prototype, never reaches here (mappingKey declines it).
 */
function built(shape: Shape, base: number): Record<string, unknown> {
  if (shape.construct !== undefined) return shape.construct(pending, base);
  if (++shape.met >= SHAPE_COMPILE_AFTER) {
    const literal = shape.keys.map((key, i) => `${JSON.stringify(key)}: v[b + ${i}]`).join(', ');
    // eslint-disable-next-line @typescript-eslint/no-implied-eval -- a literal of JSON-quoted keys, no input code
    shape.construct = new Function('v', 'b', `return { ${literal} };`) as Construct;
    return shape.construct(pending, base);
  }
  return keyed(shape.keys, base);
}

function keyed(keys: readonly string[], base: number): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (let i = 0; i < keys.length; i++) out[keys[i] ?? ''] = pending[base + i];
  return out;
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
    const quoted = first === 0x27 ? singleQuoted(raw) : doubleQuoted(raw);
    if (quoted === '__proto__') throw DECLINED;
    return quoted;
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
 * Plain scalars met lately (their text up to CACHED_LENGTH characters, and their value), in a table by a hash of
 * the text: the same text again (`TCP`, `true`, `8080`, a namespace, a zone) is found without being cut out of the
 * document, typed or copied again, and every value of that text is the same string, as JSON.parse shares its short
 * strings. A slot holds the last text that hashed to it; what is not found is read, and takes the slot.
 */
const CACHE_SLOTS = 8192;
const CACHED_LENGTH = 64;
const cachedText: Array<string | undefined> = new Array<string | undefined>(CACHE_SLOTS);
const cachedValue: unknown[] = new Array<unknown>(CACHE_SLOTS);

/** The plain scalar at text[start, end), typed as js-yaml types it (null, booleans, integers, floats, else a string). */
function plainScalar(text: string, start: number, end: number): unknown {
  const length = end - start;
  if (length > CACHED_LENGTH) return ownString(typedScalar(checkedPlain(text, start, end)));
  // Found again: the same text was checked and typed when it took the slot.
  const slot = slotOf(text, start, end);
  const known = cachedText[slot];
  if (known !== undefined && known.length === length && sameAt(text, known, start)) return cachedValue[slot];
  const raw = checkedPlain(text, start, end);
  const value = typedScalar(raw);
  // What the table keeps is never a slice (it would keep the document's text alive); a worker, whose values are
  // turned into JSON text at once, keeps its long strings out of it rather than copy each.
  const long = length >= SLICED_FROM;
  if (typeof value === 'string') {
    if (long && !OWN_STRINGS) return value;
    const own = long ? flatString(value) : value;
    cachedText[slot] = own;
    cachedValue[slot] = own;
    return own;
  }
  cachedText[slot] = long ? flatString(raw) : raw;
  cachedValue[slot] = value;
  return value;
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

/** text[start, end) if it may be a plain scalar here: declined when it starts with an indicator, or holds `: ` or ends with `:` (a mapping, which js-yaml refuses there). */
function checkedPlain(text: string, start: number, end: number): string {
  if (!startsPlain(text, start, end)) throw DECLINED;
  for (let at = start; at < end; at++) {
    if (text.charCodeAt(at) === 0x3a && (at + 1 === end || text.charCodeAt(at + 1) === 0x20)) throw DECLINED;
  }
  return text.slice(start, end);
}

/** A plain scalar's value by js-yaml's schema; only the first characters its implicit tags may match are looked up. */
function typedScalar(text: string): unknown {
  if (TYPED_FIRST !== undefined && TYPED_FIRST[text.charCodeAt(0)] !== 1) return text;
  return CORE_SCHEMA.resolveImplicitScalarTag(text).value;
}

/** `text` in a string of its own rather than a slice of the document's text, where values are kept (see SLICED_FROM). */
function ownString<T>(text: T): T {
  if (!OWN_STRINGS || typeof text !== 'string' || text.length < SLICED_FROM) return text;
  // A flat copy (measured: 3x faster than a JSON.parse round trip).
  return flatString(text) as T;
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
function singleQuoted(text: string): string {
  if (text.length < 2 || !text.endsWith("'")) throw DECLINED;
  const inner = text.slice(1, -1);
  if (!inner.includes("'")) return ownString(inner);
  if (inner.replaceAll("''", '').includes("'")) throw DECLINED;
  return ownString(inner.replaceAll("''", "'"));
}

/** `"…"` on one line without escapes; with a backslash or a quote inside it is declined. */
function doubleQuoted(text: string): string {
  if (text.length < 2 || !text.endsWith('"')) throw DECLINED;
  const inner = text.slice(1, -1);
  if (inner.includes('"') || inner.includes('\\')) throw DECLINED;
  return ownString(inner);
}
