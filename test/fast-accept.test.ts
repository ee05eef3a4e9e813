// The fast path of validation (src/kube/fast-accept.ts) against the schema it stands in for (src/kube/objects.ts):
// on arbitrary objects, valid or not in any field, it accepts exactly the valid ones and builds exactly what the
// schema builds; parseEndpointSlice/parseService still name every problem of the invalid ones.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { acceptEndpointSlice, acceptService } from '../src/kube/fast-accept.ts';
import {
  parseEndpointSlice,
  parseEndpointSliceBySchema,
  parseService,
  serviceSchema,
} from '../src/kube/objects.ts';

/** A value that is sometimes absent (no key), given as undefined, null, or of the wrong type. */
function field<T>(good: fc.Arbitrary<T>, nullable = true): fc.Arbitrary<unknown> {
  const odd: fc.Arbitrary<unknown>[] = [
    fc.constant(undefined),
    fc.integer(),
    fc.string(),
    fc.boolean(),
    fc.constant([]),
    fc.constant({}),
  ];
  if (nullable) odd.push(fc.constant(null));
  return fc.oneof({ weight: 6, arbitrary: good }, ...odd.map((arbitrary) => ({ weight: 1, arbitrary })));
}

/** An object of the given fields, each key sometimes left out, plus sometimes a field the schema does not know. */
function record(fields: Record<string, fc.Arbitrary<unknown>>): fc.Arbitrary<unknown> {
  const all: Record<string, fc.Arbitrary<unknown>> = { ...fields, extra: fc.string() };
  const requiredKeys = Object.keys(fields).filter((_, i) => i % 3 === 0);
  return fc.record(all, { requiredKeys }).map((r) => r as unknown);
}

const dnsName = fc.oneof(
  fc.constantFrom('web', 'shop', 'web-7d9f8', 'a.b-c', 'default', 'x'),
  fc.constantFrom('Bad_Name', '', '-x', 'a'.repeat(300)),
);
const portName = fc.constantFrom('http', 'grpc', '', 'h2c-web', 'Bad', 'a--b', 'x'.repeat(20), '123');
const shortText = fc.constantFrom('europe-west1-b', 'node-1', 'Pod', 'kubernetes.io/h2c', 'http', '');
const bool = field(fc.boolean());
const labels = field(
  fc.dictionary(fc.constantFrom('kubernetes.io/service-name', 'app', 'x'), fc.oneof(shortText, fc.integer())),
);
const metadata = field(
  record({
    name: field(dnsName),
    namespace: field(dnsName),
    uid: field(fc.uuid()),
    resourceVersion: field(fc.integer({ min: 1 }).map(String)),
    labels,
    annotations: labels,
  }),
);
const addressType = field(fc.constantFrom('IPv4', 'IPv6', 'FQDN', 'IPX'));
const address = fc.oneof(
  fc.ipV4(),
  fc.ipV6(),
  fc.constantFrom('fe80::1%eth0', 'db.example.com', '10.0.0.300', 'Bad_Host', ''),
);
const reference = field(
  record({
    kind: field(shortText),
    namespace: field(dnsName),
    name: field(dnsName),
    uid: field(fc.uuid()),
  }),
);
const hintList = field(fc.array(field(record({ name: field(shortText) })), { maxLength: 3 }));
const endpoint = field(
  record({
    addresses: field(fc.array(address, { maxLength: 3 })),
    conditions: field(record({ ready: bool, serving: bool, terminating: bool })),
    hostname: field(shortText),
    nodeName: field(shortText),
    zone: field(shortText),
    targetRef: reference,
    hints: field(record({ forZones: hintList, forNodes: hintList })),
  }),
);
const portNumber = field(fc.oneof(fc.integer({ min: -5, max: 70_000 }), fc.constant(1.5)));
const protocol = field(fc.constantFrom('TCP', 'UDP', 'SCTP', 'HTTP'));
const slicePort = field(
  record({ name: field(portName), port: portNumber, protocol, appProtocol: field(shortText) }),
);
const slice = record({
  metadata,
  addressType,
  endpoints: field(fc.array(endpoint, { maxLength: 4 })),
  ports: field(fc.array(slicePort, { maxLength: 3 })),
  apiVersion: field(fc.constant('discovery.k8s.io/v1'), false),
  kind: field(fc.constant('EndpointSlice'), false),
});
const servicePort = field(
  record({
    name: field(portName),
    port: portNumber,
    targetPort: field(fc.oneof(fc.integer(), fc.constant(2 ** 60), fc.constant('http'), fc.constant(1.5))),
    protocol,
    appProtocol: field(shortText),
  }),
);
const service = record({
  metadata,
  spec: field(
    record({
      type: field(fc.constantFrom('ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName', 'Weird')),
      clusterIP: field(fc.constantFrom('None', '10.96.0.1')),
      externalName: field(shortText),
      ports: field(fc.array(servicePort, { maxLength: 3 })),
      trafficDistribution: field(fc.constantFrom('PreferClose', 'PreferSameNode')),
    }),
  ),
  apiVersion: field(fc.constant('v1'), false),
  kind: field(fc.constant('Service'), false),
});

