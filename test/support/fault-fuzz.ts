// Shared pieces of the fuzz tests: hostile strings as fast-check arbitraries, and the process-memory check.
import fc from 'fast-check';
import { retainedBytes } from './memory.ts';

/** Text a client might send where a name goes: valid names, near misses, unicode, control bytes, huge ones. */
export const hostileText: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    'shop',
    'web',
    'demo',
    '',
    '.',
    '..',
    '-',
    'a-',
    '-a',
    'A',
    'UPPER',
    'a.b',
    'a_b',
    '0',
    '9lives',
    'x'.repeat(63),
    'x'.repeat(64),
    'x'.repeat(254),
    '%',
    '%00',
    '%zz',
    '%c3%28',
    '%2F',
    '%2e%2e',
    '\u0000',
    '\u202e',
    'é',
    '😀',
    '\ud800',
    'null',
    'undefined',
    '__proto__',
    'constructor',
    'toString',
    '1e309',
    '-1',
    '65536',
    '0x50',
    ' 80',
    'http',
    'all',
    'routable',
    '30s',
    '5m1s',
    '-1s',
    'NaN',
  ),
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.string({ unit: 'binary', maxLength: 20 }),
  fc.string({ minLength: 200, maxLength: 5000 }),
);

/** The bytes still in use after full collections, in MiB, with a short settle first. */
export async function settledRetainedMiB(): Promise<number> {
  await new Promise((resolve) => setTimeout(resolve, 200));
  return retainedBytes() / 1048576;
}
