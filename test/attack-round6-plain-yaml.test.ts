// Attack on the plain YAML reader (src/sources/file/plain-yaml.ts), whose promise is: exactly js-yaml's value, or
// decline. Texts glued from YAML's sharp pieces — indicators, quotes, document markers, indentation steps, `- `
// at odd places, scalars js-yaml types (0x1, .inf, ~, 1_0, Yes, <<, __proto__), escapes — rather than documents
// built from a grammar (test/file-plain-yaml.test.ts does that): whatever the reader accepts, js-yaml's loadAll
// must read as one document with the same value, key order and types; the reader never throws.
import assert from 'node:assert/strict';
import { isDeepStrictEqual } from 'node:util';
import { describe, it } from 'node:test';
import { loadAll } from 'js-yaml';
import { readPlainDocument } from '../src/sources/file/plain-yaml.ts';

const PIECES = [
  'a',
  'b',
  'k8s',
  '-',
  '- ',
  ':',
  ': ',
  ' ',
  '  ',
  "'",
  '"',
  "''",
  '[]',
  '{}',
  '1',
  '0x1',
  '.5',
  'true',
  'null',
  '~',
  '-1',
  '+1',
  '0o7',
  '1e3',
  '.inf',
  '.NaN',
  'y',
  'Yes',
  '<<',
  '__proto__',
  ']',
  '}',
  ',',
  '?',
  '=',
  '---',
  '...',
  '\n',
  '\n',
  '\n',
  '\n  ',
  '\n    ',
  '\n- ',
  '\n  - ',
  'x:',
  '0',
  '00',
  '1_0',
  '2001-12-14',
  ':x',
  'a:b',
  '!',
  '&',
  '*',
  '%',
  '@',
  '|',
  '>',
  '\\',
  'constructor',
  'toString',
];

/** Every key of every mapping, in order, depth first: the order js-yaml inserts them in. */
function keyOrder(value: unknown, out: string[] = []): string[] {
  if (Array.isArray(value)) for (const v of value) keyOrder(v, out);
  else if (typeof value === 'object' && value !== null)
    for (const [k, v] of Object.entries(value)) {
      out.push(k);
      keyOrder(v, out);
    }
  return out;
}

describe('plain YAML reader on texts glued from sharp pieces', () => {
  it("gives exactly js-yaml's value or declines", () => {
    let state = 20261201;
    const random = (): number => {
      state = (state * 1103515245 + 12345) & 0x7fffffff;
      return state / 0x7fffffff;
    };
    let accepted = 0;
    const wrong: string[] = [];
    for (let n = 0; n < 400_000 && wrong.length < 5; n++) {
      let text = '';
      const length = 1 + Math.floor(random() * 25);
      for (let i = 0; i < length; i++) text += PIECES[Math.floor(random() * PIECES.length)];
      const plain = readPlainDocument(text);
      if (plain === undefined) continue;
      accepted += 1;
      let reference: unknown[];
      try {
        reference = loadAll(text);
      } catch (error) {
        wrong.push(
          `${JSON.stringify(text)}: read as ${JSON.stringify(plain)}, js-yaml refuses: ${(error as Error).message.split('\n')[0]}`,
        );
        continue;
      }
      const same =
        reference.length === 1 &&
        isDeepStrictEqual(reference[0], plain) &&
        isDeepStrictEqual(keyOrder(reference[0]), keyOrder(plain));
      if (!same)
        wrong.push(
          `${JSON.stringify(text)}: ${JSON.stringify(plain)} vs js-yaml ${JSON.stringify(reference)}`,
        );
    }
    assert.deepEqual(wrong, []);
    // The pieces make documents the reader takes often enough for the property to say something.
    assert.ok(accepted > 5_000, `${accepted} texts accepted`);
  });
});
