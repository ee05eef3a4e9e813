// Pure parts of the xDS front door: the naming scheme and the mapping of a Service port to a ClusterLoadAssignment.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  formatResourceName,
  parseResourceName,
  resolvePort,
  serviceIdOfName,
  servicePortNames,
} from '../src/api/xds/naming.ts';
import {
  buildCluster,
  buildClusterLoadAssignment,
  buildRouteConfiguration,
  speaksHttp2,
} from '../src/api/xds/resources.ts';
import { HEALTH_STATUS } from '../src/api/xds/wire.ts';
import type { Endpoint, ServiceEndpoints } from '../src/model.ts';

function endpoint(address: string, port: number, extra: Partial<Endpoint> = {}, portName = 'grpc'): Endpoint {
  return {
    addresses: [address],
    addressType: address.includes(':') ? 'IPv6' : 'IPv4',
    ports: [{ name: portName, port, protocol: 'TCP' }],
    ready: true,
    serving: true,
    terminating: false,
    ...extra,
  };
}

function svc(endpoints: Endpoint[]): ServiceEndpoints {
  const ports = [
    ...new Map(
      endpoints.flatMap((e) => e.ports).map((p) => [`${p.name}|${p.port}|${p.protocol}`, p]),
    ).values(),
  ];
  return { namespace: 'shop', name: 'web', ports, endpoints };
}

function summary(service: ServiceEndpoints, selector: Parameters<typeof buildClusterLoadAssignment>[2]) {
  return buildClusterLoadAssignment('n', service, selector, {
    overprovisioningFactor: 140,
  }).endpoints.map((l) => ({
    zone: l.locality.zone ?? '',
    weight: l.load_balancing_weight.value,
    endpoints: l.lb_endpoints.map(
      (e) =>
        `${e.endpoint.address.socket_address.address}:${e.endpoint.address.socket_address.port_value}/${e.health_status}`,
    ),
  }));
}

const { HEALTHY, DRAINING, UNHEALTHY } = HEALTH_STATUS;

describe('resource names', () => {
  it('parse {service}.{namespace}:{port} by number, by name, and without a port', () => {
    assert.deepEqual(parseResourceName('web.shop:8080')?.port, { number: 8080 });
    assert.deepEqual(parseResourceName('web.shop:grpc')?.port, { name: 'grpc' });
    assert.deepEqual(parseResourceName('web.shop')?.port, { only: true });
    assert.equal(parseResourceName('web.shop:8080')?.serviceId, 'shop/web');
  });

  it('refuse what Kubernetes could not name', () => {
    for (const bad of [
      'web',
      'web.shop:0',
      'web.shop:70000',
      'Web.shop:80',
      'web.shop:http_x',
      'web.sh.o.p:80',
      'web.shop.East:80',
      'web.shop.:80',
      'web.shop.-east:80',
      '.shop:80',
      'web.shop:',
    ]) {
      assert.equal(parseResourceName(bad), undefined, bad);
    }
  });

  it('give each Service port one name: a port number only in its decimal form, never zero-padded', () => {
    // Every port number, written as formatResourceName writes it and padded with zeros up to 8 digits.
    for (let port = 1; port <= 65535; port++) {
      const name = formatResourceName({ namespace: 'shop', name: 'web' }, port);
      assert.deepEqual(parseResourceName(name)?.port, { number: port }, name);
      for (let padded = `0${port}`; padded.length <= 8; padded = `0${padded}`) {
        assert.equal(parseResourceName(`web.shop:${padded}`), undefined, padded);
        assert.equal(parseResourceName(`web.shop.east:${padded}`), undefined, padded);
      }
    }
  });

  it('resolve a port-less name to the only TCP port, and to nothing when there are several', () => {
    const one = svc([endpoint('10.0.0.1', 8080), endpoint('10.0.0.2', 8081)]);
    assert.deepEqual(resolvePort(one, { only: true }), { name: 'grpc' });
    const two = svc([endpoint('10.0.0.1', 8080), endpoint('10.0.0.2', 9000, {}, 'admin')]);
    assert.equal(resolvePort(two, { only: true }), undefined);
    assert.deepEqual(servicePortNames(two).sort(), ['web.shop:admin', 'web.shop:grpc']);
  });

  it('take port numbers from 1 to 65535, and keys and service ids from the name alone', () => {
    assert.deepEqual(parseResourceName('web.shop:1')?.port, { number: 1 });
    assert.deepEqual(parseResourceName('web.shop:65535')?.port, { number: 65535 });
    assert.equal(parseResourceName('web.shop:65536'), undefined);
    assert.equal(parseResourceName('web.shop:123456'), undefined);
    assert.deepEqual(parseResourceName('web.shop:h2c')?.key, { namespace: 'shop', name: 'web' });
    assert.equal(parseResourceName('web.shop')?.serviceId, 'shop/web');
    assert.equal(parseResourceName('web.shop:grpc')?.serviceId, 'shop/web');
    assert.equal(parseResourceName('web:80.shop'), undefined, 'the dot must come before the port');
    assert.equal(serviceIdOfName('web.shop:8080'), 'shop/web');
    assert.equal(serviceIdOfName('web.shop'), 'shop/web');
    assert.equal(serviceIdOfName('.shop:80'), undefined);
    assert.equal(serviceIdOfName('web:80'), undefined);
    assert.equal(serviceIdOfName('web:80.shop'), undefined);
    assert.equal(formatResourceName({ namespace: 'shop', name: 'web' }, 8080), 'web.shop:8080');
  });

  it('list one wildcard name per TCP port: by name when named, by number otherwise, UDP left out', () => {
    const service: ServiceEndpoints = {
      namespace: 'shop',
      name: 'web',
      ports: [
        { name: '', port: 8080, protocol: 'TCP' },
        { name: 'grpc', port: 9000, protocol: 'TCP' },
        { name: 'grpc', port: 9001, protocol: 'TCP' },
        { name: 'dns', port: 53, protocol: 'UDP' },
      ],
      endpoints: [],
    };
    assert.deepEqual(servicePortNames(service), ['web.shop:8080', 'web.shop:grpc']);
    assert.equal(resolvePort(service, { only: true }), undefined, 'two TCP ports');
    const unnamed = { ...service, ports: [service.ports[0]!, service.ports[3]!] };
    assert.deepEqual(resolvePort(unnamed, { only: true }), { number: 8080 }, 'the UDP port does not count');
    assert.equal(resolvePort({ ...service, ports: [service.ports[3]!] }, { only: true }), undefined);
    assert.deepEqual(
      resolvePort(service, { number: 53 }),
      { number: 53 },
      'explicit ports are taken as they are',
    );
  });
});