/** A valid slice, so that the property also runs often on the fast path's whole output, not only on refusals. */
const validSlice = fc
  .record({
    name: fc.constantFrom('web-abc', 'api-1'),
    type: fc.constantFrom('IPv4' as const, 'IPv6' as const),
    endpoints: fc.array(
      fc.record(
        {
          ready: fc.boolean(),
          serving: fc.option(fc.boolean()),
          nodeName: fc.constantFrom('node-a', 'node-b'),
          zone: fc.constantFrom('z1', 'z2'),
          uid: fc.uuid(),
        },
        { requiredKeys: ['ready'] },
      ),
      { maxLength: 5 },
    ),
  })
  .map(({ name, type, endpoints }) => ({
    metadata: { name, namespace: 'shop', labels: { 'kubernetes.io/service-name': 'web' } },
    addressType: type,
    endpoints: endpoints.map((e, i) => ({
      addresses: [type === 'IPv4' ? `10.0.0.${i + 1}` : `fd00::${i + 1}`],
      conditions: { ready: e.ready, serving: e.serving },
      nodeName: e.nodeName,
      zone: e.zone,
      targetRef: { kind: 'Pod', namespace: 'shop', name: `${name}-${i}`, uid: e.uid },
    })),
    ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
  }));

/** Values that break some field or other: wrong types, out of range, names and addresses that are not. */
const ODD: readonly unknown[] = [
  undefined,
  null,
  0,
  -1,
  1.5,
  70_000,
  2 ** 60,
  true,
  '',
  'Bad_Name',
  'a--b',
  '123',
  'x'.repeat(300),
  'fe80::1%eth0',
  '10.0.0.300',
  'fd00::1',
  '10.0.0.9',
  'IPX',
  'HTTP',
  'Weird',
  [],
  {},
  { __proto__: null, name: 'x' },
  [undefined],
  JSON.parse('{"__proto__": "x", "app": "web"}') as unknown,
];
const DELETE = Symbol('delete the key');

/** Every place in `value` (an object or array path) where a field can be replaced or removed. */
function places(value: unknown, path: (string | number)[] = []): (string | number)[][] {
  if (typeof value !== 'object' || value === null) return [];
  const out: (string | number)[][] = [];
  for (const [key, child] of Object.entries(value)) {
    const at = [...path, Array.isArray(value) ? Number(key) : key];
    out.push(at, ...places(child, at));
  }
  return out;
}

/** `base` with one field replaced by `replacement` (or removed), everything else as it was. */
function withOneChange(base: unknown, path: (string | number)[], replacement: unknown): unknown {
  const copy = structuredClone(base) as Record<string | number, unknown>;
  let parent: Record<string | number, unknown> = copy;
  for (const key of path.slice(0, -1)) parent = parent[key] as Record<string | number, unknown>;
  const last = path[path.length - 1] ?? '';
  if (replacement === DELETE) delete parent[last];
  else parent[last] = replacement;
  return copy;
}

