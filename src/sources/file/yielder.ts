// Long synchronous work on the event loop (reading and parsing many small manifests) cut into slices: the function
// it gives is awaited between steps and yields to the event loop once a slice has run for a few milliseconds, so
// that lookups keep being answered meanwhile.

/** Synchronous work between two yields to the event loop. */
const YIELD_AFTER_MS = 10;

/** A function to await between bits of synchronous work: it yields to the event loop every few milliseconds. */
export function yielder(): () => Promise<void> {
  let since = performance.now();
  return async () => {
    if (performance.now() - since < YIELD_AFTER_MS) return;
    await new Promise((resolve) => setImmediate(resolve));
    since = performance.now();
  };
}
