// A second xDS implementation against endpointd's ADS on loopback: gRPC C-core (Debian's python3-grpcio, driven
// through test/support/ccore-xds-client.py) resolves xds:/// targets from a bootstrap file and calls real gRPC
// backends. Its calls must reach exactly the Service's routable backends, follow changes (an endpoint removed, made
// unready, all gone, the Service deleted) and never NACK a resource: every shape sent today is exercised — several
// zones as localities, DRAINING endpoints, an address listed twice, an HTTP/2 (appProtocol grpc) Cluster, a port-less name whose endpoints
// listen on different numbers, the empty assignment — and a caller-aware assignment (its zone at priority 0, the
// rest at priority 1, regions, UNHEALTHY endpoints, additional_addresses, hostname and hash_key metadata).
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildBootstrap } from '../src/api/xds/bootstrap-route.ts';
import type { Endpoint, ServiceEndpoints } from '../src/model.ts';
import { CcoreXdsClient, type CcoreCall } from './support/ccore-xds.ts';
import {
  eventually,
  newStore,
  service,
  SOURCE,
  startBackend,
  startBackends,
  startXdsServer,
  type Backend,
  type EndpointSpec,
  type TestXdsServer,
} from './support/xds-harness.ts';

/** How long a change may take to reach the client: a generous bound for a loaded machine, not a latency target. */
const BOUND_MS = 15_000;

/** The backends that answered `calls`, sorted, each once; throws on a failed call. */
function answeredBy(calls: readonly CcoreCall[]): string[] {
  const failed = calls.find((c) => c.backend === undefined);
  if (failed !== undefined) throw new Error(`a call failed: ${failed.error} ${failed.detail}`);
  return [...new Set(calls.map((c) => c.backend ?? ''))].sort();
}

/** A batch of `n` calls answered by exactly `ids`, each at least once (each call waits up to 2 s for the channel). */
async function servedExactlyBy(client: CcoreXdsClient, ids: readonly string[], n = 12): Promise<boolean> {
  const calls = await client.batch(n, { deadlineS: 2 });
  return (
    calls.length === n &&
    calls.every((c) => c.backend !== undefined) &&
    answeredBy(calls).join() === [...ids].sort().join()
  );
}

/** The Service's port declared as gRPC (appProtocol), so that its Cluster carries Envoy's HTTP/2 option. */
function grpcAppProtocol(svc: ServiceEndpoints): ServiceEndpoints {
  const port = <P extends { name: string }>(p: P): P =>
    p.name === 'grpc' ? { ...p, appProtocol: 'grpc' } : p;
  return {
    ...svc,
    ports: svc.ports.map(port),
    endpoints: svc.endpoints.map((e) => ({ ...e, ports: e.ports.map(port) })),
  };
}