describe('ClusterLoadAssignment of a Service port', () => {
  it('maps ready ⇒ HEALTHY, serving∧terminating ⇒ DRAINING, others ⇒ UNHEALTHY; localities by zone, weighted by HEALTHY', () => {
    const service = svc([
      endpoint('10.0.0.1', 8080, { zone: 'a' }),
      endpoint('10.0.0.2', 8080, { zone: 'a' }),
      endpoint('10.0.0.3', 8080, { zone: 'b', ready: false, terminating: true }),
      endpoint('10.0.0.4', 8080, { zone: 'b', ready: false, serving: false }),
      endpoint('10.0.0.5', 8080),
    ]);
    assert.deepEqual(summary(service, { name: 'grpc' }), [
      { zone: '', weight: 1, endpoints: [`10.0.0.5:8080/${HEALTHY}`] },
      { zone: 'a', weight: 2, endpoints: [`10.0.0.1:8080/${HEALTHY}`, `10.0.0.2:8080/${HEALTHY}`] },
      { zone: 'b', weight: 1, endpoints: [`10.0.0.3:8080/${DRAINING}`, `10.0.0.4:8080/${UNHEALTHY}`] },
    ]);
  });

  it('routes to serving-and-terminating endpoints when none is ready, as kube-proxy does', () => {
    const service = svc([endpoint('10.0.0.3', 8080, { ready: false, terminating: true })]);
    assert.deepEqual(summary(service, { number: 8080 }), [
      { zone: '', weight: 1, endpoints: [`10.0.0.3:8080/${HEALTHY}`] },
    ]);
  });

  it('lists every IP:port once, keeping its best state; skips FQDN and non-IP addresses', () => {
    const service = svc([
      endpoint('10.0.0.1', 8080, { ready: false, serving: false }),
      endpoint('10.0.0.1', 8080),
      endpoint('10.0.0.1', 8080, { zone: 'other' }),
      { ...endpoint('db.example.com', 8080), addressType: 'FQDN' },
      endpoint('not-an-ip', 8080),
    ]);
    assert.deepEqual(summary(service, { name: 'grpc' }), [
      { zone: '', weight: 1, endpoints: [`10.0.0.1:8080/${HEALTHY}`] },
    ]);
  });

  it('matches a named port per endpoint, each with its own number; a number matches that number only', () => {
    const service = svc([endpoint('10.0.0.1', 8080), endpoint('10.0.0.2', 9090), endpoint('fd00::1', 8080)]);
    assert.deepEqual(summary(service, { name: 'grpc' })[0]?.endpoints, [
      `10.0.0.1:8080/${HEALTHY}`,
      `10.0.0.2:9090/${HEALTHY}`,
      `fd00::1:8080/${HEALTHY}`,
    ]);
    assert.deepEqual(summary(service, { number: 9090 })[0]?.endpoints, [`10.0.0.2:9090/${HEALTHY}`]);
    assert.deepEqual(summary(service, { number: 1234 }), []);
  });

  it('ignores a UDP port of the same number', () => {
    const udp: Endpoint = {
      ...endpoint('10.0.0.9', 53),
      ports: [{ name: 'dns', port: 53, protocol: 'UDP' }],
    };
    assert.deepEqual(summary(svc([udp]), { number: 53 }), []);
  });
});

describe('Route and Cluster', () => {
  it('route every authority and path to the Cluster of the same name', () => {
    assert.deepEqual(buildRouteConfiguration('web.shop:8080').virtual_hosts, [
      {
        name: 'web.shop:8080',
        domains: ['*'],
        routes: [{ match: { prefix: '' }, route: { cluster: 'web.shop:8080' } }],
      },
    ]);
  });

  it('are EDS over ADS, with HTTP/2 upstream options only for gRPC/h2c ports', () => {
    const plain = buildCluster('web.shop:8080', false);
    assert.equal(plain.eds_cluster_config.service_name, 'web.shop:8080');
    assert.deepEqual(plain.eds_cluster_config.eds_config.ads, {});
    assert.equal(plain.typed_extension_protocol_options, undefined);
    assert.ok(buildCluster('web.shop:8080', true).typed_extension_protocol_options !== undefined);
    const service: ServiceEndpoints = {
      ...svc([endpoint('10.0.0.1', 8080)]),
      ports: [{ name: 'grpc', port: 8080, protocol: 'TCP', appProtocol: 'kubernetes.io/h2c' }],
    };
    assert.equal(speaksHttp2(service, { name: 'grpc' }), true);
    assert.equal(speaksHttp2(svc([endpoint('10.0.0.1', 8080)]), { name: 'grpc' }), false);
  });
});
