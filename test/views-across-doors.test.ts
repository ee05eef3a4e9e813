// Every door answers a view with the view functions' output (src/views/): for any Service and any view, the REST
// lookup, gRPC Resolve and the xDS ClusterLoadAssignment of the real endpointd on loopback carry the same
// endpoints and dial targets as serviceView() / portBackends() computed from the store's snapshot.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import type { DialTarget, Endpoint, EndpointPort, PortSelector, ServiceEndpoints } from '../src/model.ts';
import { TYPE_URL } from '../src/api/xds/wire.ts';
import { findPort, portBackends } from '../src/views/endpoint-sets.ts';
import { serviceView, type ViewOptions } from '../src/views/service-view.ts';
import { TestClient } from './support/grpc-discovery.ts';
import { startTestEndpointd, type TestEndpointd } from './support/endpointd.ts';
import { decodeAny, rawSotw } from './support/xds-harness.ts';

const PORTS: readonly EndpointPort[] = [
  { name: 'http', port: 8080, protocol: 'TCP' },
  { name: 'grpc', port: 9000, protocol: 'TCP', appProtocol: 'grpc' },
  { name: 'dns', port: 53, protocol: 'UDP' },
];
const VIEWS: readonly ViewOptions[] = [
  { allEndpoints: false, port: undefined },
  { allEndpoints: true, port: undefined },
  { allEndpoints: false, port: { name: 'http' } },
  { allEndpoints: true, port: { name: 'grpc' } },
  { allEndpoints: false, port: { number: 9000 } },
  { allEndpoints: false, port: { name: 'dns' } },
];
/** The TCP ports an xDS client may name: by name, and by number. */
const XDS_PORTS: readonly [string, PortSelector][] = [
  ['http', { name: 'http' }],
  ['9000', { number: 9000 }],
];

/** Endpoints as a source would hand them: any conditions, some ports, some zones, an address seen twice. */
const endpointArb: fc.Arbitrary<Endpoint> = fc
  .record({
    host: fc.integer({ min: 1, max: 12 }),
    ports: fc.subarray([...PORTS], { minLength: 1 }),
    ready: fc.boolean(),
    serving: fc.boolean(),
    terminating: fc.boolean(),
    zone: fc.constantFrom(undefined, 'zone-a', 'zone-b'),
  })
  .map(({ host, ports, ready, serving, terminating, zone }) => ({
    addresses: [`10.0.0.${host}`],
    addressType: 'IPv4' as const,
    ports,
    ready,
    serving: serving || ready,
    terminating,
    ...(zone === undefined ? {} : { zone }),
  }));

let runs = 0;
const serviceArb: fc.Arbitrary<ServiceEndpoints> = fc
  .array(endpointArb, { minLength: 0, maxLength: 8 })
  .map((endpoints) => {
    runs += 1;
    const sorted = [...endpoints].sort((a, b) =>
      `${a.addresses[0]}|${a.ports.length}`.localeCompare(`${b.addresses[0]}|${b.ports.length}`),
    );
    return { namespace: 'shop', name: `web-${runs}`, ports: PORTS, endpoints: sorted };
  });

function query(view: ViewOptions): string {
  const params = new URLSearchParams();
  if (view.allEndpoints) params.set('endpoints', 'all');
  if (view.port !== undefined)
    params.set('port', 'name' in view.port ? view.port.name : String(view.port.number));
  const text = params.toString();
  return text === '' ? '' : `?${text}`;
}

/** What identifies an endpoint in every door's spelling. */
const identity = (e: {
  addresses: readonly string[];
  ready: boolean;
  serving: boolean;
  terminating: boolean;
}): string => `${e.addresses.join(',')} ${e.ready} ${e.serving} ${e.terminating}`;

const pairs = (targets: readonly { address: string; port: number }[] | undefined): string[] | undefined =>
  targets?.map((t) => `${t.address}:${t.port}`);

