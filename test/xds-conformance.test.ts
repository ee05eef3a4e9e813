// Our proto subset (proto/envoy/**) is wire-compatible with Envoy's API: every resource and response endpointd
// encodes decodes to the same content under the full upstream definitions that @grpc/grpc-js-xds ships, nested
// Anys included; and requests encoded by upstream definitions decode to what our subset reads.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import protobuf from 'protobufjs';
import { ResourceCatalog } from '../src/api/xds/catalog.ts';
import {
  adsServiceDefinition,
  decodeDeltaDiscoveryRequest,
  decodeDiscoveryRequest,
  encodeDeltaDiscoveryResponse,
  encodeDiscoveryResponse,
  messageType,
  PROTO_DIR,
  PROTO_FILES,
} from '../src/api/xds/encoding.ts';
import { TYPE_URL, type ResourceKind } from '../src/api/xds/wire.ts';
import type { ServiceEndpoints } from '../src/model.ts';
import { newStore, SOURCE, UPSTREAM_PROTO_DIRS } from './support/xds-harness.ts';

function loadUpstream(): protobuf.Root {
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => {
    for (const dir of UPSTREAM_PROTO_DIRS) {
      const candidate = join(dir, target);
      if (existsSync(candidate)) return candidate;
    }
    return target;
  };
  root.loadSync(PROTO_FILES, { keepCase: true });
  return root;
}

type Lookup = (fullName: string) => protobuf.Type;

/** Decodes `bytes` as `typeName` to a plain object, decoding every nested Any by its type URL as well. */
function expand(lookup: Lookup, typeName: string, bytes: Uint8Array): unknown {
  const type = lookup(typeName);
  const object = type.toObject(type.decode(bytes), {
    longs: String,
    enums: Number,
    bytes: Array,
    arrays: true,
  });
  return expandAnys(lookup, object);
}

function expandAnys(lookup: Lookup, value: unknown): unknown {
  if (Array.isArray(value)) return value.map((v) => expandAnys(lookup, v));
  if (value === null || typeof value !== 'object') return value;
  const record = value as Record<string, unknown>;
  if (typeof record.type_url === 'string' && Array.isArray(record.value)) {
    const name = record.type_url.slice(record.type_url.lastIndexOf('/') + 1);
    return {
      type_url: record.type_url,
      value: expand(lookup, name, Uint8Array.from(record.value as number[])),
    };
  }
  // protobufjs materializes absent repeated fields as []: they carry nothing on the wire.
  return Object.fromEntries(
    Object.entries(record)
      .filter(([, v]) => !(Array.isArray(v) && v.length === 0))
      .map(([k, v]) => [k, expandAnys(lookup, v)]),
  );
}

const service: ServiceEndpoints = {
  namespace: 'shop',
  name: 'web',
  ports: [
    { name: 'grpc', port: 8080, protocol: 'TCP', appProtocol: 'kubernetes.io/h2c' },
    { name: 'http', port: 8081, protocol: 'TCP' },
  ],
  endpoints: [
    {
      addresses: ['10.0.0.1'],
      addressType: 'IPv4',
      ports: [{ name: 'grpc', port: 8080, protocol: 'TCP', appProtocol: 'kubernetes.io/h2c' }],
      ready: true,
      serving: true,
      terminating: false,
      zone: 'zone-a',
    },
    {
      addresses: ['10.0.0.2'],
      addressType: 'IPv4',
      ports: [{ name: 'grpc', port: 8080, protocol: 'TCP', appProtocol: 'kubernetes.io/h2c' }],
      ready: false,
      serving: true,
      terminating: true,
      zone: 'zone-b',
    },
    {
      addresses: ['fd00::3'],
      addressType: 'IPv6',
      ports: [{ name: 'http', port: 8081, protocol: 'TCP' }],
      ready: true,
      serving: true,
      terminating: false,
    },
  ],
};

