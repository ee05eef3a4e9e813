// The fake API server's own label selectors, written apart from endpointd's (src/policy/label-selector.ts) so that
// a bug in one is not cancelled out by the same bug in the other. It follows apimachinery's labels.Parse
// (pkg/labels/selector.go): a comma-separated list of requirements, each `key`, `!key`, `key=v`, `key==v`,
// `key!=v`, `key in (v,…)`, `key notin (v,…)`, `key>n` or `key<n`; `in` and `notin` are keywords only where an
// operator may stand (a key or a value may be spelled `in`); keys are qualified names, values label values.
// test/label-selector.test.ts checks both implementations against cases taken from apimachinery's tests.

export class LabelSyntaxError extends Error {}

type Requirement =
  | { readonly key: string; readonly kind: 'has' | 'lacks' }
  | { readonly key: string; readonly kind: 'oneOf' | 'noneOf'; readonly values: ReadonlySet<string> }
  | { readonly key: string; readonly kind: 'above' | 'below'; readonly bound: number };

/** A lexical unit: a word (identifier or keyword) or one of the punctuation/operator symbols. */
interface Lexeme {
  readonly word?: string;
  readonly symbol?: '(' | ')' | ',' | '=' | '==' | '!=' | '!' | '<' | '>';
}

const SYMBOLS = ['==', '!=', '(', ')', ',', '=', '!', '<', '>'] as const;
const BREAKS = /[\s(),=!<>]/;

function scan(input: string): Lexeme[] {
  const out: Lexeme[] = [];
  let rest = input;
  while (rest.length > 0) {
    const blank = /^\s+/.exec(rest);
    if (blank !== null) {
      rest = rest.slice(blank[0].length);
      continue;
    }
    const symbol = SYMBOLS.find((s) => rest.startsWith(s));
    if (symbol !== undefined) {
      out.push({ symbol });
      rest = rest.slice(symbol.length);
      continue;
    }
    let end = 0;
    while (end < rest.length && !BREAKS.test(rest.charAt(end))) end++;
    out.push({ word: rest.slice(0, end) });
    rest = rest.slice(end);
  }
  return out;
}

const NAME_PART = /^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

function checkKey(key: string): void {
  const parts = key.split('/');
  const name = parts.length === 2 ? parts[1]! : parts[0]!;
  const prefix = parts.length === 2 ? parts[0]! : undefined;
  const prefixOk =
    prefix === undefined ||
    (prefix.length <= 253 && prefix.split('.').every((label) => DNS_LABEL.test(label)));
  if (parts.length > 2 || !prefixOk || !NAME_PART.test(name)) {
    throw new LabelSyntaxError(`invalid label key "${key}"`);
  }
}

function checkValue(value: string): void {
  if (value !== '' && !NAME_PART.test(value)) throw new LabelSyntaxError(`invalid label value "${value}"`);
}

class Reader {
  readonly #items: Lexeme[];
  #at = 0;
  constructor(items: Lexeme[]) {
    this.#items = items;
  }
  get done(): boolean {
    return this.#at >= this.#items.length;
  }
  peek(): Lexeme | undefined {
    return this.#items[this.#at];
  }
  take(): Lexeme | undefined {
    return this.#items[this.#at++];
  }
  /** The next lexeme, which must be a word (keywords included: in a key or value position they are plain words). */
  word(what: string): string {
    const next = this.take();
    if (next?.word === undefined) throw new LabelSyntaxError(`expected ${what}, found ${describe(next)}`);
    return next.word;
  }
}

function describe(lexeme: Lexeme | undefined): string {
  return lexeme === undefined ? 'the end' : `'${lexeme.word ?? lexeme.symbol}'`;
}

/** `(a, b, )`: the values of a set requirement; an empty item (or `()`) is the empty value, as in apimachinery. */
function readSet(reader: Reader): Set<string> {
  if (reader.take()?.symbol !== '(') throw new LabelSyntaxError("expected '(' after in/notin");
  const values = new Set<string>();
  for (;;) {
    const next = reader.peek();
    let value = '';
    if (next?.word !== undefined) value = reader.word('a value');
    checkValue(value);
    values.add(value);
    const separator = reader.take();
    if (separator?.symbol === ')') return values;
    if (separator?.symbol !== ',')
      throw new LabelSyntaxError(`expected ',' or ')', found ${describe(separator)}`);
  }
}

function readRequirement(reader: Reader): Requirement {
  if (reader.peek()?.symbol === '!') {
    reader.take();
    const key = reader.word('a key after !');
    checkKey(key);
    return { key, kind: 'lacks' };
  }
  const key = reader.word('a key');
  checkKey(key);
  const next = reader.peek();
  if (next === undefined || next.symbol === ',') return { key, kind: 'has' };
  if (next.word === 'in' || next.word === 'notin') {
    reader.take();
    return { key, kind: next.word === 'in' ? 'oneOf' : 'noneOf', values: readSet(reader) };
  }
  reader.take();
  switch (next.symbol) {
    case '=':
    case '==':
    case '!=': {
      const following = reader.peek();
      const value = following?.word !== undefined ? reader.word('a value') : '';
      if (following !== undefined && following.word === undefined && following.symbol !== ',') {
        throw new LabelSyntaxError(`expected a value, found ${describe(following)}`);
      }
      checkValue(value);
      return { key, kind: next.symbol === '!=' ? 'noneOf' : 'oneOf', values: new Set([value]) };
    }
    case '<':
    case '>': {
      const bound = reader.word('an integer');
      if (!/^-?[0-9]+$/.test(bound)) throw new LabelSyntaxError(`expected an integer, found '${bound}'`);
      return { key, kind: next.symbol === '>' ? 'above' : 'below', bound: Number(bound) };
    }
    default:
      throw new LabelSyntaxError(`expected an operator after '${key}', found ${describe(next)}`);
  }
}

function holds(r: Requirement, labels: Readonly<Record<string, string>>): boolean {
  const present = Object.prototype.hasOwnProperty.call(labels, r.key);
  const value = present ? labels[r.key]! : undefined;
  switch (r.kind) {
    case 'has':
      return present;
    case 'lacks':
      return !present;
    case 'oneOf':
      return value !== undefined && r.values.has(value);
    case 'noneOf':
      return value === undefined || !r.values.has(value);
    case 'above':
    case 'below': {
      if (value === undefined || !/^-?[0-9]+$/.test(value)) return false;
      return r.kind === 'above' ? Number(value) > r.bound : Number(value) < r.bound;
    }
  }
}

/** Parses a selector; throws LabelSyntaxError for what the API server answers 400 to. Empty selects everything. */
export function compileLabelSelector(input: string): (labels: Readonly<Record<string, string>>) => boolean {
  const reader = new Reader(scan(input));
  const requirements: Requirement[] = [];
  while (!reader.done) {
    requirements.push(readRequirement(reader));
    if (reader.done) break;
    const separator = reader.take();
    if (separator?.symbol !== ',' || reader.done) {
      throw new LabelSyntaxError(`expected a requirement after ',' or the end, found ${describe(separator)}`);
    }
  }
  return (labels) => requirements.every((r) => holds(r, labels));
}
