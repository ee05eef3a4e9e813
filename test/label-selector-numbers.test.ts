// `key>n` and `key<n` compare only label values that are plain integers, as apimachinery does (strconv.ParseInt):
// values that JavaScript's Number() would read as numbers — exponents, hexadecimal, padded — do not match.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseLabelSelector } from '../src/policy/label-selector.ts';

describe('label selector comparisons', () => {
  // Mutations: drop the integer check of the label value, or loosen its regex (`^` or `$` gone).
  it('match only integer label values', () => {
    for (const value of ['1e3', '0x10', '2a', 'a2', '', '+5']) {
      assert.equal(parseLabelSelector('x>1').matches({ x: value }), false, `x>1 on ${JSON.stringify(value)}`);
    }
    assert.equal(parseLabelSelector('x>1').matches({ x: '-0' }), false);
    assert.equal(parseLabelSelector('x<1').matches({ x: '-5' }), true);
    assert.equal(parseLabelSelector('x>1').matches({}), false);
  });
});
