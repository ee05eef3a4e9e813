import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { contentVersion, type ServiceEndpoints } from '../src/model.ts';
import { routableEndpoints } from '../src/views/endpoint-sets.ts';
import { convertEndpoints, mergeEndpointSlices } from '../src/kube/convert.ts';
import {
  parseEndpointSlice,
  parseEndpoints,
  type EndpointSliceObject,
  type EndpointsObject,
} from '../src/kube/objects.ts';

// Objects shaped as the API server sends them in a list (items carry no kind/apiVersion).
function slice(raw: Record<string, unknown>): EndpointSliceObject {
  const parsed = parseEndpointSlice(raw);
  if (!parsed.ok) throw new Error(`fixture invalid: ${JSON.stringify(parsed.problems)}`);
  return parsed.value;
}

function endpointsObject(raw: Record<string, unknown>): EndpointsObject {
  const parsed = parseEndpoints(raw);
  if (!parsed.ok) throw new Error(`fixture invalid: ${JSON.stringify(parsed.problems)}`);
  return parsed.value;
}

const web = { namespace: 'shop', name: 'web' };

function controllerSlice(
  name: string,
  addressType: 'IPv4' | 'IPv6' | 'FQDN',
  endpoints: unknown[] | null,
  ports: unknown[] = [{ name: 'http', port: 8080, protocol: 'TCP' }],
): EndpointSliceObject {
  return slice({
    metadata: {
      name,
      generateName: 'web-',
      namespace: 'shop',
      uid: `uid-${name}`,
      resourceVersion: '48213',
      labels: {
        'kubernetes.io/service-name': 'web',
        'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io',
      },
      ownerReferences: [{ apiVersion: 'v1', kind: 'Service', name: 'web', uid: 'svc-uid', controller: true }],
    },
    addressType,
    endpoints,
    ports,
  });
}

function pod(
  ip: string,
  conditions: Record<string, boolean | null> | undefined,
  extra: object = {},
): unknown {
  return {
    addresses: [ip],
    ...(conditions === undefined ? {} : { conditions }),
    nodeName: 'node-1',
    zone: 'zone-a',
    targetRef: { kind: 'Pod', namespace: 'shop', name: `web-${ip}`, uid: `pod-${ip}` },
    ...extra,
  };
}

const addressesOf = (service: ServiceEndpoints): string[] =>
  service.endpoints.map((e) => e.addresses[0] ?? '');