interface LbEndpointShape {
  endpoint: { address: { socket_address: { address: string; port_value: number } } };
  health_status?: number;
}

describe('the view functions are what every door answers', () => {
  let e: TestEndpointd;
  let grpc: TestClient;
  before(async () => {
    e = await startTestEndpointd({});
    grpc = new TestClient(`127.0.0.1:${e.endpointd.grpcPort}`);
  });
  after(async () => {
    grpc.client.close();
    await e.stop();
  });

  it('REST, gRPC Resolve and xDS answer the same endpoints and targets as serviceView and portBackends', async () => {
    await fc.assert(
      fc.asyncProperty(serviceArb, async (service) => {
        e.endpointd.store.upsert('views-test', service);
        const snapshot = e.endpointd.store.get(service);
        assert.ok(snapshot);
        for (const view of VIEWS) {
          const expected = serviceView(snapshot, view);
          const rest = await fetch(`${e.url}/v1/namespaces/shop/services/${service.name}${query(view)}`);
          const body = (await rest.json()) as {
            endpoints: Endpoint[];
            targets?: { address: string; port: number }[];
          };
          assert.equal(rest.status, 200);
          assert.deepEqual(body.endpoints.map(identity), expected.endpoints.map(identity), 'REST endpoints');
          assert.deepEqual(pairs(body.targets), pairs(expected.targets), 'REST targets');

          const resolved = await grpc.resolve({
            namespace: 'shop',
            name: service.name,
            endpoints: view.allEndpoints ? 'ENDPOINT_SET_ALL' : 'ENDPOINT_SET_ROUTABLE',
            ...(view.port === undefined ? {} : { port: view.port }),
          });
          assert.deepEqual(
            resolved.service.endpoints.map(identity),
            expected.endpoints.map(identity),
            'gRPC endpoints',
          );
          assert.deepEqual(pairs(resolved.service.targets), pairs(expected.targets) ?? [], 'gRPC targets');
        }

        const ads = rawSotw(e.endpointd.grpcPort);
        try {
          const names = XDS_PORTS.map(([port]) => `${service.name}.shop:${port}`);
          ads.send({ type_url: TYPE_URL.endpoint, resource_names: names });
          const response = await ads.next(5000);
          for (const [i, [, selector]] of XDS_PORTS.entries()) {
            const any = response.resources.find(
              (r) => (decodeAny(r) as { cluster_name: string }).cluster_name === names[i],
            );
            assert.ok(any, `assignment ${names[i]}`);
            const cla = decodeAny(any) as { endpoints?: { lb_endpoints?: LbEndpointShape[] }[] };
            const sent = (cla.endpoints ?? []).flatMap((l) => l.lb_endpoints ?? []);
            const withStatus = (status: number): string[] =>
              sent
                .filter((l) => (l.health_status ?? 0) === status)
                .map(
                  (l) =>
                    `${l.endpoint.address.socket_address.address}:${l.endpoint.address.socket_address.port_value}`,
                )
                .sort();
            const backends = portBackends(snapshot.endpoints, selector, 'TCP');
            const routable: readonly DialTarget[] =
              serviceView(snapshot, { allEndpoints: false, port: selector }).targets ?? [];
            const healthy = new Set<string>(pairs(routable));
            assert.deepEqual(withStatus(1), [...healthy].sort(), `xDS HEALTHY of ${names[i]}`);
            const draining = new Set(
              pairs(
                backends.draining.map((d) => ({
                  address: d.addresses[0] ?? '',
                  port: findPort(d, selector, 'TCP')?.port ?? 0,
                })),
              ),
            );
            for (const pair of healthy) draining.delete(pair);
            assert.deepEqual(withStatus(3), [...draining].sort(), `xDS DRAINING of ${names[i]}`);
          }
        } finally {
          ads.close();
        }
      }),
      { numRuns: 40 },
    );
  });
});
