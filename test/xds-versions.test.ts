// Pure pieces of the xDS door the protocol tests reach only indirectly: response versions (equal content, equal
// version, in any order; one resource's version is its own), the Listener and Cluster as Envoy and gRPC read them,
// which appProtocols mean HTTP/2, and the details of an assignment (best copy of a duplicate, weights, order).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeMessage } from '../src/api/xds/encoding.ts';
import {
  buildCluster,
  buildClusterLoadAssignment,
  buildListener,
  speaksHttp2,
} from '../src/api/xds/resources.ts';
import { versionOf } from '../src/api/xds/stream-common.ts';
import {
  HEALTH_STATUS,
  HTTP_CONNECTION_MANAGER_TYPE_URL,
  HTTP_PROTOCOL_OPTIONS_KEY,
  HTTP_PROTOCOL_OPTIONS_TYPE_URL,
  ROUTER_TYPE_URL,
} from '../src/api/xds/wire.ts';
import type { Endpoint, ServiceEndpoints } from '../src/model.ts';

describe('versionOf', () => {
  it('is the resource’s own version for one resource, and a hash with the instance id for several', () => {
    assert.equal(versionOf([['a', 'v1.x']], 'inst'), 'v1.x');
    const two = versionOf(
      [
        ['a', 'v1'],
        ['b', 'v2'],
      ],
      'inst',
    );
    assert.match(two, /^[A-Za-z0-9_-]{16}\.inst$/);
    assert.notEqual(versionOf([], 'inst'), two);
    assert.match(versionOf([], 'inst'), /^[A-Za-z0-9_-]{16}\.inst$/);
  });

  it('does not depend on the order of the resources, and changes with any name or version', () => {
    const names = ['c', 'a', 'b', 'e', 'd'];
    const entries = names.map((n) => [n, `v-${n}`] as const);
    const version = versionOf(entries, 'i');
    for (const order of [
      [...entries].reverse(),
      [...entries].sort(),
      [entries[2]!, entries[0]!, entries[4]!, entries[1]!, entries[3]!],
    ]) {
      assert.equal(versionOf(order, 'i'), version);
    }
    assert.notEqual(
      versionOf(
        entries.map(([n, v]) => [n, n === 'b' ? 'other' : v] as const),
        'i',
      ),
      version,
    );
    assert.notEqual(
      versionOf(
        entries.map(([n, v]) => [n === 'b' ? 'bb' : n, v] as const),
        'i',
      ),
      version,
    );
    // The separators keep name and version apart: moving a character between them is another content.
    assert.notEqual(
      versionOf(
        [
          ['ab', 'c'],
          ['x', 'y'],
        ],
        'i',
      ),
      versionOf(
        [
          ['a', 'bc'],
          ['x', 'y'],
        ],
        'i',
      ),
    );
    assert.notEqual(versionOf(entries, 'j'), version, 'another instance, another version');
  });
});

describe('Listener and Cluster', () => {
  it('Listener: an api_listener HttpConnectionManager with the route inline and one router filter', () => {
    const listener = buildListener('web.shop:8080');
    assert.equal(listener.name, 'web.shop:8080');
    const any = listener.api_listener.api_listener;
    assert.equal(any.type_url, HTTP_CONNECTION_MANAGER_TYPE_URL);
    const manager = decodeMessage(
      'envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
      any.value,
    ) as {
      stat_prefix: string;
      route_config: {
        name: string;
        virtual_hosts: { domains: string[]; routes: { route: { cluster: string } }[] }[];
      };
      http_filters: { name: string; typed_config: { type_url: string } }[];
    };
    assert.equal(manager.stat_prefix, 'web.shop:8080');
    assert.equal(manager.route_config.name, 'web.shop:8080');
    assert.deepEqual(manager.route_config.virtual_hosts[0]?.domains, ['*']);
    assert.equal(manager.route_config.virtual_hosts[0]?.routes[0]?.route.cluster, 'web.shop:8080');
    assert.deepEqual(
      manager.http_filters.map((f) => [f.name, f.typed_config.type_url]),
      [['envoy.filters.http.router', ROUTER_TYPE_URL]],
    );
  });

  it('Cluster: a 5 s connect timeout, round robin, and explicit HTTP/2 options for gRPC ports', () => {
    const plain = buildCluster('web.shop:8080', false);
    assert.deepEqual(plain.connect_timeout, { seconds: 5 });
    assert.equal(plain.lb_policy, 0);
    const h2 = buildCluster('web.shop:8080', true);
    const options = h2.typed_extension_protocol_options?.[HTTP_PROTOCOL_OPTIONS_KEY];
    assert.equal(options?.type_url, HTTP_PROTOCOL_OPTIONS_TYPE_URL);
    const decoded = decodeMessage(
      'envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
      options.value,
    ) as {
      explicit_http_config?: { http2_protocol_options?: object };
    };
    assert.ok(decoded.explicit_http_config?.http2_protocol_options !== undefined, 'HTTP/2 upstream');
  });

  it('HTTP/2 is every spelling of gRPC and h2c, in any case, and nothing else', () => {
    const withApp = (appProtocol: string | undefined): ServiceEndpoints => ({
      namespace: 'shop',
      name: 'web',
      ports: [
        { name: 'p', port: 80, protocol: 'TCP', ...(appProtocol === undefined ? {} : { appProtocol }) },
      ],
      endpoints: [],
    });
    for (const app of [
      'grpc',
      'h2c',
      'http2',
      'kubernetes.io/h2c',
      'kubernetes.io/grpc',
      'GRPC',
      'Kubernetes.io/H2C',
    ]) {
      assert.equal(speaksHttp2(withApp(app), { name: 'p' }), true, app);
    }
    for (const app of [undefined, 'http', 'https', 'kubernetes.io/ws', '']) {
      assert.equal(speaksHttp2(withApp(app), { name: 'p' }), false, String(app));
    }
    assert.equal(speaksHttp2(withApp('grpc'), { name: 'other' }), false, 'a port the Service does not have');
    assert.equal(speaksHttp2(withApp('grpc'), { number: 80 }), true);
  });
});

