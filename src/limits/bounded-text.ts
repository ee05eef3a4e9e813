// Bounds on what a client's input may make us write back or log: each quoted value clipped, and lists of problems
// cut after a few with a count of the rest. An error message or a log line is then sized by us, never by the
// attacker, however large or numerous the bad values it describes.

/** The most characters of one client-supplied value that an error message or log field quotes. */
export const MAX_QUOTED_CHARS = 100;
/** The most problems one error message lists; the rest are counted. */
export const MAX_LISTED_PROBLEMS = 10;

/** `text`, cut to `max` characters with the original length said when it was longer. */
export function clip(text: string, max = MAX_QUOTED_CHARS): string {
  if (text.length <= max) return text;
  return `${text.slice(0, max)}… (${text.length} characters)`;
}

/** `value` as a JSON string literal, clipped first: for quoting client input in messages. */
export function quote(value: string, max = MAX_QUOTED_CHARS): string {
  if (value.length <= max) return JSON.stringify(value);
  return `${JSON.stringify(value.slice(0, max))}… (${value.length} characters)`;
}

/**
 * The problems of one request, keeping the first `max` and counting the others, so that validating a request with
 * 100,000 bad values neither builds 100,000 messages nor sends them.
 */
export class ProblemList<T> {
  readonly #max: number;
  readonly #items: T[] = [];
  #omitted = 0;

  constructor(max = MAX_LISTED_PROBLEMS) {
    this.#max = max;
  }

  push(problem: T): void {
    if (this.#items.length < this.#max) this.#items.push(problem);
    else this.#omitted += 1;
  }

  /** The problems kept (the first ones found). */
  get items(): readonly T[] {
    return this.#items;
  }

  /** Problems found beyond those kept. */
  get omitted(): number {
    return this.#omitted;
  }

  /** Problems found in all. */
  get length(): number {
    return this.#items.length + this.#omitted;
  }

  /** The problems as one message: the kept ones joined, then how many more there were. */
  render(format: (problem: T) => string): string {
    const text = this.#items.map(format).join('; ');
    return this.#omitted === 0 ? text : `${text}; and ${this.#omitted} more problems`;
  }
}