/** Everything a caller-aware assignment carries: priorities, regions (named clusters), dual stack, metadata. */
const zoned: ServiceEndpoints = {
  namespace: 'shop',
  name: 'zoned',
  ports: [{ name: 'grpc', port: 8080, protocol: 'TCP' }],
  endpoints: [
    ['10.0.0.1', 'zone-a', 'east', 'web-0', true],
    ['fd00::1', 'zone-a', 'east', 'web-0', true],
    ['10.0.0.2', 'zone-a', 'east', 'web-1', false],
    ['10.0.1.1', 'zone-b', 'west', 'web-2', true],
  ].map(([address, zone, cluster, pod, ready]) => ({
    addresses: [address as string],
    addressType: (address as string).includes(':') ? ('IPv6' as const) : ('IPv4' as const),
    ports: [{ name: 'grpc', port: 8080, protocol: 'TCP' as const }],
    ready: ready as boolean,
    serving: ready as boolean,
    terminating: false,
    zone: zone as string,
    hintsForZones: [zone as string],
    hostname: pod as string,
    targetRef: { kind: 'Pod', namespace: 'shop', name: pod as string, uid: `uid-${pod as string}` },
    cluster: cluster as string,
  })),
  service: {
    type: 'ClusterIP',
    headless: false,
    ports: [{ name: 'grpc', port: 80, targetPort: 8080, protocol: 'TCP' }],
    trafficDistribution: 'PreferSameZone',
  },
  clusters: [
    { name: 'east', region: 'us-east1', stale: false },
    { name: 'west', stale: true },
  ],
};

