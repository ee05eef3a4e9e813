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
import { boundedInterner } from '../../maps.ts';
import { flatString } from './flat-string.ts';

/**
 * Strings from this length on are, in V8, slices of the text they were cut from (SlicedString::kMinLength): one
 * kept in a served object keeps the whole file's text alive with it. On the main thread, where the values are
 * kept, such strings are copied, and shorter ones shared (ownString); a worker turns its values into JSON text at
 * once, which copies them.
 */
const SLICED_FROM = 13;
const OWN_STRINGS = isMainThread;
/** Deeper documents are left to js-yaml (it refuses beyond 100 levels). */
const MAX_DEPTH = 64;
/** YAML bounds an implicit key to 1024 characters; longer ones are left to js-yaml to refuse. */
const MAX_KEY = 1000;
/** Anything but printable ASCII and line feeds (tabs, CR, control and non-ASCII characters) is left to js-yaml. */
const OUTSIDE_SUBSET = /[^\x20-\x7e\n]|#/;
/** Characters that cannot start a plain scalar here (YAML's indicators; `-` is checked apart), by char code. */
const INDICATOR = charTable('?:,[]{}#&*!|>\'"%@`');
/**
 * The first characters for which one of the schema's implicit tags (null, bool, int, float) may match a plain
 * scalar, as js-yaml declares them (a superset of what they match), by char code; undefined when some tag may match
 * anything. A plain scalar starting with any other character is a string, and is not handed to the resolvers.
 */
const TYPED_FIRST = typedFirstCharacters();

interface Line {
  indent: number;
  /** The line without its indentation and trailing spaces. */
  text: string;
}

class Declined extends Error {}
const DECLINED = new Declined();

/**
 * The document held in `text` (at most one `---` line, before it), exactly as js-yaml's loadAll would give it;
 * undefined when the text is outside the plain subset (or holds no document), whatever js-yaml would make of it.
 */
export function readPlainDocument(text: string): unknown {
  if (OUTSIDE_SUBSET.test(text)) return undefined;
  const lines = documentLines(text);
  if (lines === undefined || lines.length === 0) return undefined;
  const reader = new Reader(lines);
  try {
    const value = reader.block(0, 0);
    return reader.atEnd() ? value : undefined;
  } catch (error) {
    if (error === DECLINED) return undefined;
    throw error;
  }
}

/** The document's non-blank lines; undefined for a marker line with content, a second marker, or a directive. */
function documentLines(text: string): Line[] | undefined {
  const lines: Line[] = [];
  let start = 0;
  let marker = false;
  while (start <= text.length) {
    let end = text.indexOf('\n', start);
    if (end === -1) end = text.length;
    let indent = start;
    while (indent < end && text.charCodeAt(indent) === 0x20) indent++;
    let last = end;
    while (last > indent && text.charCodeAt(last - 1) === 0x20) last--;
    if (last > indent) {
      const content = text.slice(indent, last);
      if (indent === start && (content.startsWith('---') || content.startsWith('...'))) {
        if (content !== '---' || marker || lines.length > 0) return undefined;
        marker = true;
      } else if (indent === start && content.startsWith('%')) return undefined;
      else lines.push({ indent: indent - start, text: content });
    }
    start = end + 1;
  }
  return lines;
}

class Reader {
  readonly #lines: Line[];
  #next = 0;

  constructor(lines: Line[]) {
    this.#lines = lines;
  }

  atEnd(): boolean {
    return this.#next === this.#lines.length;
  }

  /** The node whose first line is the next one, at `indent` exactly. */
  block(indent: number, depth: number): unknown {
    if (depth > MAX_DEPTH) throw DECLINED;
    const line = this.#lines[this.#next];
    if (line === undefined || line.indent !== indent) throw DECLINED;
    return isItem(line.text) ? this.#sequence(indent, depth) : this.#mapping(indent, depth);
  }

