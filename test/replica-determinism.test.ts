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
import { parseEndpointSlice, type EndpointSliceObject } from '../src/kube/objects.ts';

const web = { namespace: 'shop', name: 'web' };

// Small pools, so that duplicates are common.
const address = fc.constantFrom('10.0.0.1', '10.0.0.2', '10.0.0.3');
const conditions = fc.constantFrom(
  { ready: true, serving: true, terminating: false },
  { ready: false, serving: true, terminating: true },
  { ready: false, serving: false, terminating: false },
  undefined,
);
const endpoint = fc.record(
  {
    addresses: address.map((a) => [a]),
    conditions,
    nodeName: fc.constantFrom('node-1', 'node-2'),
    zone: fc.constantFrom('zone-a', 'zone-b'),
    hostname: fc.constantFrom('a', 'b'),
    targetRef: fc.constantFrom('pod-1', 'pod-2').map((name) => ({ kind: 'Pod', namespace: 'shop', name })),
  },
  { requiredKeys: ['addresses'] },
);
const portSet = fc.constantFrom(
  [{ name: 'http', port: 8080, protocol: 'TCP' }],
  [
    { name: 'http', port: 8080, protocol: 'TCP' },
    { name: 'metrics', port: 9090, protocol: 'TCP' },
  ],
);

/** 1–5 slices of the Service, named web-0…, each with its port set and 0–6 endpoints. */
const slices = fc
  .array(fc.record({ ports: portSet, endpoints: fc.array(endpoint, { maxLength: 6 }) }), {
    minLength: 1,
    maxLength: 5,
  })
  .map((drawn) =>
    drawn.map(({ ports, endpoints }, i): EndpointSliceObject => {
      const parsed = parseEndpointSlice({
        metadata: {
          name: `web-${i}`,
          namespace: 'shop',
          labels: { 'kubernetes.io/service-name': 'web' },
        },
        addressType: 'IPv4',
        endpoints,
        ports,
      });
      if (!parsed.ok) throw new Error(`generated slice invalid: ${JSON.stringify(parsed.problems)}`);
      return parsed.value;
    }),
  );

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