describe('proto subset conformance with upstream Envoy definitions', () => {
  let upstream: protobuf.Root;
  let catalog: ResourceCatalog;
  before(() => {
    upstream = loadUpstream();
    const store = newStore();
    store.upsert(SOURCE, service);
    store.upsert(SOURCE, zoned);
    catalog = new ResourceCatalog({
      store,
      instanceId: 'conf',
      maxWildcardResources: 100,
    });
  });
  const ours: Lookup = (name) => messageType(name);
  const theirs: Lookup = (name) => upstream.lookupType(name);

  const cases: [ResourceKind, string][] = [
    ['listener', 'web.shop:8080'],
    ['route', 'web.shop:8080'],
    ['cluster', 'web.shop:grpc'],
    ['cluster', 'web.shop:http'],
    ['endpoint', 'web.shop:grpc'],
    ['endpoint', 'web.shop:8081'],
    ['endpoint', 'web.shop:9999'],
  ];
  for (const [kind, name] of cases) {
    it(`${kind} ${name} decodes to the same content, nested Anys included`, () => {
      const resource = catalog.get(kind, name);
      assert.ok(resource !== undefined);
      const typeName = TYPE_URL[kind].slice(TYPE_URL[kind].lastIndexOf('/') + 1);
      const mine = expand(ours, typeName, resource.any.value);
      assert.deepEqual(expand(theirs, typeName, resource.any.value), mine);
      assert.equal(theirs(typeName).verify(theirs(typeName).decode(resource.any.value)), null);
      // Not vacuous: the content is there.
      assert.ok(JSON.stringify(mine).includes(name));
    });
  }

  it('a caller-aware assignment (priorities, regions, dual stack, hostname, hash_key, UNHEALTHY, policy) decodes the same', () => {
    const resource = catalog.get('endpoint', 'zoned.shop:8080', { zone: 'zone-a', region: 'us-east1' });
    assert.ok(resource !== undefined);
    const typeName = 'envoy.config.endpoint.v3.ClusterLoadAssignment';
    const mine = expand(ours, typeName, resource.any.value);
    assert.deepEqual(expand(theirs, typeName, resource.any.value), mine);
    assert.equal(theirs(typeName).verify(theirs(typeName).decode(resource.any.value)), null);
    const text = JSON.stringify(mine);
    for (const field of [
      'additional_addresses',
      'hash_key',
      'hostname',
      'overprovisioning_factor',
      'us-east1',
      '"priority":1',
    ])
      assert.ok(text.includes(field), `${field} in ${text}`);
  });

  it('DiscoveryResponse and DeltaDiscoveryResponse decode to the same content', () => {
    const cla = catalog.get('endpoint', 'web.shop:grpc');
    assert.ok(cla !== undefined);
    const sotw = encodeDiscoveryResponse({
      version_info: 'v1',
      resources: [cla.any],
      type_url: TYPE_URL.endpoint,
      nonce: '7',
    });
    const name = 'envoy.service.discovery.v3.DiscoveryResponse';
    assert.deepEqual(expand(theirs, name, sotw), expand(ours, name, sotw));
    const delta = encodeDeltaDiscoveryResponse({
      system_version_info: 'v2',
      resources: [{ name: cla.name, version: cla.version, resource: cla.any }],
      type_url: TYPE_URL.endpoint,
      nonce: '8',
      removed_resources: ['gone.shop:1'],
    });
    const deltaName = 'envoy.service.discovery.v3.DeltaDiscoveryResponse';
    assert.deepEqual(expand(theirs, deltaName, delta), expand(ours, deltaName, delta));
  });

  it('requests encoded with upstream definitions decode to what we read', () => {
    const request = theirs('envoy.service.discovery.v3.DiscoveryRequest');
    const bytes = request
      .encode(
        request.fromObject({
          version_info: 'v1',
          node: { id: 'n1', cluster: 'c1', user_agent_name: 'grpc-node-js', locality: { zone: 'z' } },
          resource_names: ['web.shop:8080'],
          type_url: TYPE_URL.listener,
          response_nonce: '3',
          error_detail: { code: 3, message: 'bad' },
        }),
      )
      .finish();
    assert.deepEqual(decodeDiscoveryRequest(Buffer.from(bytes)), {
      version_info: 'v1',
      node: {
        id: 'n1',
        cluster: 'c1',
        user_agent_name: 'grpc-node-js',
        locality: { region: '', zone: 'z', sub_zone: '' },
      },
      resource_names: ['web.shop:8080'],
      type_url: TYPE_URL.listener,
      response_nonce: '3',
      error_detail: { code: 3, message: 'bad' },
    });
    const delta = theirs('envoy.service.discovery.v3.DeltaDiscoveryRequest');
    const deltaBytes = delta
      .encode(
        delta.fromObject({
          node: { id: 'envoy-1' },
          type_url: TYPE_URL.cluster,
          resource_names_subscribe: ['*'],
          resource_names_unsubscribe: ['a.b:1'],
          initial_resource_versions: { 'web.shop:grpc': 'v9' },
          response_nonce: '4',
        }),
      )
      .finish();
    assert.deepEqual(decodeDeltaDiscoveryRequest(Buffer.from(deltaBytes)), {
      node: { id: 'envoy-1', cluster: '', user_agent_name: '' },
      type_url: TYPE_URL.cluster,
      resource_names_subscribe: ['*'],
      resource_names_unsubscribe: ['a.b:1'],
      initial_resource_versions: { 'web.shop:grpc': 'v9' },
      response_nonce: '4',
      error_detail: undefined,
    });
  });

  it('keeps every message and field of the subset under the same number as upstream', () => {
    const ourRoot = messageType('envoy.service.discovery.v3.DiscoveryRequest').root;
    let checked = 0;
    upstream.resolveAll();
    const visit = (ns: protobuf.NamespaceBase): void => {
      for (const nested of ns.nestedArray) {
        if (nested instanceof protobuf.Type) {
          const other = upstream.lookupType(nested.fullName);
          for (const field of nested.fieldsArray) {
            const twin = other.fields[field.name];
            assert.ok(twin !== undefined, `${nested.fullName}.${field.name} is not upstream`);
            assert.equal(field.id, twin.id, `${nested.fullName}.${field.name}`);
            assert.equal(
              field.resolvedType?.fullName ?? field.type,
              twin.resolvedType?.fullName ?? twin.type,
              `${nested.fullName}.${field.name} type`,
            );
            assert.equal(field.repeated, twin.repeated, `${nested.fullName}.${field.name} repeated`);
            checked += 1;
          }
        }
        if (nested instanceof protobuf.Enum) {
          const other = upstream.lookupEnum(nested.fullName);
          for (const [name, id] of Object.entries(nested.values))
            assert.equal(other.values[name], id, `${nested.fullName}.${name}`);
        }
        if ('nestedArray' in nested && !nested.fullName.startsWith('.google.protobuf')) visit(nested);
      }
    };
    visit(ourRoot);
    assert.ok(checked > 50, `checked ${checked} fields`);
    assert.ok(PROTO_DIR.endsWith('/proto/'));
    assert.ok(adsServiceDefinition.StreamAggregatedResources.path.startsWith('/envoy.service.discovery.v3.'));
  });
});
