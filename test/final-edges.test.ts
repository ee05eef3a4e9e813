// Two inputs the other tests never spell: an invalid value inside `in (…)` (refused, as apimachinery refuses it),
// and an EndpointSlice without a ports list (its endpoints have no ports, not an invented one).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LabelSelectorError, parseLabelSelector } from '../src/policy/label-selector.ts';
import { mergeEndpointSlices } from '../src/kube/convert.ts';
import { parseEndpointSlice } from '../src/kube/objects.ts';

describe('inputs at the edge', () => {
  // Mutation: drop `validateValue(key, tok.v)` for the values of a set requirement.
  it('refuses an invalid value inside in (…) and notin (…)', () => {
    for (const selector of ['x in (-bad)', 'x notin (ok,bad-)']) {
      assert.throws(() => parseLabelSelector(selector), LabelSelectorError, selector);
    }
  });

  // Mutation: `(ports ?? [])` with another default in convertPorts.
  it('gives the endpoints of a slice without a ports list no ports', () => {
    const parsed = parseEndpointSlice({
      metadata: { name: 'web-a', namespace: 'shop', labels: { 'kubernetes.io/service-name': 'web' } },
      addressType: 'IPv4',
      endpoints: [{ addresses: ['10.0.0.1'] }],
    });
    assert.ok(parsed.ok);
    const merged = mergeEndpointSlices({ namespace: 'shop', name: 'web' }, [parsed.value]);
    assert.deepEqual(merged.ports, []);
    assert.deepEqual(merged.endpoints[0]?.ports, []);
  });
});