  #mapping(indent: number, depth: number): Record<string, unknown> {
    const keys: string[] = [];
    const values: unknown[] = [];
    // Duplicates are looked for in the list while it is short, in a set once it is long (a large labels map).
    let seen: Set<string> | undefined;
    for (let line = this.#lines[this.#next]; line !== undefined; line = this.#lines[this.#next]) {
      if (line.indent < indent || (line.indent === indent && isItem(line.text))) break;
      if (line.indent > indent) throw DECLINED;
      const colon = keyEnd(line.text);
      const key = mappingKey(line.text.slice(0, colon));
      // A key given twice: js-yaml refuses the document, and says where.
      if (seen === undefined ? keys.includes(key) : seen.has(key)) throw DECLINED;
      keys.push(key);
      if (seen !== undefined) seen.add(key);
      else if (keys.length > MAX_SHAPE_KEYS) seen = new Set(keys);
      this.#next++;
      const rest = line.text.slice(colon + 1).trimStart();
      values.push(rest === '' ? this.#nested(indent, depth, true) : this.#inline(rest, indent));
    }
    return built(keys, values);
  }

  #sequence(indent: number, depth: number): unknown[] {
    const out: unknown[] = [];
    for (let line = this.#lines[this.#next]; line !== undefined; line = this.#lines[this.#next]) {
      if (line.indent < indent) break;
      if (line.indent > indent) throw DECLINED;
      if (!isItem(line.text)) break;
      const rest = line.text.slice(1).trimStart();
      if (rest === '') {
        this.#next++;
        out.push(this.#nested(indent, depth, false));
      } else if (isItem(rest) || startsMapping(rest)) {
        // `- key: value` or `- - item`: a collection whose indentation is that of its first entry; read it as if
        // that entry were on a line of its own.
        line.indent = indent + (line.text.length - rest.length);
        line.text = rest;
        out.push(this.block(line.indent, depth + 1));
      } else {
        this.#next++;
        out.push(this.#inline(rest, indent));
      }
    }
    return out;
  }

  /**
   * The value of a key or item with nothing after its indicator: the block on the next lines, more indented (a
   * mapping's value may also be a sequence at the key's own indentation, as kubectl writes it), or else null.
   */
  #nested(indent: number, depth: number, inMapping: boolean): unknown {
    const next = this.#lines[this.#next];
    if (next !== undefined && next.indent > indent) return this.block(next.indent, depth + 1);
    if (inMapping && next !== undefined && next.indent === indent && isItem(next.text))
      return this.#sequence(indent, depth + 1);
    return scalar('');
  }

  /** A value on its key's or item's line; the next line must not be more indented (that would continue it). */
  #inline(text: string, indent: number): unknown {
    const next = this.#lines[this.#next];
    if (next !== undefined && next.indent > indent) throw DECLINED;
    if (text === '[]') return [];
    if (text === '{}') return {};
    const first = text.charCodeAt(0);
    if (first === 0x27 /* ' */) return singleQuoted(text);
    if (first === 0x22 /* " */) return doubleQuoted(text);
    if (!startsPlain(text) || text.endsWith(':') || text.includes(': ')) throw DECLINED;
    return scalar(text);
  }
}

/** Mappings with more keys are built a key at a time (a constructor per shape would not pay). */
const MAX_SHAPE_KEYS = 24;
/** A shape (its keys in order) met this often gets a constructor of its own. */
const SHAPE_COMPILE_AFTER = 16;
/** Shapes remembered at most (the table starts over when full). */
const MAX_SHAPES = 2_000;
type Construct = (values: readonly unknown[]) => Record<string, unknown>;
let shapes = new Map<string, Construct | number>();

/**
 * The mapping of `keys` to `values`, as assigning them one at a time in order would make it. A shape met often
 * (the keys of kubectl's endpoints, ports, conditions) is built by a function made for it: an object literal, which
 * V8 creates with its final layout at once, where keyed assignment of each key (a megamorphic store) is several
 * times slower. Keys are JSON strings in that literal; `__proto__`, which a literal would take for the prototype,
 * never reaches here (mappingKey declines it).
 */
function built(keys: readonly string[], values: readonly unknown[]): Record<string, unknown> {
  if (keys.length > 0 && keys.length <= MAX_SHAPE_KEYS) {
    const shape = keys.join('\n');
    const known = shapes.get(shape);
    if (typeof known === 'function') return known(values);
    const seen = (known ?? 0) + 1;
    if (seen >= SHAPE_COMPILE_AFTER) {
      const literal = keys.map((key, i) => `${JSON.stringify(key)}: v[${i}]`).join(', ');
      // eslint-disable-next-line @typescript-eslint/no-implied-eval -- a literal of JSON-quoted keys, no input code
      const construct = new Function('v', `return { ${literal} };`) as Construct;
      if (shapes.size >= MAX_SHAPES) shapes = new Map();
      shapes.set(shape, construct);
      return construct(values);
    }
    if (shapes.size >= MAX_SHAPES) shapes = new Map();
    shapes.set(shape, seen);
  }
  const out: Record<string, unknown> = {};
  keys.forEach((key, i) => (out[key] = values[i]));
  return out;
}

