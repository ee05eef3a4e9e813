// Kubernetes label selectors (`app=web,tier!=db`, `env in (prod,stage)`, `!canary`, `release`), parsed and matched
// as apimachinery's labels.Parse does, with its error messages: used to choose which Services endpointd exposes
// (and by the tests' fake API server to filter lists and watches).
import { labelValueProblem } from '../names.ts';

export class LabelSelectorError extends Error {}

export interface LabelSelector {
  matches(labels: Readonly<Record<string, string>>): boolean;
}

export const EVERYTHING: LabelSelector = { matches: () => true };

type LabelOp = 'exists' | '!' | '=' | '!=' | 'in' | 'notin' | 'gt' | 'lt';

interface LabelRequirement {
  key: string;
  op: LabelOp;
  values: string[];
}

// The lexer's special characters: everything else (up to whitespace) is part of an identifier.
const SPECIAL = new Set([',', '(', ')', '=', '!', '<', '>']);

type Token =
  | { t: 'id'; v: string }
  | { t: 'op'; v: '=' | '==' | '!=' | '!' | '<' | '>' | 'in' | 'notin' }
  | { t: '(' | ')' | ',' | 'end' };

function lex(input: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < input.length) {
    const c = input[i] ?? '';
    if (/\s/.test(c)) {
      i++;
    } else if (c === '(' || c === ')' || c === ',') {
      tokens.push({ t: c });
      i++;
    } else if (c === '!' && input[i + 1] === '=') {
      tokens.push({ t: 'op', v: '!=' });
      i += 2;
    } else if (c === '=' && input[i + 1] === '=') {
      tokens.push({ t: 'op', v: '==' });
      i += 2;
    } else if (c === '=' || c === '!' || c === '<' || c === '>') {
      tokens.push({ t: 'op', v: c });
      i++;
    } else {
      let j = i;
      while (j < input.length && !SPECIAL.has(input[j] ?? '') && !/\s/.test(input[j] ?? '')) j++;
      const word = input.slice(i, j);
      tokens.push(word === 'in' || word === 'notin' ? { t: 'op', v: word } : { t: 'id', v: word });
      i = j;
    }
  }
  tokens.push({ t: 'end' });
  return tokens;
}

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

function validateKey(key: string): void {
  const slash = key.indexOf('/');
  const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  const prefixOk = prefix === undefined || (prefix.length <= 253 && DNS_SUBDOMAIN.test(prefix));
  if (!prefixOk || name === '' || labelValueProblem(name) !== undefined) {
    throw new LabelSelectorError(
      `unable to parse requirement: key: Invalid value: "${key}": name part must consist of alphanumeric ` +
        `characters, '-', '_' or '.', and must start and end with an alphanumeric character`,
    );
  }
}

function validateValue(key: string, value: string): void {
  if (labelValueProblem(value) !== undefined) {
    throw new LabelSelectorError(
      `unable to parse requirement: values[0][${key}]: Invalid value: "${value}": a valid label must be an ` +
        `empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an ` +
        `alphanumeric character`,
    );
  }
}

/** Where a key or a value stands, `in` and `notin` are plain words (apimachinery reads those in its Values context). */
function asWord(tok: Token): Token {
  return tok.t === 'op' && (tok.v === 'in' || tok.v === 'notin') ? { t: 'id', v: tok.v } : tok;
}

function describe(tok: Token): string {
  return tok.t === 'id' || tok.t === 'op' ? tok.v : tok.t === 'end' ? 'end of string' : tok.t;
}

export function parseLabelSelector(input: string): LabelSelector {
  if (input.trim() === '') return EVERYTHING;
  const tokens = lex(input);
  let pos = 0;
  const peek = (): Token => tokens[pos] ?? { t: 'end' };
  const next = (): Token => tokens[pos++] ?? { t: 'end' };
  const fail = (found: Token, expected: string): never => {
    throw new LabelSelectorError(
      `couldn't parse the selector string "${input}": found '${describe(found)}', expected: ${expected}`,
    );
  };
  /** After an item of a list: true at `closer` (the list ends), false at ',' (another follows); else it fails. */
  const listEnds = (closer: ')' | 'end', expected: string): boolean => {
    const sep = next();
    if (sep.t === closer) return true;
    if (sep.t !== ',') fail(sep, expected);
    return false;
  };
  const requirements: LabelRequirement[] = [];
  for (;;) {
    let negated = false;
    if (peek().t === 'op' && (peek() as { v: string }).v === '!') {
      negated = true;
      next();
    }
    const keyTok = asWord(next());
    if (keyTok.t !== 'id') fail(keyTok, 'identifier');
    const key = (keyTok as { v: string }).v;
    validateKey(key);
    const after = peek();
    if (after.t === ',' || after.t === 'end') {
      requirements.push({ key, op: negated ? '!' : 'exists', values: [] });
    } else if (negated) {
      fail(after, "',' or 'end of string'");
    } else if (after.t !== 'op') {
      fail(after, "'=', '!=', '==', 'in', 'notin'");
    } else {
      next();
      const op = after.v;
      if (op === 'in' || op === 'notin') {
        const open = next();
        if (open.t !== '(') fail(open, "'('");
        const values: string[] = [];
        for (;;) {
          const tok = asWord(peek());
          if (tok.t === 'id') {
            next();
            validateValue(key, tok.v);
            values.push(tok.v);
          } else if (tok.t === ',' || tok.t === ')') {
            values.push(''); // `k in (a,)` and `k in ()` carry an empty value, as in apimachinery
          } else {
            fail(tok, "identifier, ',' or ')'");
          }
          if (listEnds(')', "',' or ')'")) break;
        }
        requirements.push({ key, op, values });
      } else if (op === '=' || op === '==' || op === '!=') {
        const tok = asWord(peek());
        const value = tok.t === 'id' ? tok.v : '';
        if (tok.t === 'id') next();
        else if (tok.t !== ',' && tok.t !== 'end') fail(tok, 'identifier');
        validateValue(key, value);
        requirements.push({ key, op: op === '!=' ? '!=' : '=', values: [value] });
      } else if (op === '<' || op === '>') {
        const tok = next();
        if (tok.t !== 'id' || !/^-?\d+$/.test(tok.v)) fail(tok, 'an integer');
        requirements.push({ key, op: op === '>' ? 'gt' : 'lt', values: [(tok as { v: string }).v] });
      } else {
        fail(after, "'=', '!=', '==', 'in', 'notin'");
      }
    }
    if (listEnds('end', "',' or 'end of string'")) break;
  }
  return { matches: (labels) => requirements.every((r) => matchLabel(r, labels)) };
}

function matchLabel(r: LabelRequirement, labels: Record<string, string>): boolean {
  const has = Object.hasOwn(labels, r.key);
  const value = labels[r.key];
  switch (r.op) {
    case 'exists':
      return has;
    case '!':
      return !has;
    case '=':
    case 'in':
      return has && r.values.includes(value ?? '');
    case '!=':
    case 'notin':
      return !has || !r.values.includes(value ?? '');
    case 'gt':
    case 'lt': {
      if (!has || !/^-?\d+$/.test(value ?? '')) return false;
      const n = Number(value);
      const bound = Number(r.values[0]);
      return r.op === 'gt' ? n > bound : n < bound;
    }
  }
}
