// The shared model's pure helpers: which endpoints are routable, which port an endpoint has, its dial targets
// (each address:port once), the content version (every field counts), and the orders canonical content uses.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  compareEndpointPorts,
  compareStrings,
  contentVersion,
  serviceKeyString,
  withVersion,
  type Endpoint,
  type EndpointPort,
  type ServiceEndpoints,
} from '../src/model.ts';
import { dialTargets, findPort, routableEndpoints } from '../src/views/endpoint-sets.ts';
import { mergeEndpointSlices } from '../src/kube/convert.ts';
import { parseEndpointSlice, type EndpointSliceObject } from '../src/kube/objects.ts';

const http: EndpointPort = { name: 'http', port: 8080, protocol: 'TCP' };
const metrics: EndpointPort = { name: 'metrics', port: 9090, protocol: 'TCP' };

function endpoint(address: string, extra: Partial<Endpoint> = {}): Endpoint {
  return {
    addresses: [address],
    addressType: 'IPv4',
    ports: [http],
    ready: true,
    serving: true,
    terminating: false,
    ...extra,
  };
}

function slice(name: string, ips: string[], ports: EndpointPort[]): EndpointSliceObject {
  const parsed = parseEndpointSlice({
    metadata: { name, namespace: 'shop', labels: { 'kubernetes.io/service-name': 'web' } },
    addressType: 'IPv4',
    endpoints: ips.map((ip) => ({ addresses: [ip] })),
    ports,
  });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
  return parsed.value;
}

describe('dialTargets', () => {
  // Mutation: delete `if (seen.has(id)) continue;` in dialTargets.
  it('dials an address that sits in two slices with different port sets once per port', () => {
    // The controller keeps one slice per port set: the same pod shows up in both while its ports change.
    const merged = mergeEndpointSlices({ namespace: 'shop', name: 'web' }, [
      slice('web-a', ['10.0.0.1', '10.0.0.2'], [http]),
      slice('web-b', ['10.0.0.1'], [http, metrics]),
    ]);
    assert.equal(merged.endpoints.length, 3, 'two endpoints of 10.0.0.1: their port sets differ');
    assert.deepEqual(dialTargets(merged.endpoints, { name: 'http' }), [
      { address: '10.0.0.1', port: 8080 },
      { address: '10.0.0.2', port: 8080 },
    ]);
    assert.deepEqual(dialTargets(merged.endpoints, { number: 9090 }), [{ address: '10.0.0.1', port: 9090 }]);
  });

  it('keeps one address on two port numbers, and skips endpoints without the port or an address', () => {
    const targets = dialTargets(
      [
        endpoint('10.0.0.1'),
        endpoint('10.0.0.1', { ports: [{ ...http, port: 8081 }] }),
        endpoint('10.0.0.2', { ports: [metrics] }),
        endpoint('10.0.0.3', { addresses: [] }),
      ],
      { name: 'http' },
    );
    assert.deepEqual(targets, [
      { address: '10.0.0.1', port: 8080 },
      { address: '10.0.0.1', port: 8081 },
    ]);
  });

  it('uses only the first address of an endpoint', () => {
    assert.deepEqual(
      dialTargets([endpoint('10.0.0.1', { addresses: ['10.0.0.1', '10.0.0.9'] })], { number: 8080 }),
      [{ address: '10.0.0.1', port: 8080 }],
    );
  });
});

describe('findPort', () => {
  it('finds by Service port name or by target port number, and nothing else', () => {
    const e = endpoint('10.0.0.1', { ports: [http, metrics] });
    assert.equal(findPort(e, { name: 'metrics' }), metrics);
    assert.equal(findPort(e, { number: 8080 }), http);
    assert.equal(findPort(e, { name: 'grpc' }), undefined);
    assert.equal(findPort(e, { number: 8081 }), undefined);
    assert.equal(
      findPort(endpoint('10.0.0.1', { ports: [{ ...http, name: '' }] }), { name: '' })?.port,
      8080,
    );
  });
});