describe('mergeEndpointSlices', () => {
  it('merges every slice of a Service and sorts endpoints by address', () => {
    const merged = mergeEndpointSlices(web, [
      controllerSlice('web-b', 'IPv4', [pod('10.0.0.9', { ready: true })]),
      controllerSlice('web-a', 'IPv4', [pod('10.0.0.2', { ready: true }), pod('10.0.0.10', { ready: true })]),
    ]);
    assert.deepEqual(addressesOf(merged), ['10.0.0.10', '10.0.0.2', '10.0.0.9']);
    assert.equal(merged.namespace, 'shop');
    assert.equal(merged.name, 'web');
  });

  it('counts an endpoint that sits in two slices once, preferring the non-terminating copy', () => {
    const moving = mergeEndpointSlices(web, [
      controllerSlice('web-a', 'IPv4', [pod('10.0.0.5', { ready: false, serving: true, terminating: true })]),
      controllerSlice('web-b', 'IPv4', [pod('10.0.0.5', { ready: true, serving: true, terminating: false })]),
    ]);
    assert.equal(moving.endpoints.length, 1);
    assert.equal(moving.endpoints[0]?.terminating, false);
    assert.equal(moving.endpoints[0]?.ready, true);

    const reversed = mergeEndpointSlices(web, [
      controllerSlice('web-b', 'IPv4', [pod('10.0.0.5', { ready: false, serving: true, terminating: true })]),
      controllerSlice('web-a', 'IPv4', [pod('10.0.0.5', { ready: true, serving: true, terminating: false })]),
    ]);
    assert.deepEqual(reversed, moving);
  });

  it('applies the condition defaults: ready and serving nil mean true, terminating nil means false', () => {
    const merged = mergeEndpointSlices(web, [
      controllerSlice('web-a', 'IPv4', [
        pod('10.0.0.1', undefined),
        pod('10.0.0.2', { ready: null, serving: null, terminating: null }),
      ]),
    ]);
    for (const endpoint of merged.endpoints) {
      assert.equal(endpoint.ready, true);
      assert.equal(endpoint.serving, true);
      assert.equal(endpoint.terminating, false);
    }
  });

  it('keeps the ports of each slice with its endpoints, so one port name can map to different numbers', () => {
    const merged = mergeEndpointSlices(web, [
      controllerSlice('web-old', 'IPv4', [pod('10.0.0.1', { ready: true })], [{ name: 'http', port: 8080 }]),
      controllerSlice('web-new', 'IPv4', [pod('10.0.0.2', { ready: true })], [{ name: 'http', port: 9090 }]),
    ]);
    assert.deepEqual(
      merged.endpoints.map((e) => [e.addresses[0], e.ports.map((p) => p.port)]),
      [
        ['10.0.0.1', [8080]],
        ['10.0.0.2', [9090]],
      ],
    );
    assert.deepEqual(
      merged.ports.map((p) => `${p.name}:${p.port}/${p.protocol}`),
      ['http:8080/TCP', 'http:9090/TCP'],
    );
  });

  it('merges the IPv4 and IPv6 slices of a dual-stack Service', () => {
    const merged = mergeEndpointSlices(web, [
      controllerSlice('web-v4', 'IPv4', [pod('10.0.0.1', { ready: true })]),
      controllerSlice('web-v6', 'IPv6', [pod('fd00::1', { ready: true })]),
    ]);
    assert.deepEqual(
      merged.endpoints.map((e) => [e.addresses[0], e.addressType]),
      [
        ['10.0.0.1', 'IPv4'],
        ['fd00::1', 'IPv6'],
      ],
    );
  });

  it('keeps FQDN endpoints, marked as such, but never routes to them', () => {
    const merged = mergeEndpointSlices(web, [
      controllerSlice('web-dns', 'FQDN', [pod('db.example.com', { ready: true })]),
      controllerSlice('web-v4', 'IPv4', [pod('10.0.0.1', { ready: true })]),
    ]);
    assert.deepEqual(
      merged.endpoints.map((e) => e.addressType),
      ['IPv4', 'FQDN'],
    );
    assert.deepEqual(
      routableEndpoints(merged.endpoints).map((e) => e.addresses[0]),
      ['10.0.0.1'],
    );
  });

  it('handles a slice whose endpoints are null, as the API server sends an empty slice', () => {
    const merged = mergeEndpointSlices(web, [controllerSlice('web-a', 'IPv4', null)]);
    assert.deepEqual(merged.endpoints, []);
    assert.deepEqual(merged.ports, [{ name: 'http', port: 8080, protocol: 'TCP' }]);
  });

  it('defaults a port without name to "" and without protocol to TCP, and keeps appProtocol', () => {
    const merged = mergeEndpointSlices(web, [
      controllerSlice(
        'web-a',
        'IPv4',
        [pod('10.0.0.1', { ready: true })],
        [{ port: 80 }, { name: 'grpc', port: 9000, protocol: 'TCP', appProtocol: 'kubernetes.io/h2c' }],
      ),
    ]);
    assert.deepEqual(merged.ports, [
      { name: '', port: 80, protocol: 'TCP' },
      { name: 'grpc', port: 9000, protocol: 'TCP', appProtocol: 'kubernetes.io/h2c' },
    ]);
  });

  it('keeps hostname, nodeName, zone, targetRef and topology hints', () => {
    const merged = mergeEndpointSlices(web, [
      controllerSlice('web-a', 'IPv4', [
        pod(
          '10.0.0.1',
          { ready: true },
          { hostname: 'web-0', hints: { forZones: [{ name: 'zone-b' }, { name: 'zone-a' }] } },
        ),
      ]),
    ]);
    assert.deepEqual(merged.endpoints[0], {
      addresses: ['10.0.0.1'],
      addressType: 'IPv4',
      ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
      ready: true,
      serving: true,
      terminating: false,
      hostname: 'web-0',
      nodeName: 'node-1',
      zone: 'zone-a',
      targetRef: { kind: 'Pod', namespace: 'shop', name: 'web-10.0.0.1', uid: 'pod-10.0.0.1' },
      hintsForZones: ['zone-a', 'zone-b'],
    });
  });

  it('gives equal versions to equal content whatever the order of slices and endpoints', () => {
    const a = mergeEndpointSlices(web, [
      controllerSlice('web-a', 'IPv4', [pod('10.0.0.1', { ready: true }), pod('10.0.0.2', { ready: false })]),
      controllerSlice('web-b', 'IPv6', [pod('fd00::1', { ready: true })]),
    ]);
    const b = mergeEndpointSlices(web, [
      controllerSlice('web-b', 'IPv6', [pod('fd00::1', { ready: true })]),
      controllerSlice('web-a', 'IPv4', [pod('10.0.0.2', { ready: false }), pod('10.0.0.1', { ready: true })]),
    ]);
    assert.equal(contentVersion(a), contentVersion(b));
    const changed = mergeEndpointSlices(web, [
      controllerSlice('web-a', 'IPv4', [pod('10.0.0.1', { ready: true }), pod('10.0.0.2', { ready: true })]),
      controllerSlice('web-b', 'IPv6', [pod('fd00::1', { ready: true })]),
    ]);
    assert.notEqual(contentVersion(a), contentVersion(changed));
  });
});

