// Small Map helpers the modules share, so that "find the entry or make it" is written once.

/** The value under `key`, made by `create` and stored first when there is none. */
export function getOrCreate<K, V>(map: Map<K, V>, key: K, create: () => V): V {
  let value = map.get(key);
  if (value === undefined) {
    value = create();
    map.set(key, value);
  }
  return value;
}
