// Which Services clients may see, the rules themselves: namespaces exposed and hidden, the label selector and
// annotation rules (failing closed without metadata). Their flags, and end to end through every door:
// exposure-policy.test.ts.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ExposurePolicy, SYSTEM_NAMESPACES } from '../src/policy/exposure.ts';
import { parseLabelSelector } from '../src/policy/label-selector.ts';

const key = (namespace: string, name: string) => ({ namespace, name });
const meta = (labels: Record<string, string> = {}, annotations: Record<string, string> = {}) => ({
  labels,
  annotations,
});

describe('ExposurePolicy', () => {
  it('shows only the namespaces exposed, never the ones hidden', () => {
    const policy = new ExposurePolicy({
      exposeNamespaces: ['shop', 'kube-system'],
      hideNamespaces: ['kube-system'],
    });
    assert.equal(policy.allows(key('shop', 'web'), undefined), true);
    assert.equal(policy.allows(key('billing', 'api'), undefined), false);
    assert.equal(policy.allows(key('kube-system', 'kube-dns'), undefined), false, 'hiding wins');
  });

  it('shows by label selector and by annotation, and fails closed without metadata', () => {
    const policy = new ExposurePolicy({
      exposeNamespaces: [],
      hideNamespaces: [],
      selector: parseLabelSelector('tier in (web,api),!internal'),
      annotation: { key: 'endpointd.io/expose', value: 'true' },
    });
    const exposed = { 'endpointd.io/expose': 'true' };
    assert.equal(policy.allows(key('shop', 'web'), meta({ tier: 'web' }, exposed)), true);
    assert.equal(policy.allows(key('shop', 'web'), meta({ tier: 'db' }, exposed)), false);
    assert.equal(policy.allows(key('shop', 'web'), meta({ tier: 'web', internal: '' }, exposed)), false);
    assert.equal(
      policy.allows(key('shop', 'web'), meta({ tier: 'web' }, { 'endpointd.io/expose': 'yes' })),
      false,
    );
    assert.equal(policy.allows(key('shop', 'web'), undefined), false);
  });

  it('with only a selector, or only an annotation rule, checks that one alone; OPEN shows everything', () => {
    const bySelector = new ExposurePolicy({
      exposeNamespaces: [],
      hideNamespaces: [],
      selector: parseLabelSelector('tier=web'),
    });
    assert.equal(bySelector.allows(key('shop', 'web'), meta({ tier: 'web' }, {})), true);
    assert.equal(bySelector.allows(key('shop', 'web'), meta({ tier: 'db' }, {})), false);
    const byAnnotation = new ExposurePolicy({
      exposeNamespaces: [],
      hideNamespaces: [],
      annotation: { key: 'endpointd.io/expose', value: 'true' },
    });
    assert.equal(byAnnotation.allows(key('shop', 'web'), meta({}, { 'endpointd.io/expose': 'true' })), true);
    assert.equal(byAnnotation.allows(key('shop', 'web'), meta({}, {})), false);
    assert.equal(byAnnotation.allows(key('shop', 'web'), undefined), false, 'fails closed');
    for (const namespace of ['shop', ...SYSTEM_NAMESPACES]) {
      assert.equal(ExposurePolicy.OPEN.allows(key(namespace, 'web'), undefined), true, namespace);
    }
    assert.deepEqual(SYSTEM_NAMESPACES, ['kube-system', 'kube-public', 'kube-node-lease']);
  });
});