describe('ClusterLoadAssignment details', () => {
  const endpoint = (address: string, port: number, extra: Partial<Endpoint> = {}): Endpoint => ({
    addresses: [address],
    addressType: 'IPv4',
    ports: [{ name: 'grpc', port, protocol: 'TCP' }],
    ready: true,
    serving: true,
    terminating: false,
    ...extra,
  });
  const svc = (endpoints: Endpoint[]): ServiceEndpoints => ({
    namespace: 'shop',
    name: 'web',
    ports: [{ name: 'grpc', port: 8080, protocol: 'TCP' }],
    endpoints,
  });
  const flat = (service: ServiceEndpoints) =>
    buildClusterLoadAssignment('n', service, { name: 'grpc' }, { overprovisioningFactor: 140 }).endpoints.map(
      (l) => ({
        locality: l.locality,
        weight: l.load_balancing_weight.value,
        endpoints: l.lb_endpoints.map(
          (e) =>
            `${e.endpoint.address.socket_address.address}:${e.endpoint.address.socket_address.port_value}/${e.health_status}`,
        ),
      }),
    );
  const { HEALTHY, DRAINING, UNHEALTHY } = HEALTH_STATUS;

  it('keeps the HEALTHY copy of an IP:port listed twice even when the DRAINING copy comes first', () => {
    const draining = { ready: false, serving: true, terminating: true };
    assert.deepEqual(flat(svc([endpoint('10.0.0.1', 8080, draining), endpoint('10.0.0.1', 8080)])), [
      { locality: {}, weight: 1, endpoints: [`10.0.0.1:8080/${HEALTHY}`] },
    ]);
  });

  it('drains serving-and-terminating endpoints, marks the other unready ones UNHEALTHY, weighs localities by HEALTHY ones, and sorts by address and port', () => {
    const service = svc([
      endpoint('10.0.0.9', 8080, { zone: 'a' }),
      endpoint('10.0.0.2', 9090, { zone: 'a' }),
      endpoint('10.0.0.2', 8080, { zone: 'a' }),
      endpoint('10.0.0.3', 8080, { zone: 'a', ready: false, serving: true, terminating: true }),
      endpoint('10.0.0.4', 8080, { zone: 'a', ready: false, serving: true, terminating: false }),
      endpoint('10.0.0.5', 8080, { zone: 'a', ready: false, serving: false, terminating: true }),
    ]);
    assert.deepEqual(flat(service), [
      {
        locality: { zone: 'a' },
        weight: 3,
        endpoints: [
          `10.0.0.2:8080/${HEALTHY}`,
          `10.0.0.2:9090/${HEALTHY}`,
          `10.0.0.3:8080/${DRAINING}`,
          `10.0.0.4:8080/${UNHEALTHY}`,
          `10.0.0.5:8080/${UNHEALTHY}`,
          `10.0.0.9:8080/${HEALTHY}`,
        ],
      },
    ]);
  });

  it('leaves out endpoints without an address, without the port, or with a name for an address', () => {
    const service = svc([
      endpoint('10.0.0.1', 8080),
      { ...endpoint('10.0.0.2', 8080), addresses: [] },
      { ...endpoint('10.0.0.3', 8080), ports: [{ name: 'other', port: 8080, protocol: 'TCP' }] },
      endpoint('db.example.com', 8080),
    ]);
    assert.deepEqual(flat(service), [{ locality: {}, weight: 1, endpoints: [`10.0.0.1:8080/${HEALTHY}`] }]);
    assert.deepEqual(
      buildClusterLoadAssignment('gone', undefined, { number: 0 }, { overprovisioningFactor: 140 }),
      {
        cluster_name: 'gone',
        endpoints: [],
      },
    );
  });
});