/** A valid object with at most one field changed to something odd: each rule of the schema is met alone. */
function oneFieldOff(valid: fc.Arbitrary<unknown>): fc.Arbitrary<unknown> {
  return valid.chain((base) => {
    const all = places(base);
    return fc.oneof(
      fc.constant(base),
      fc
        .tuple(fc.nat({ max: all.length - 1 }), fc.constantFrom(...ODD, DELETE))
        .map(([i, odd]) => withOneChange(base, all[i] ?? [], odd)),
    );
  });
}

const richSlice = fc
  .record({
    name: fc.constantFrom('web-abc', 'api-1'),
    type: fc.constantFrom('IPv4' as const, 'IPv6' as const, 'FQDN' as const),
    endpoints: fc.array(
      fc.record({
        ready: fc.option(fc.boolean()),
        terminating: fc.boolean(),
        hostname: fc.option(fc.constantFrom('web-0', 'web-1')),
        zone: fc.constantFrom('z1', 'z2'),
        uid: fc.uuid(),
        zones: fc.option(fc.constantFrom(['z1'], ['z1', 'z2'])),
      }),
      { minLength: 1, maxLength: 3 },
    ),
    portName: fc.constantFrom('http', '', 'h2c-web'),
  })
  .map(({ name, type, endpoints, portName }) => ({
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      name,
      namespace: 'shop',
      uid: 'u-1',
      resourceVersion: '12',
      labels: { 'kubernetes.io/service-name': 'web' },
      annotations: { note: 'x' },
    },
    addressType: type,
    endpoints: endpoints.map((e, i) => ({
      addresses: [
        type === 'IPv4' ? `10.0.0.${i + 1}` : type === 'IPv6' ? `fd00::${i + 1}` : `web-${i}.example.com`,
      ],
      conditions: { ready: e.ready, serving: true, terminating: e.terminating },
      hostname: e.hostname,
      nodeName: 'node-a',
      zone: e.zone,
      targetRef: { kind: 'Pod', namespace: 'shop', name: `${name}-${i}`, uid: e.uid },
      hints:
        e.zones === null
          ? null
          : { forZones: e.zones.map((z) => ({ name: z })), forNodes: [{ name: 'node-a' }] },
    })),
    ports: [
      { name: portName, port: 8080, protocol: 'TCP', appProtocol: 'http' },
      { name: 'grpc', port: 9000, protocol: 'UDP' },
    ],
  }));

const richService = fc
  .record({
    type: fc.constantFrom('ClusterIP', 'NodePort', 'ExternalName'),
    targetPort: fc.oneof(fc.integer({ min: 1, max: 65535 }), fc.constant('http')),
  })
  .map(({ type, targetPort }) => ({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'web', namespace: 'shop', uid: 'u-2', labels: { app: 'web' } },
    spec: {
      type,
      clusterIP: 'None',
      externalName: 'db.example.com',
      ports: [{ name: 'http', port: 80, targetPort, protocol: 'TCP', appProtocol: 'http' }],
      trafficDistribution: 'PreferClose',
    },
  }));

/** What the schema and the address rule that parseEndpointSlice adds to it say of `raw`. */
function schemaSlice(raw: unknown): { ok: boolean; value?: unknown } {
  const parsed = parseEndpointSliceBySchema(raw);
  return parsed.ok ? { ok: true, value: parsed.value } : { ok: false };
}

