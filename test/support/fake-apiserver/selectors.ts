// Label and field selectors: parse them as apimachinery does (labels.Parse / fields.ParseSelector) and match objects.
// Label selectors use the fake's own parser (label-selector.ts), not endpointd's.

import { compileLabelSelector, LabelSyntaxError } from './label-selector.ts';
import type { KubeObject } from './types.ts';

export class SelectorError extends Error {}

export interface Selector {
  matches(obj: KubeObject): boolean;
}

export const EVERYTHING: Selector = { matches: () => true };

export function parseLabelSelector(input: string | null): Selector {
  if (input === null) return EVERYTHING;
  try {
    const matches = compileLabelSelector(input);
    return { matches: (obj) => matches(obj.metadata.labels ?? {}) };
  } catch (error) {
    if (error instanceof LabelSyntaxError) {
      throw new SelectorError(`unable to parse requirement: ${error.message}`);
    }
    throw error;
  }
}

const FIELDS = new Set(['metadata.name', 'metadata.namespace']);

function fieldValue(obj: KubeObject, field: string): string {
  return field === 'metadata.name' ? (obj.metadata.name ?? '') : (obj.metadata.namespace ?? '');
}

/** Splits on separators not escaped with a backslash, as fields.ParseSelector does. */
function splitUnescaped(input: string, sep: string): string[] {
  const parts: string[] = [];
  let current = '';
  for (let i = 0; i < input.length; i++) {
    const c = input[i] ?? '';
    if (c === '\\' && i + 1 < input.length) {
      current += c + (input[i + 1] ?? '');
      i++;
    } else if (c === sep) {
      parts.push(current);
      current = '';
    } else {
      current += c;
    }
  }
  parts.push(current);
  return parts;
}

function unescape(value: string): string {
  return value.replace(/\\(.)/g, '$1');
}

export function parseFieldSelector(input: string | null): Selector {
  if (input === null || input.trim() === '') return EVERYTHING;
  const terms: { field: string; negate: boolean; value: string }[] = [];
  for (const raw of splitUnescaped(input, ',')) {
    const term = raw.trim();
    if (term === '') continue;
    const m = /^([^=!]+)(!=|==|=)(.*)$/.exec(term);
    if (m === null) throw new SelectorError(`invalid selector: '${input}'; can't understand '${term}'`);
    const field = (m[1] ?? '').trim();
    if (!FIELDS.has(field)) throw new SelectorError(`field label not supported: ${field}`);
    terms.push({ field, negate: m[2] === '!=', value: unescape(m[3] ?? '') });
  }
  return { matches: (obj) => terms.every((t) => (fieldValue(obj, t.field) === t.value) !== t.negate) };
}
