// Duplicate keys in raw JSON text. JSON.parse keeps the last of two equal keys without a word, so a log line that
// carries a key twice can only be caught by reading the text itself.

/** Every key that repeats within one object of `json` (at any depth), in order of its repetition. */
export function duplicateKeys(json: string): string[] {
  const repeated: string[] = [];
  /** One entry per open container: the keys seen so far for an object, null for an array. */
  const open: Array<Set<string> | null> = [];
  let expectingKey = false;
  for (let i = 0; i < json.length; i += 1) {
    const c = json[i];
    if (c === '"') {
      let end = i + 1;
      while (end < json.length && json[end] !== '"') end += json[end] === '\\' ? 2 : 1;
      const keys = open.at(-1);
      if (expectingKey && keys instanceof Set) {
        const key = JSON.parse(json.slice(i, end + 1)) as string;
        if (keys.has(key)) repeated.push(key);
        keys.add(key);
        expectingKey = false;
      }
      i = end;
    } else if (c === '{') {
      open.push(new Set());
      expectingKey = true;
    } else if (c === '[') {
      open.push(null);
      expectingKey = false;
    } else if (c === '}' || c === ']') {
      open.pop();
      expectingKey = false;
    } else if (c === ',') {
      expectingKey = open.at(-1) instanceof Set;
    }
  }
  return repeated;
}