describe('validation fast path', () => {
  it('accepts exactly the EndpointSlices the schema accepts, and builds the same object', () => {
    fc.assert(
      fc.property(fc.oneof(slice, validSlice, oneFieldOff(richSlice), oneFieldOff(richSlice)), (raw) => {
        const fast = acceptEndpointSlice(raw);
        const schema = schemaSlice(raw);
        assert.equal(fast !== undefined, schema.ok, 'accepted by one and not the other');
        if (fast !== undefined) assert.deepStrictEqual(fast, schema.value);
      }),
      { numRuns: 6000 },
    );
  });

  it('accepts exactly the Services the schema accepts, and builds the same object', () => {
    fc.assert(
      fc.property(fc.oneof(service, oneFieldOff(richService)), (raw) => {
        const fast = acceptService(raw);
        const schema = serviceSchema.safeParse(raw);
        assert.equal(fast !== undefined, schema.success, 'accepted by one and not the other');
        if (fast !== undefined) assert.deepStrictEqual(fast, schema.data);
      }),
      { numRuns: 3000 },
    );
  });

  it('leaves the problems of an invalid object to the schema: every wrong field is still named', () => {
    const parsed = parseEndpointSlice({
      metadata: { name: 'web-a', namespace: 'shop' },
      addressType: 'IPv4',
      endpoints: [
        { addresses: ['10.0.0.1'], conditions: { ready: 'yes' } },
        { addresses: ['10.0.0.300'], zone: 7 },
      ],
    });
    assert.equal(parsed.ok, false);
    assert.deepEqual(parsed.ok ? [] : parsed.problems.map((p) => p.path).sort(), [
      'endpoints.0.conditions.ready',
      'endpoints.1.addresses.0',
      'endpoints.1.zone',
    ]);
    const badService = parseService({ metadata: { name: 'web' }, spec: { ports: [{ port: 0 }] } });
    assert.deepEqual(badService.ok ? [] : badService.problems.map((p) => p.path), ['spec.ports.0.port']);
  });

  it('shares the conditions and the repeated strings of endpoints, and never lets them be changed', () => {
    const raw = JSON.parse(
      JSON.stringify({
        metadata: { name: 'web-a', namespace: 'shop' },
        addressType: 'IPv4',
        endpoints: [1, 2].map((i) => ({
          addresses: [`10.0.0.${i}`],
          conditions: { ready: true, serving: true, terminating: false },
          zone: 'europe-west1-b',
        })),
      }),
    ) as unknown;
    const accepted = acceptEndpointSlice(raw);
    const [a, b] = accepted?.endpoints ?? [];
    assert.ok(a?.conditions !== undefined && a.conditions === b?.conditions, 'one conditions object');
    assert.ok(Object.isFrozen(a.conditions));
    assert.deepEqual(a.conditions, { ready: true, serving: true, terminating: false });
    assert.equal(parseEndpointSlice(raw).ok, true);
  });

  it('keeps the parts it built when given them again (a listed item spread with its kind), and they cannot change', () => {
    fc.assert(
      fc.property(richSlice, (raw) => {
        const listed = acceptEndpointSlice(raw);
        assert.ok(listed !== undefined);
        const withKind = { kind: 'EndpointSlice', ...listed };
        const again = acceptEndpointSlice(withKind);
        assert.ok(again !== undefined);
        assert.equal(again.metadata, listed.metadata);
        assert.equal(again.endpoints, listed.endpoints);
        assert.equal(again.ports, listed.ports);
        assert.deepStrictEqual(
          again,
          parseEndpointSliceBySchema(withKind).ok ? schemaSlice(withKind).value : undefined,
        );
        assert.throws(() => (listed.endpoints as unknown[]).push({ addresses: ['x'] }), TypeError);
        assert.throws(() => Object.assign(listed.metadata, { name: 'Bad_Name' }), TypeError);
        assert.throws(() => Object.assign(listed.endpoints?.[0] ?? {}, { zone: 7 }), TypeError);
      }),
      { numRuns: 200 },
    );
    // Parts built for one address type are not taken as valid for another.
    const v4 = acceptEndpointSlice({
      metadata: { name: 'web-a', namespace: 'shop' },
      addressType: 'IPv4',
      endpoints: [{ addresses: ['10.0.0.1'] }],
    });
    assert.equal(acceptEndpointSlice({ ...v4, addressType: 'IPv6' }), undefined);
  });
});
