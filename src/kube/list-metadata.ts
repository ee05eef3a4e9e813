// The `metadata` of a Kubernetes list read off the start of its JSON body, before the rest has arrived. The API
// server writes a list as kind, apiVersion, metadata, items — in that order (Go encodes struct fields in order, and
// the streaming list encoder keeps it) — so the continue token of a page is known from its first bytes, and the
// next page can be asked for while this one is still on the wire. Only top-level keys are looked at: a `continue`
// inside an item never counts. A body that does not start that way (items first, not an object) yields `absent`,
// and the caller waits for the whole body as before.

export interface LeadingListMetadata {
  readonly continueToken: string | undefined;
  readonly resourceVersion: string | undefined;
}

/** Stop looking after this much text without finding the metadata: a list's metadata is a few hundred bytes. */
const MAX_PREFIX = 64 * 1024;

/**
 * The list metadata if `prefix` (the body so far) already holds all of it; `incomplete` if more text may tell;
 * `absent` if this body cannot tell early (the items come first, it is not a JSON object, or it is too long).
 */
export function leadingListMetadata(prefix: string): LeadingListMetadata | 'incomplete' | 'absent' {
  let i = skipSpace(prefix, 0);
  if (i >= prefix.length) return 'incomplete';
  if (prefix[i] !== '{') return 'absent';
  i += 1;
  for (;;) {
    i = skipSpace(prefix, i);
    if (i >= prefix.length) return more(prefix);
    if (prefix[i] !== '"') return 'absent'; // `}` (no metadata at all) or not JSON
    const keyEnd = stringEnd(prefix, i);
    if (keyEnd === undefined) return more(prefix);
    const key = prefix.slice(i + 1, keyEnd - 1);
    i = skipSpace(prefix, keyEnd);
    if (i >= prefix.length) return more(prefix);
    if (prefix[i] !== ':') return 'absent';
    i = skipSpace(prefix, i + 1);
    if (i >= prefix.length) return more(prefix);
    if (key === 'items') return 'absent';
    const valueEnd = valueEndAt(prefix, i);
    if (valueEnd === undefined) return more(prefix);
    if (key === 'metadata') return metadataOf(prefix.slice(i, valueEnd));
    i = skipSpace(prefix, valueEnd);
    if (i >= prefix.length) return more(prefix);
    if (prefix[i] !== ',') return 'absent';
    i += 1;
  }
}

function more(prefix: string): 'incomplete' | 'absent' {
  return prefix.length >= MAX_PREFIX ? 'absent' : 'incomplete';
}

function metadataOf(text: string): LeadingListMetadata | 'absent' {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return 'absent';
  }
  if (typeof value !== 'object' || value === null) return 'absent';
  const { continue: token, resourceVersion } = value as { continue?: unknown; resourceVersion?: unknown };
  return {
    continueToken: typeof token === 'string' && token !== '' ? token : undefined,
    resourceVersion: typeof resourceVersion === 'string' ? resourceVersion : undefined,
  };
}

function skipSpace(text: string, from: number): number {
  let i = from;
  while (i < text.length && (text[i] === ' ' || text[i] === '\n' || text[i] === '\r' || text[i] === '\t'))
    i += 1;
  return i;
}

/** The index after the closing quote of the string that opens at `from`; undefined if it is not complete yet. */
function stringEnd(text: string, from: number): number | undefined {
  for (let i = from + 1; i < text.length; i++) {
    const c = text[i];
    if (c === '\\') i += 1;
    else if (c === '"') return i + 1;
  }
  return undefined;
}

/** The index after the JSON value that starts at `from`; undefined if it is not complete yet. */
function valueEndAt(text: string, from: number): number | undefined {
  const first = text[from];
  if (first === '"') return stringEnd(text, from);
  if (first !== '{' && first !== '[') {
    // A number, true, false or null: it ends where a delimiter begins (or is not complete yet).
    let i = from;
    while (i < text.length && !',}] \n\r\t'.includes(text[i] ?? '')) i += 1;
    return i < text.length ? i : undefined;
  }
  let depth = 0;
  for (let i = from; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      const end = stringEnd(text, i);
      if (end === undefined) return undefined;
      i = end - 1;
    } else if (c === '{' || c === '[') depth += 1;
    else if (c === '}' || c === ']') {
      depth -= 1;
      if (depth === 0) return i + 1;
    }
  }
  return undefined;
}