describe('routableEndpoints', () => {
  const ready = endpoint('10.0.0.1');
  const notReady = endpoint('10.0.0.2', { ready: false, serving: false });
  const draining = endpoint('10.0.0.3', { ready: false, serving: true, terminating: true });
  const terminatingNotServing = endpoint('10.0.0.4', { ready: false, serving: false, terminating: true });
  const servingNotTerminating = endpoint('10.0.0.5', { ready: false, serving: true, terminating: false });
  const fqdn = endpoint('web.example.com', { addressType: 'FQDN' });

  it('routes to the ready endpoints only, when any is ready', () => {
    assert.deepEqual(routableEndpoints([notReady, ready, draining, fqdn]), [ready]);
  });

  it('falls back to serving-and-terminating endpoints when none is ready, as kube-proxy does', () => {
    assert.deepEqual(routableEndpoints([notReady, draining, terminatingNotServing, servingNotTerminating]), [
      draining,
    ]);
  });

  it('never routes to FQDN endpoints, even ready ones', () => {
    assert.deepEqual(routableEndpoints([fqdn]), []);
    assert.deepEqual(routableEndpoints([{ ...fqdn, ready: false, terminating: true }]), []);
    assert.deepEqual(routableEndpoints([]), []);
  });
});

describe('contentVersion', () => {
  const base: ServiceEndpoints = {
    namespace: 'shop',
    name: 'web',
    ports: [http],
    endpoints: [
      endpoint('10.0.0.1', {
        hostname: 'a',
        nodeName: 'n1',
        zone: 'z1',
        targetRef: { kind: 'Pod', namespace: 'shop', name: 'p1', uid: 'u1' },
        hintsForZones: ['z1'],
      }),
    ],
  };
  const first = base.endpoints[0]!;
  const variants: Record<string, ServiceEndpoints> = {
    namespace: { ...base, namespace: 'other' },
    name: { ...base, name: 'other' },
    'service ports': { ...base, ports: [metrics] },
    'port protocol': { ...base, ports: [{ ...http, protocol: 'UDP' }] },
    'port appProtocol': { ...base, ports: [{ ...http, appProtocol: 'grpc' }] },
    address: { ...base, endpoints: [{ ...first, addresses: ['10.0.0.2'] }] },
    addressType: { ...base, endpoints: [{ ...first, addressType: 'IPv6' }] },
    'endpoint ports': { ...base, endpoints: [{ ...first, ports: [metrics] }] },
    ready: { ...base, endpoints: [{ ...first, ready: false }] },
    serving: { ...base, endpoints: [{ ...first, serving: false }] },
    terminating: { ...base, endpoints: [{ ...first, terminating: true }] },
    hostname: { ...base, endpoints: [{ ...first, hostname: 'b' }] },
    'no hostname': { ...base, endpoints: [{ ...first, hostname: undefined }] },
    nodeName: { ...base, endpoints: [{ ...first, nodeName: 'n2' }] },
    zone: { ...base, endpoints: [{ ...first, zone: 'z2' }] },
    'targetRef kind': {
      ...base,
      endpoints: [{ ...first, targetRef: { ...first.targetRef!, kind: 'Node' } }],
    },
    'targetRef namespace': {
      ...base,
      endpoints: [{ ...first, targetRef: { kind: 'Pod', name: 'p1', uid: 'u1' } }],
    },
    'targetRef name': { ...base, endpoints: [{ ...first, targetRef: { ...first.targetRef!, name: 'p2' } }] },
    'targetRef uid': {
      ...base,
      endpoints: [{ ...first, targetRef: { kind: 'Pod', namespace: 'shop', name: 'p1' } }],
    },
    'no targetRef': { ...base, endpoints: [{ ...first, targetRef: undefined }] },
    hints: { ...base, endpoints: [{ ...first, hintsForZones: ['z2'] }] },
    'node hints': { ...base, endpoints: [{ ...first, hintsForNodes: ['n1'] }] },
    cluster: { ...base, endpoints: [{ ...first, cluster: 'east' }] },
    'other cluster': { ...base, endpoints: [{ ...first, cluster: 'west' }] },
    clusters: { ...base, clusters: [{ name: 'east', stale: false }] },
    'cluster region': { ...base, clusters: [{ name: 'east', region: 'eu', stale: false }] },
    'stale cluster': { ...base, clusters: [{ name: 'east', stale: true }] },
    trafficDistribution: {
      ...base,
      service: { type: 'ClusterIP', headless: false, ports: [], trafficDistribution: 'PreferSameZone' },
    },
    topologyMode: {
      ...base,
      service: { type: 'ClusterIP', headless: false, ports: [], topologyMode: 'Auto' },
    },
    'no endpoints': { ...base, endpoints: [] },
    truncated: { ...base, truncated: true },
    'service info': { ...base, service: { type: 'ClusterIP', headless: false, ports: [] } },
    'service type': { ...base, service: { type: 'NodePort', headless: false, ports: [] } },
    headless: { ...base, service: { type: 'ClusterIP', headless: true, ports: [] } },
    externalName: {
      ...base,
      service: { type: 'ExternalName', headless: false, externalName: 'x.example.com', ports: [] },
    },
    'service port': {
      ...base,
      service: {
        type: 'ClusterIP',
        headless: false,
        ports: [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' }],
      },
    },
    'service port appProtocol': {
      ...base,
      service: {
        type: 'ClusterIP',
        headless: false,
        ports: [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP', appProtocol: 'h2c' }],
      },
    },
    'service targetPort': {
      ...base,
      service: {
        type: 'ClusterIP',
        headless: false,
        ports: [{ name: 'http', port: 80, targetPort: 'web', protocol: 'TCP' }],
      },
    },
  };

  it('changes with every field of the content', () => {
    const versions = new Map<string, string>([['base', contentVersion(base)]]);
    for (const [what, variant] of Object.entries(variants)) {
      const version = contentVersion(variant);
      for (const [other, seen] of versions) assert.notEqual(version, seen, `${what} vs ${other}`);
      versions.set(what, version);
    }
  });

  it('is a short stable hash of the content alone, whatever order its keys were made in', () => {
    const version = contentVersion(base);
    assert.match(version, /^[A-Za-z0-9_-]{16}$/);
    const reversed = <T extends object>(o: T): T => Object.fromEntries(Object.entries(o).reverse()) as T;
    const reordered = reversed({
      ...base,
      endpoints: base.endpoints.map(reversed),
      ports: base.ports.map(reversed),
    });
    assert.deepEqual(Object.keys(reordered)[0], 'endpoints');
    assert.equal(contentVersion(reordered), version);
    assert.equal(withVersion(base).version, version);
    assert.deepEqual({ ...withVersion(base), version: undefined }, { ...base, version: undefined });
  });
});

describe('canonical orders', () => {
  it('compares strings by code unit, and ports by name, number, protocol, appProtocol', () => {
    assert.deepEqual(
      [
        compareStrings('a', 'b'),
        compareStrings('b', 'a'),
        compareStrings('a', 'a'),
        compareStrings('B', 'a'),
      ],
      [-1, 1, 0, -1],
    );
    const ports: EndpointPort[] = [
      { name: 'b', port: 1, protocol: 'TCP' },
      { name: 'a', port: 2, protocol: 'UDP' },
      { name: 'a', port: 2, protocol: 'TCP', appProtocol: 'h2c' },
      { name: 'a', port: 2, protocol: 'TCP' },
      { name: 'a', port: 1, protocol: 'TCP' },
    ];
    assert.deepEqual(
      [...ports]
        .sort(compareEndpointPorts)
        .map((p) => `${p.name}/${p.port}/${p.protocol}/${p.appProtocol ?? ''}`),
      ['a/1/TCP/', 'a/2/TCP/', 'a/2/TCP/h2c', 'a/2/UDP/', 'b/1/TCP/'],
    );
    assert.equal(compareEndpointPorts(http, { ...http }), 0);
    assert.equal(serviceKeyString({ namespace: 'shop', name: 'web' }), 'shop/web');
  });
});