/** `- ` or a lone `-`: a sequence item. */
function isItem(text: string): boolean {
  return text.charCodeAt(0) === 0x2d && (text.length === 1 || text.charCodeAt(1) === 0x20);
}

/** The position of the `:` that ends the key of `text` (`key: value` or `key:`); declines when there is none. */
function keyEnd(text: string): number {
  const first = text.charCodeAt(0);
  if (first === 0x27 || first === 0x22) return quotedKeyEnd(text, first);
  const spaced = text.indexOf(': ');
  const colon = spaced === -1 ? (text.endsWith(':') ? text.length - 1 : -1) : spaced;
  if (colon <= 0 || colon > MAX_KEY) throw DECLINED;
  return colon;
}

/** After a quoted key (`'y': …`, as dump quotes keys YAML 1.1 would read as booleans), its `:`. */
function quotedKeyEnd(text: string, quote: number): number {
  let close = text.indexOf(String.fromCharCode(quote), 1);
  // In single quotes, '' stands for a quote: skip the pairs.
  while (quote === 0x27 && close !== -1 && text.charCodeAt(close + 1) === 0x27)
    close = text.indexOf("'", close + 2);
  const colon = close + 1;
  if (close === -1 || colon > MAX_KEY || text.charCodeAt(colon) !== 0x3a) throw DECLINED;
  if (colon + 1 < text.length && text.charCodeAt(colon + 1) !== 0x20) throw DECLINED;
  return colon;
}

/** Whether an item's text is a mapping's first entry (`- key: value`) rather than a scalar (`- 'a: b'`). */
function startsMapping(text: string): boolean {
  const first = text.charCodeAt(0);
  if (first !== 0x27 && first !== 0x22) return text.includes(': ') || text.endsWith(':');
  try {
    quotedKeyEnd(text, first);
    return true;
  } catch {
    return false;
  }
}

/**
 * A key as js-yaml files it: a quoted string, or a plain scalar that resolves to a string of the same text; else
 * (`1:`, `true:`, `null:`, which js-yaml turns into other strings, the merge key, `__proto__`) declined.
 */
function mappingKey(text: string): string {
  const first = text.charCodeAt(0);
  const quoted = first === 0x27 ? singleQuoted(text) : first === 0x22 ? doubleQuoted(text) : undefined;
  if (quoted !== undefined) {
    if (quoted === '__proto__') throw DECLINED;
    return quoted;
  }
  if (!startsPlain(text) || text.endsWith(' ') || text === '__proto__' || text === '<<') throw DECLINED;
  if (typed(text) !== text) throw DECLINED;
  return text;
}

/** Whether a plain scalar may start with `text`'s first character in block context. */
function startsPlain(text: string): boolean {
  if (text.length === 0) return false;
  const first = text.charCodeAt(0);
  if (INDICATOR[first] === 1) return false;
  if (first === 0x2d /* - */) return text.length > 1 && text.charCodeAt(1) !== 0x20;
  return true;
}

/** A plain scalar typed as js-yaml types it (null, booleans, integers, floats, else a string). */
function scalar(text: string): unknown {
  const value = typed(text);
  return typeof value === 'string' ? ownString(value) : value;
}

/** `scalar` without the copy: a key is interned by V8 anyway, and mappingKey only compares it. */
function typed(text: string): unknown {
  if (TYPED_FIRST !== undefined && text.length > 0 && TYPED_FIRST[text.charCodeAt(0)] !== 1) return text;
  return CORE_SCHEMA.resolveImplicitScalarTag(text).value;
}

/** `text` in a string of its own rather than a slice of the document's text, where values are kept (see SLICED_FROM). */
function ownString(text: string): string {
  if (!OWN_STRINGS) return text;
  if (text.length < SLICED_FROM) return shortString(text);
  // A flat copy (measured: 3x faster than a JSON.parse round trip).
  return flatString(text);
}

/**
 * One copy of a short string that repeats across documents (`TCP`, a namespace, `ClusterIP`), as JSON.parse gives
 * it (V8 interns its short strings); a copy per value would be kept with every served object. Bounded.
 */
const shortString = boundedInterner(10_000);

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
