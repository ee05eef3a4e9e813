// The Kubernetes converters' details, field by field: what a Service object keeps (type, headless, external name,
// ports with their defaults, sorted), which copy of a duplicated endpoint wins, which optional fields are left
// out rather than set empty, and how legacy Endpoints subsets become endpoints and ports.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { convertEndpoints, convertService, mergeEndpointSlices } from '../src/kube/convert.ts';
import {
  parseEndpointSlice,
  parseEndpoints,
  parseService,
  type EndpointSliceObject,
  type EndpointsObject,
  type ServiceObject,
} from '../src/kube/objects.ts';

const web = { namespace: 'shop', name: 'web' };

function parsed<T>(result: { ok: true; value: T } | { ok: false; problems: unknown }): T {
  if (!result.ok) throw new Error(`fixture invalid: ${JSON.stringify(result.problems)}`);
  return result.value;
}

const serviceObject = (spec: unknown): ServiceObject =>
  parsed(parseService({ metadata: { name: 'web', namespace: 'shop' }, spec }));

function slice(
  name: string,
  endpoints: unknown[],
  ports: unknown[] = [{ name: 'http', port: 8080 }],
): EndpointSliceObject {
  return parsed(
    parseEndpointSlice({
      metadata: { name, namespace: 'shop', labels: { 'kubernetes.io/service-name': 'web' } },
      addressType: 'IPv4',
      endpoints,
      ports,
    }),
  );
}

const legacy = (subsets: unknown): EndpointsObject =>
  parsed(parseEndpoints({ metadata: { name: 'web', namespace: 'shop' }, subsets }));

describe('convertService', () => {
  it('keeps type, headless-ness and ports, defaulting name, protocol and targetPort as Kubernetes does, sorted', () => {
    const info = convertService(
      serviceObject({
        type: 'NodePort',
        clusterIP: '10.96.0.10',
        ports: [
          { name: 'metrics', port: 9090, targetPort: 'metrics', protocol: 'TCP' },
          { port: 53, protocol: 'UDP' },
          { name: 'http', port: 80, targetPort: 8080, appProtocol: 'kubernetes.io/h2c' },
          { name: 'http', port: 79 },
        ],
      }),
    );
    assert.deepEqual(info, {
      type: 'NodePort',
      headless: false,
      ports: [
        { name: '', port: 53, targetPort: 53, protocol: 'UDP' },
        { name: 'http', port: 79, targetPort: 79, protocol: 'TCP' },
        { name: 'http', port: 80, targetPort: 8080, protocol: 'TCP', appProtocol: 'kubernetes.io/h2c' },
        { name: 'metrics', port: 9090, targetPort: 'metrics', protocol: 'TCP' },
      ],
    });
    assert.ok(!('externalName' in info), 'no empty key for what a ClusterIP/NodePort Service lacks');
  });

  it('defaults to ClusterIP with no ports, knows headless and ExternalName Services', () => {
    assert.deepEqual(convertService(serviceObject(undefined)), {
      type: 'ClusterIP',
      headless: false,
      ports: [],
    });
    assert.deepEqual(convertService(serviceObject({ clusterIP: 'None' })), {
      type: 'ClusterIP',
      headless: true,
      ports: [],
    });
    assert.deepEqual(
      convertService(serviceObject({ type: 'ExternalName', externalName: 'db.example.com', ports: null })),
      { type: 'ExternalName', headless: false, externalName: 'db.example.com', ports: [] },
    );
    // An external name on another type means nothing (the API server ignores it too).
    assert.ok(
      !(
        'externalName' in convertService(serviceObject({ type: 'ClusterIP', externalName: 'x.example.com' }))
      ),
    );
    assert.ok(!('externalName' in convertService(serviceObject({ type: 'ExternalName' }))));
  });

  it('keeps trafficDistribution and the topology-mode annotation (the newer name winning), else leaves them out', () => {
    const withTopology = (annotations: Record<string, string> | undefined, spec: unknown): ServiceObject =>
      parsed(parseService({ metadata: { name: 'web', namespace: 'shop', annotations }, spec }));
    assert.deepEqual(convertService(withTopology(undefined, { trafficDistribution: 'PreferSameZone' })), {
      type: 'ClusterIP',
      headless: false,
      ports: [],
      trafficDistribution: 'PreferSameZone',
    });
    assert.equal(
      convertService(withTopology({ 'service.kubernetes.io/topology-mode': 'Auto' }, {})).topologyMode,
      'Auto',
    );
    assert.equal(
      convertService(withTopology({ 'service.kubernetes.io/topology-aware-hints': 'auto' }, {})).topologyMode,
      'auto',
    );
    assert.equal(
      convertService(
        withTopology(
          {
            'service.kubernetes.io/topology-aware-hints': 'auto',
            'service.kubernetes.io/topology-mode': 'Disabled',
          },
          {},
        ),
      ).topologyMode,
      'Disabled',
    );
    const plain = convertService(withTopology({ other: 'x' }, { trafficDistribution: null }));
    assert.ok(!('trafficDistribution' in plain) && !('topologyMode' in plain), 'no empty keys');
  });
});

