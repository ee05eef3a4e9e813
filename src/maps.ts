// Small Map helpers the modules share, so that "find the entry or make it" and "keep one copy of a repeated
// string" are written once.

/** The value under `key`, made by `create` and stored first when there is none. */
export function getOrCreate<K, V>(map: Map<K, V>, key: K, create: () => V): V {
  let value = map.get(key);
  if (value === undefined) {
    value = create();
    map.set(key, value);
  }
  return value;
}

/**
 * A function that returns one copy of each string it is given (the first one met), so that a value repeated across
 * many kept objects (a namespace, `TCP`, a node name) is held once. At most `limit` strings are remembered: the table
 * starts over when full, which bounds it whatever the input.
 */
export function boundedInterner(limit: number): (value: string) => string {
  let table = new Map<string, string>();
  return (value) => {
    const known = table.get(value);
    if (known !== undefined) return known;
    if (table.size >= limit) table = new Map();
    table.set(value, value);
    return value;
  };
}
