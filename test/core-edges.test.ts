// Edges of the pure core that the broader tests pass over: multi-digit bounds and operators written without
// spaces in label selectors, a content version that sees the external name alone, port names that start or end
// with digits in xDS resource names, a port-less name over two unnamed ports, and an ADS call the client half-closes.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { once } from 'node:events';
import { resolvePort, parseResourceName } from '../src/api/xds/naming.ts';
import { TYPE_URL } from '../src/api/xds/wire.ts';
import { contentVersion, type ServiceEndpoints } from '../src/model.ts';
import { mergeEndpointSlices } from '../src/kube/convert.ts';
import { parseEndpointSlice } from '../src/kube/objects.ts';
import { parseLabelSelector } from '../src/policy/label-selector.ts';
import { newStore, rawSotw, startXdsServer } from './support/xds-harness.ts';

describe('label selectors, spelled tightly', () => {
  it('compares with multi-digit bounds, and reads operators and parentheses without spaces', () => {
    const cases: [string, Record<string, string>, boolean][] = [
      ['x>10', { x: '11' }, true],
      ['x>10', { x: '9' }, false],
      ['x<10', { x: '9' }, true],
      ['x>1', { x: '10' }, true],
      ['x>1', { x: '1a' }, false],
      ['x>1', { x: 'a1' }, false],
      ['x in(a,b)', { x: 'b' }, true],
      ['x notin(a)', { x: 'a' }, false],
      ['x!=a,y', { x: 'b', y: '' }, true],
      ['!x,y==b', { y: 'b' }, true],
      ['x<1,y>2', { x: '0', y: '3' }, true],
    ];
    for (const [selector, labels, expected] of cases) {
      assert.equal(
        parseLabelSelector(selector).matches(labels),
        expected,
        `${selector} on ${JSON.stringify(labels)}`,
      );
    }
  });
});

describe('content version, one field at a time', () => {
  it('sees the external name of an ExternalName Service on its own', () => {
    const base: ServiceEndpoints = {
      namespace: 'shop',
      name: 'db',
      ports: [],
      endpoints: [],
      service: { type: 'ExternalName', headless: false, externalName: 'a.example.com', ports: [] },
    };
    const other = { ...base, service: { ...base.service!, externalName: 'b.example.com' } };
    assert.notEqual(contentVersion(base), contentVersion(other));
  });
});

describe('target references', () => {
  // Mutation: drop `|| ref.name === null` in convertReference (a null name would be kept as a reference).
  it('drops a target reference whose name is null, as one without a name', () => {
    const parsed = parseEndpointSlice({
      metadata: { name: 'web-a', namespace: 'shop', labels: { 'kubernetes.io/service-name': 'web' } },
      addressType: 'IPv4',
      endpoints: [{ addresses: ['10.0.0.1'], targetRef: { kind: 'Pod', name: null } }],
      ports: [{ name: 'http', port: 8080 }],
    });
    assert.ok(parsed.ok);
    const merged = mergeEndpointSlices({ namespace: 'shop', name: 'web' }, [parsed.value]);
    assert.ok(!('targetRef' in merged.endpoints[0]!));
  });
});

describe('xDS names, ports at the edges', () => {
  it('reads a port name that starts or ends with digits as a name, not a number', () => {
    assert.deepEqual(parseResourceName('web.shop:x80')?.port, { name: 'x80' });
    assert.deepEqual(parseResourceName('web.shop:80x')?.port, { name: '80x' });
  });

  it('finds no port-less port for a Service with two unnamed TCP ports', () => {
    const service: ServiceEndpoints = {
      namespace: 'shop',
      name: 'web',
      ports: [
        { name: '', port: 8080, protocol: 'TCP' },
        { name: '', port: 9090, protocol: 'TCP' },
      ],
      endpoints: [],
    };
    assert.equal(resolvePort(service, { only: true }), undefined);
  });
});

describe('an ADS call the client half-closes', () => {
  // Mutation: drop `this.#call.end()` in StreamPump.end (the server would leave its half open).
  it('is ended by the server with OK', async () => {
    const xds = await startXdsServer({ store: newStore() });
    const ads = rawSotw(xds.port);
    try {
      ads.send({ node: { id: 'half-close', locality: {} }, type_url: TYPE_URL.cluster, resource_names: [] });
      await ads.next();
      const status = once(ads.call, 'status');
      ads.call.end();
      const [received] = (await status) as [{ code: number }];
      assert.equal(received.code, 0);
    } finally {
      ads.close();
      await xds.stop();
    }
  });
});
