// The parsers of option values: text → typed value, with the bounds and the words that tell an operator what is
// expected ("must be a port number from 0 to 65535"). zod schemas, so each states its output type, and the bounds
// are zod's own checks; the message is that of the first check that fails.
import { z } from 'zod';
import { parseByteSize } from '../byte-size.ts';
import { formatDuration, parseDuration } from '../duration.ts';
import { namespaceNameProblem } from '../names.ts';
import { parseLabelSelector, type LabelSelector } from '../policy/label-selector.ts';
import { parseRate } from '../limits/rate-limiter.ts';

/** Parses an option's text into its value, or fails with what was expected. */
export type ValueParser<T> = z.ZodType<T, string>;

/** The largest byte size and count a value may take: what a signed 32-bit field (grpc-js, Node's http) holds. */
export const INT32_MAX = 2 ** 31 - 1;
export const HOUR = 3_600_000;
export const DAY = 24 * HOUR;

/** A text → value step that either converts or says what was expected. */
function convert<T>(message: string, fn: (text: string) => T | undefined): z.ZodType<T, string> {
  return z.string().transform((text, ctx) => {
    const value = fn(text);
    if (value === undefined) {
      ctx.addIssue({ code: 'custom', message });
      return z.NEVER;
    }
    return value;
  });
}

/** A whole number (digits only) from `min` to `max`. */
export function wholeNumber(min: number, max: number, message?: string): ValueParser<number> {
  const expected = message ?? `must be a whole number from ${min} to ${max}`;
  return z
    .string()
    .regex(/^\d+$/, expected)
    .transform(Number)
    .pipe(z.number().min(min, expected).max(max, expected));
}

export const port = (): ValueParser<number> => wholeNumber(0, 65535, 'must be a port number from 0 to 65535');

/** A Go-style duration (see src/duration.ts) from `min` to `max` ms; a bare number is refused with a hint. */
export function duration(min: number, max: number): ValueParser<number> {
  const bounds = `must be a duration from ${formatDuration(min)} to ${formatDuration(max)} (e.g. 15s, 2m)`;
  return z
    .string()
    .transform((text, ctx) => {
      const ms = parseDuration(text);
      if (ms === undefined && /^\d+(\.\d+)?$/.test(text.trim())) {
        ctx.addIssue({
          code: 'custom',
          message: `must be a duration with its unit (ms, s, m, h), e.g. ${text.trim()}s; a bare number is ambiguous`,
        });
        return z.NEVER;
      }
      if (ms === undefined) {
        ctx.addIssue({ code: 'custom', message: bounds });
        return z.NEVER;
      }
      return ms;
    })
    .pipe(z.number().min(min, bounds).max(max, bounds));
}

/** A byte size from `min` to 2GiB (what one grpc-js message or one Node buffer may be). */
export function byteSize(min: number, message?: string, max = INT32_MAX): ValueParser<number> {
  const expected = message ?? `must be a size from ${min} bytes to 2GiB (e.g. 4MiB)`;
  return convert(expected, parseByteSize).pipe(z.number().min(min, expected).max(max, expected));
}

/** true or false, in any case. */
export const bool = (): ValueParser<boolean> =>
  z
    .string()
    .transform((text) => text.toLowerCase())
    .pipe(z.enum(['true', 'false'], 'must be true or false'))
    .transform((text) => text === 'true');

/** One of `choices`, exactly. */
export function oneOf<const C extends readonly [string, ...string[]]>(
  choices: C,
  message: string,
): ValueParser<C[number]> {
  return z.enum(choices, message);
}

/** Any text but the empty one. */
export const nonEmpty = (message: string): ValueParser<string> => z.string().min(1, message);

/** Any text (a path, a context name: what they name is checked where they are used). */
export const text = (): ValueParser<string> => z.string();

export function namespaceName(): ValueParser<string> {
  return z.string().superRefine((value, ctx) => {
    const problem = namespaceNameProblem(value);
    if (problem !== undefined)
      ctx.addIssue({ code: 'custom', message: `must be a namespace name: it ${problem}` });
  });
}

/** A label selector, parsed once here: `parsed` for endpointd's own matching, `text` for the API server's. */
export function labelSelector(): ValueParser<{ readonly text: string; readonly parsed: LabelSelector }> {
  return z.string().transform((text, ctx) => {
    try {
      return { text, parsed: parseLabelSelector(text) };
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: `must be a label selector (${(error as Error).message})` });
      return z.NEVER;
    }
  });
}

/** `KEY=VALUE`, e.g. endpointd.io/expose=true. */
export const keyValue = (message: string): ValueParser<{ readonly key: string; readonly value: string }> =>
  convert(message, (value) => {
    const match = /^([^=\s]+)=(.*)$/.exec(value);
    return match === null ? undefined : { key: match[1] ?? '', value: match[2] ?? '' };
  });

/** A rate such as 50/s or 600/m, per second, above 0 and up to a million. */
export const rate = (message: string): ValueParser<number> =>
  convert(message, (value) => {
    const perSecond = parseRate(value);
    return perSecond !== undefined && perSecond > 0 && perSecond <= 1e6 ? perSecond : undefined;
  });

/** A rate as rate() takes it, or `off` (or 0): undefined. */
export function rateOrOff(message: string): ValueParser<number | undefined> {
  const on = rate(message);
  return z.string().transform((value, ctx) => {
    if (parseRate(value) === undefined) return undefined;
    const parsed = on.safeParse(value);
    if (parsed.success) return parsed.data;
    ctx.addIssue({ code: 'custom', message });
    return z.NEVER;
  });
}