describe('routableEndpoints', () => {
  it('returns the ready endpoints when any is ready', () => {
    const merged = mergeEndpointSlices(web, [
      controllerSlice('web-a', 'IPv4', [
        pod('10.0.0.1', { ready: true, serving: true, terminating: false }),
        pod('10.0.0.2', { ready: false, serving: true, terminating: true }),
        pod('10.0.0.3', { ready: false, serving: false, terminating: false }),
      ]),
    ]);
    assert.deepEqual(
      routableEndpoints(merged.endpoints).map((e) => e.addresses[0]),
      ['10.0.0.1'],
    );
  });

  it('falls back to serving and terminating endpoints when none is ready, as kube-proxy does', () => {
    const merged = mergeEndpointSlices(web, [
      controllerSlice('web-a', 'IPv4', [
        pod('10.0.0.2', { ready: false, serving: true, terminating: true }),
        pod('10.0.0.3', { ready: false, serving: false, terminating: true }),
        pod('10.0.0.4', { ready: false, serving: true, terminating: false }),
      ]),
    ]);
    assert.deepEqual(
      routableEndpoints(merged.endpoints).map((e) => e.addresses[0]),
      ['10.0.0.2'],
    );
  });

  it('returns nothing when nothing is ready or draining', () => {
    const merged = mergeEndpointSlices(web, [
      controllerSlice('web-a', 'IPv4', [
        pod('10.0.0.3', { ready: false, serving: false, terminating: false }),
      ]),
    ]);
    assert.deepEqual(routableEndpoints(merged.endpoints), []);
  });
});