describe('mergeEndpointSlices, field by field', () => {
  it('keeps node hints (PreferSameNode) sorted, next to zone hints', () => {
    const merged = mergeEndpointSlices(web, [
      slice('web-a', [
        {
          addresses: ['10.0.0.1'],
          hints: { forZones: [{ name: 'zone-a' }], forNodes: [{ name: 'node-2' }, { name: 'node-1' }] },
        },
      ]),
    ]);
    assert.deepEqual(merged.endpoints[0]?.hintsForNodes, ['node-1', 'node-2']);
    assert.deepEqual(merged.endpoints[0]?.hintsForZones, ['zone-a']);
  });

  it('leaves out the optional fields a slice does not set, instead of setting them empty', () => {
    const merged = mergeEndpointSlices(web, [
      slice('web-a', [
        { addresses: ['10.0.0.1'], hostname: null, nodeName: null, zone: null, targetRef: null },
      ]),
    ]);
    const [endpoint] = merged.endpoints;
    assert.ok(endpoint !== undefined);
    for (const field of ['hostname', 'nodeName', 'zone', 'targetRef', 'hintsForZones', 'hintsForNodes']) {
      assert.ok(!(field in endpoint), `no ${field} key`);
    }
  });

  it('keeps a target reference only with a name, defaulting its kind to Pod', () => {
    const merged = mergeEndpointSlices(web, [
      slice('web-a', [
        { addresses: ['10.0.0.1'], targetRef: { name: 'web-1', namespace: 'shop' } },
        { addresses: ['10.0.0.2'], targetRef: { kind: 'Node', uid: 'u' } },
      ]),
    ]);
    assert.deepEqual(merged.endpoints[0]?.targetRef, { kind: 'Pod', namespace: 'shop', name: 'web-1' });
    assert.equal(merged.endpoints[1]?.targetRef, undefined);
  });

  // Mutation: preferenceRank's `+` as `-` (a not-ready copy would beat a ready one).
  it('prefers the ready copy of a duplicated endpoint, whatever slice it sits in', () => {
    for (const [first, second] of [
      [{ ready: false }, { ready: true }],
      [{ ready: true }, { ready: false }],
    ]) {
      const merged = mergeEndpointSlices(web, [
        slice('web-a', [{ addresses: ['10.0.0.5'], conditions: first }]),
        slice('web-b', [{ addresses: ['10.0.0.5'], conditions: second }]),
      ]);
      assert.deepEqual(
        merged.endpoints.map((e) => e.ready),
        [true],
      );
    }
  });

  // Mutation: `<` as `<=` in keepPreferred (the last copy of equal rank would win).
  it('keeps the copy of the first slice by name among duplicates of equal rank', () => {
    const merged = mergeEndpointSlices(web, [
      slice('web-b', [{ addresses: ['10.0.0.5'], nodeName: 'node-b' }]),
      slice('web-a', [{ addresses: ['10.0.0.5'], nodeName: 'node-a' }]),
    ]);
    assert.deepEqual(
      merged.endpoints.map((e) => e.nodeName),
      ['node-a'],
    );
  });

  it('tells ports apart by appProtocol too, and sorts each slice’s ports', () => {
    const merged = mergeEndpointSlices(web, [
      slice('web-a', [{ addresses: ['10.0.0.1'] }], [{ name: 'http', port: 8080, appProtocol: 'h2c' }]),
      slice(
        'web-b',
        [{ addresses: ['10.0.0.2'] }],
        [
          { name: 'metrics', port: 9090 },
          { name: 'http', port: 8080 },
        ],
      ),
    ]);
    assert.deepEqual(
      merged.ports.map((p) => `${p.name}:${p.port}:${p.appProtocol ?? ''}`),
      ['http:8080:', 'http:8080:h2c', 'metrics:9090:'],
    );
    assert.deepEqual(
      merged.endpoints[1]?.ports.map((p) => p.name),
      ['http', 'metrics'],
      'sorted within the endpoint',
    );
    assert.equal(merged.endpoints.length, 2, 'different port sets: two endpoints');
  });
});

describe('convertEndpoints, field by field', () => {
  it('turns subsets into endpoints with their ports, IPv6 addresses typed as such, node names kept', () => {
    const converted = convertEndpoints(
      legacy([
        {
          addresses: [{ ip: 'fd00::2', nodeName: 'node-2', hostname: 'b' }],
          notReadyAddresses: [{ ip: '10.0.0.1', targetRef: { name: 'web-1' } }],
          ports: [
            { name: 'metrics', port: 9090 },
            { name: 'http', port: 8080, protocol: 'TCP' },
          ],
        },
        { addresses: [{ ip: '10.0.0.3' }], ports: [{ name: 'admin', port: 7000 }] },
      ]),
    );
    assert.deepEqual(
      converted.ports.map((p) => `${p.name}:${p.port}`),
      ['admin:7000', 'http:8080', 'metrics:9090'],
    );
    assert.deepEqual(
      converted.endpoints.map((e) => [
        e.addresses[0],
        e.addressType,
        e.ready,
        e.nodeName ?? null,
        e.hostname ?? null,
      ]),
      [
        ['10.0.0.1', 'IPv4', false, null, null],
        ['10.0.0.3', 'IPv4', true, null, null],
        ['fd00::2', 'IPv6', true, 'node-2', 'b'],
      ],
    );
    assert.deepEqual(converted.endpoints[0]?.targetRef, { kind: 'Pod', name: 'web-1' });
    assert.ok(!('truncated' in converted));
  });

  it('converts an Endpoints object without subsets to no endpoints', () => {
    for (const subsets of [undefined, null, []]) {
      const converted = convertEndpoints(legacy(subsets));
      assert.deepEqual([converted.endpoints, converted.ports], [[], []]);
    }
    const onlyPorts = convertEndpoints(legacy([{ ports: [{ port: 80 }] }]));
    assert.deepEqual(onlyPorts.endpoints, []);
    assert.deepEqual(onlyPorts.ports, [{ name: '', port: 80, protocol: 'TCP' }]);
  });
});