describe('gRPC C-core (python3-grpcio) clients following endpointd', () => {
  const store = newStore();
  let xds: TestXdsServer;
  let backends: Backend[];
  let dir: string;
  let bootstrap: string;
  const at = (list: readonly Backend[], extra: Partial<EndpointSpec> = {}): EndpointSpec[] =>
    list.map((b) => ({ address: b.address, port: b.port, ...extra }));
  /** `eventually`, failing with the server's NACK count: a rejected resource shows as calls that never succeed. */
  const follow = (what: string, bound: number, check: () => Promise<boolean>): Promise<number> =>
    eventually(what, bound, check).catch((error: unknown) => {
      throw new Error(`${(error as Error).message} (NACKs so far: ${xds.plane.stats().nacks})`);
    });

  before(async () => {
    backends = await startBackends(5);
    xds = await startXdsServer({ store });
    dir = await mkdtemp(join(tmpdir(), 'endpointd-ccore-'));
    bootstrap = join(dir, 'bootstrap.json');
    await writeFile(bootstrap, JSON.stringify(buildBootstrap('127.0.0.1', xds.port, 'ccore-interop')));
  });
  after(async () => {
    await xds.stop();
    await Promise.all(backends.map((b) => b.stop()));
    await rm(dir, { recursive: true, force: true });
  });

  it('reaches exactly the routable backends of a Service spread over two zones, and follows its changes', async () => {
    const [b1, b2, b3, b4, b5] = backends;
    assert.ok(
      b1 !== undefined && b2 !== undefined && b3 !== undefined && b4 !== undefined && b5 !== undefined,
    );
    // b4 terminating but serving (sent DRAINING), b5 not ready (not sent): both would answer if called.
    const web = (ready: readonly Backend[]): ServiceEndpoints =>
      grpcAppProtocol(
        service('shop', 'web', [
          ...at(
            ready.filter((b) => b !== b3),
            { zone: 'zone-a' },
          ),
          ...at(
            ready.filter((b) => b === b3),
            { zone: 'zone-b' },
          ),
          // b1 listed twice (a pod moving between slices): still one IP:port in the assignment.
          ...at(
            ready.filter((b) => b === b1),
            { zone: 'zone-a' },
          ),
          ...at([b4], { zone: 'zone-b', ready: false, serving: true, terminating: true }),
          ...at([b5], { zone: 'zone-a', ready: false, serving: false }),
        ]),
      );
    store.upsert(SOURCE, web([b1, b2, b3]));
    const { client, calls } = await CcoreXdsClient.start(`xds:///web.shop:${b1.port}`, bootstrap, 3);
    try {
      assert.match(client.version, /^\d+\.\d+/);
      assert.ok(
        answeredBy(calls).every((id) => ['b1', 'b2', 'b3'].includes(id)),
        `first calls: ${answeredBy(calls).join()}`,
      );
      await follow('b1, b2 and b3 answer', BOUND_MS, () => servedExactlyBy(client, ['b1', 'b2', 'b3']));
      // Nothing else, over many calls: not the draining b4, not the unready b5.
      assert.deepEqual(answeredBy(await client.batch(30)), ['b1', 'b2', 'b3']);

      store.upsert(SOURCE, web([b2, b3]));
      const removed = await follow('b1 removed: b2 and b3 only', BOUND_MS, () =>
        servedExactlyBy(client, ['b2', 'b3']),
      );
      assert.deepEqual(answeredBy(await client.batch(30)), ['b2', 'b3'], 'a call reached the removed b1');

      store.upsert(
        SOURCE,
        grpcAppProtocol(
          service('shop', 'web', [
            ...at([b2], { zone: 'zone-a' }),
            ...at([b3], { zone: 'zone-b', ready: false }),
          ]),
        ),
      );
      await follow('b3 unready: b2 only', BOUND_MS, () => servedExactlyBy(client, ['b2']));
      assert.deepEqual(answeredBy(await client.batch(20)), ['b2']);
      process.stderr.write(
        `C-core ${client.version} followed the removal of b1 in ${removed.toFixed(0)} ms\n`,
      );
    } finally {
      await client.close();
    }
    assert.equal(xds.plane.stats().nacks, 0, 'C-core rejected a resource');
  });

  it('fails fast with UNAVAILABLE when every endpoint is gone or the Service is deleted, and recovers', async () => {
    const [b1, b2] = backends;
    assert.ok(b1 !== undefined && b2 !== undefined);
    store.upsert(SOURCE, service('shop', 'gone', at([b1, b2])));
    const { client } = await CcoreXdsClient.start(`xds:///gone.shop:${b1.port}`, bootstrap, 1);
    try {
      const unavailable = async (): Promise<boolean> =>
        (await client.batch(1, { failFast: true, deadlineS: 2 }))[0]?.error === 'UNAVAILABLE';
      await follow('served', BOUND_MS, () => servedExactlyBy(client, ['b1', 'b2']));
      store.upsert(SOURCE, service('shop', 'gone', []));
      await follow('UNAVAILABLE with no endpoints', BOUND_MS, unavailable);
      store.upsert(SOURCE, service('shop', 'gone', at([b2])));
      await follow('served again by b2', BOUND_MS, () => servedExactlyBy(client, ['b2']));
      store.delete(SOURCE, { namespace: 'shop', name: 'gone' });
      await follow('UNAVAILABLE once deleted', BOUND_MS, unavailable);
    } finally {
      await client.close();
    }
    assert.equal(xds.plane.stats().nacks, 0, 'C-core rejected a resource');
  });

  it('serves a port-less name: the only port, each endpoint on its own number', async () => {
    const odd = await Promise.all([startBackend('p1'), startBackend('p2', '127.0.0.2')]);
    try {
      store.upsert(SOURCE, service('shop', 'named', at(odd)));
      const { client } = await CcoreXdsClient.start('xds:///named.shop', bootstrap, 1);
      try {
        await follow('p1 and p2 answer', BOUND_MS, () => servedExactlyBy(client, ['p1', 'p2']));
      } finally {
        await client.close();
      }
    } finally {
      await Promise.all(odd.map((b) => b.stop()));
    }
    const stats = xds.plane.stats();
    assert.equal(stats.nacks, 0, 'C-core rejected a resource');
    assert.ok(stats.acks >= 9, `C-core clients acknowledged ${stats.acks} responses`);
  });

  it('takes a caller-aware assignment: its zone at priority 0, fails over to priority 1 when that zone is unready', async () => {
    const [b1, b2, b3, b4] = backends;
    assert.ok(b1 !== undefined && b2 !== undefined && b3 !== undefined && b4 !== undefined);
    const pod = (b: Backend, zone: string, extra: Partial<Endpoint> = {}): Endpoint[] => {
      const base: Endpoint = {
        addresses: [b.address],
        addressType: 'IPv4',
        ports: [{ name: 'grpc', port: b.port, protocol: 'TCP' }],
        ready: true,
        serving: true,
        terminating: false,
        zone,
        hintsForZones: [zone],
        hostname: b.id,
        targetRef: { kind: 'Pod', namespace: 'shop', name: b.id, uid: `uid-${b.id}` },
        cluster: zone === 'zone-a' ? 'east' : 'west',
        ...extra,
      };
      // The pod's IPv6 side (nothing listens there: C-core 1.51 ignores additional_addresses, newer ones try it).
      return [base, { ...base, addresses: ['::1'], addressType: 'IPv6' }];
    };
    const zoned = (aReady: boolean): ServiceEndpoints => {
      const endpoints = [
        ...pod(b1, 'zone-a', { ready: aReady, serving: aReady }),
        ...pod(b2, 'zone-a', aReady ? {} : { ready: false, serving: true, terminating: true }),
        ...pod(b3, 'zone-b'),
        ...pod(b4, 'zone-b', { ready: false, serving: false }),
      ];
      return {
        namespace: 'shop',
        name: 'zoned',
        ports: [{ name: 'grpc', port: b1.port, protocol: 'TCP' }],
        endpoints,
        service: {
          type: 'ClusterIP',
          headless: false,
          ports: [{ name: 'grpc', port: 80, targetPort: b1.port, protocol: 'TCP' }],
          trafficDistribution: 'PreferSameZone',
        },
        clusters: [
          { name: 'east', region: 'us-east1', stale: false },
          { name: 'west', stale: false },
        ],
      };
    };
    const zonedBootstrap = join(dir, 'bootstrap-zone-a.json');
    await writeFile(
      zonedBootstrap,
      JSON.stringify(
        buildBootstrap('127.0.0.1', xds.port, 'ccore-zone-a', false, {
          zone: 'zone-a',
          sub_zone: 'node-1',
          region: 'us-east1',
        }),
      ),
    );
    store.upsert(SOURCE, zoned(true));
    const nacks = xds.plane.stats().nacks;
    const { client } = await CcoreXdsClient.start(`xds:///zoned.shop:${b1.port}`, zonedBootstrap, 1);
    try {
      await follow('zone a only: b1 and b2', BOUND_MS, () => servedExactlyBy(client, ['b1', 'b2']));
      assert.deepEqual(answeredBy(await client.batch(30)), ['b1', 'b2'], 'a call left zone a');
      store.upsert(SOURCE, zoned(false));
      await follow('zone a unready: b3 (zone b, priority 1) only', BOUND_MS, () =>
        servedExactlyBy(client, ['b3']),
      );
      assert.deepEqual(answeredBy(await client.batch(20)), ['b3']);
      store.upsert(SOURCE, zoned(true));
      await follow('zone a back', BOUND_MS, () => servedExactlyBy(client, ['b1', 'b2']));
    } finally {
      await client.close();
    }
    assert.equal(xds.plane.stats().nacks, nacks, 'C-core rejected a caller-aware resource');
  });

  it('takes a zone split across priorities (PreferSameNode: its node first, the rest of its zone marked priority-1)', async () => {
    const [b1, b2, b3] = backends;
    assert.ok(b1 !== undefined && b2 !== undefined && b3 !== undefined);
    const on = (b: Backend, node: string, zone: string, ready = true): Endpoint => ({
      addresses: [b.address],
      addressType: 'IPv4',
      ports: [{ name: 'grpc', port: b.port, protocol: 'TCP' }],
      ready,
      serving: ready,
      terminating: false,
      zone,
      nodeName: node,
      hintsForZones: [zone],
      hintsForNodes: [node],
    });
    const sameNode = (b1Ready: boolean): ServiceEndpoints => ({
      namespace: 'shop',
      name: 'nodes',
      ports: [{ name: 'grpc', port: b1.port, protocol: 'TCP' }],
      endpoints: [
        on(b1, 'node-1', 'zone-a', b1Ready),
        on(b2, 'node-2', 'zone-a'),
        on(b3, 'node-3', 'zone-b'),
      ],
      service: {
        type: 'ClusterIP',
        headless: false,
        ports: [{ name: 'grpc', port: 80, targetPort: b1.port, protocol: 'TCP' }],
        trafficDistribution: 'PreferSameNode',
      },
    });
    const nodeBootstrap = join(dir, 'bootstrap-node-1.json');
    await writeFile(
      nodeBootstrap,
      JSON.stringify(
        buildBootstrap('127.0.0.1', xds.port, 'ccore-node-1', false, { zone: 'zone-a', sub_zone: 'node-1' }),
      ),
    );
    store.upsert(SOURCE, sameNode(true));
    const nacks = xds.plane.stats().nacks;
    const { client } = await CcoreXdsClient.start(`xds:///nodes.shop:${b1.port}`, nodeBootstrap, 1);
    try {
      await follow('its node only: b1', BOUND_MS, () => servedExactlyBy(client, ['b1']));
      assert.deepEqual(answeredBy(await client.batch(20)), ['b1']);
      // Its node's endpoint unready: kube-proxy's next step is its zone (b2), not everything.
      store.upsert(SOURCE, sameNode(false));
      await follow('its zone: b2', BOUND_MS, () => servedExactlyBy(client, ['b2']));
      assert.deepEqual(answeredBy(await client.batch(20)), ['b2']);
    } finally {
      await client.close();
    }
    assert.equal(xds.plane.stats().nacks, nacks, 'C-core rejected the split zone');
  });
});