describe('convertEndpoints', () => {
  const legacy = {
    metadata: { name: 'db', namespace: 'shop', resourceVersion: '77' },
    subsets: [
      {
        addresses: [
          {
            ip: '10.0.1.1',
            hostname: 'db-0',
            nodeName: 'node-1',
            targetRef: { kind: 'Pod', name: 'db-0', namespace: 'shop' },
          },
          { ip: '10.0.1.2' },
        ],
        notReadyAddresses: [{ ip: '10.0.1.3' }],
        ports: [{ name: 'pg', port: 5432, protocol: 'TCP' }],
      },
      { addresses: [{ ip: '10.0.1.9' }], ports: [{ name: 'pg', port: 6432 }] },
    ],
  };

  it('maps addresses to ready and notReadyAddresses to not ready, each with its subset ports', () => {
    const converted = convertEndpoints(endpointsObject(legacy));
    assert.deepEqual(
      converted.endpoints.map((e) => [e.addresses[0], e.ready, e.serving, e.terminating, e.ports[0]?.port]),
      [
        ['10.0.1.1', true, true, false, 5432],
        ['10.0.1.2', true, true, false, 5432],
        ['10.0.1.3', false, false, false, 5432],
        ['10.0.1.9', true, true, false, 6432],
      ],
    );
    assert.equal(converted.endpoints[0]?.hostname, 'db-0');
    assert.deepEqual(converted.endpoints[0]?.targetRef, { kind: 'Pod', namespace: 'shop', name: 'db-0' });
    assert.equal(converted.truncated, undefined);
  });

  it('reads the address type from each IP', () => {
    const converted = convertEndpoints(
      endpointsObject({
        metadata: { name: 'db', namespace: 'shop' },
        subsets: [{ addresses: [{ ip: 'fd00::7' }], ports: [{ port: 80 }] }],
      }),
    );
    assert.equal(converted.endpoints[0]?.addressType, 'IPv6');
  });

  it('marks an object the API server truncated at 1,000 addresses', () => {
    const converted = convertEndpoints(
      endpointsObject({
        ...legacy,
        metadata: {
          ...legacy.metadata,
          annotations: { 'endpoints.kubernetes.io/over-capacity': 'truncated' },
        },
      }),
    );
    assert.equal(converted.truncated, true);
    assert.notEqual(contentVersion(converted), contentVersion(convertEndpoints(endpointsObject(legacy))));
  });

  it('treats an object without subsets as a Service with no endpoints', () => {
    const converted = convertEndpoints(
      endpointsObject({ metadata: { name: 'db', namespace: 'shop' }, subsets: null }),
    );
    assert.deepEqual(converted.endpoints, []);
    assert.deepEqual(converted.ports, []);
  });
});

describe('object validation', () => {
  it('names each field that is wrong in an EndpointSlice', () => {
    const parsed = parseEndpointSlice({
      metadata: { name: 'Bad_Name', namespace: 'shop' },
      addressType: 'IPv4',
      endpoints: [{ addresses: ['10.0.0.300'] }, { addresses: ['fd00::1'] }],
      ports: [{ name: 'http', port: 70000 }],
    });
    assert.equal(parsed.ok, false);
    const paths = parsed.ok ? [] : parsed.problems.map((p) => p.path).sort();
    assert.deepEqual(paths, [
      'endpoints.0.addresses.0',
      'endpoints.1.addresses.0',
      'metadata.name',
      'ports.0.port',
    ]);
  });

  it('refuses an unknown address type and an endpoint without addresses', () => {
    const parsed = parseEndpointSlice({
      metadata: { name: 'web-a', namespace: 'shop' },
      addressType: 'IPX',
      endpoints: [{ addresses: [] }],
    });
    assert.equal(parsed.ok, false);
    assert.deepEqual(parsed.ok ? [] : parsed.problems.map((p) => p.path).sort(), [
      'addressType',
      'endpoints.0.addresses',
    ]);
  });

  it('refuses an Endpoints address that is not an IP', () => {
    const parsed = parseEndpoints({
      metadata: { name: 'db', namespace: 'shop' },
      subsets: [{ addresses: [{ ip: 'db.example.com' }], ports: [{ port: 5432 }] }],
    });
    assert.equal(parsed.ok, false);
    assert.deepEqual(parsed.ok ? [] : parsed.problems.map((p) => p.path), ['subsets.0.addresses.0.ip']);
  });
});
