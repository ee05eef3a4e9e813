// The promise that every replica serves the same content under the same version, as a property: two replicas
// that receive the same EndpointSlices in different orders (their informers list and watch independently) merge
// them into equal content and an equal version. The slices are drawn so that one address often sits in several
// slices with the same conditions (equal preference rank) but other fields that differ, which is where the order
// of merging could leak into the result.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { contentVersion } from '../src/model.ts';
import { mergeEndpointSlices } from '../src/kube/convert.ts';
import { slices, web } from './support/slice-arbitraries.ts';

/** The slices and a permutation of them: what another replica may have received. */
const slicesInTwoOrders = slices.chain((list) =>
  fc.shuffledSubarray(list, { minLength: list.length, maxLength: list.length }).map((shuffled) => ({
    list,
    shuffled,
  })),
);

describe('replica determinism', () => {
  // Mutation: in mergeEndpointSlices, merge `slices` as given instead of sorted by name (drop the `.sort(...)`).
  it('merges the same slices received in any order into equal content and an equal version', () => {
    fc.assert(
      fc.property(slicesInTwoOrders, ({ list, shuffled }) => {
        const one = mergeEndpointSlices(web, list);
        const other = mergeEndpointSlices(web, shuffled);
        assert.deepEqual(other, one);
        assert.equal(contentVersion(other), contentVersion(one));
      }),
      { numRuns: 300 },
    );
  });

  it('gives different versions to different content (the version is not constant)', () => {
    fc.assert(
      fc.property(slices, slices, (a, b) => {
        const one = mergeEndpointSlices(web, a);
        const other = mergeEndpointSlices(web, b);
        fc.pre(JSON.stringify(one) !== JSON.stringify(other));
        assert.notEqual(contentVersion(one), contentVersion(other));
      }),
      { numRuns: 100 },
    );
  });
});
