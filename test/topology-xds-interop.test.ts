// Caller-aware xDS with the real client (issue 12 item 5): @grpc/grpc-js-xds channels whose bootstraps say they
// are in zone a or zone b, gRPC backends on loopback addresses in both zones, a PreferSameZone Service with the
// hints the EndpointSlice controller writes. Each client's calls reach only its own zone; when zone b's endpoints
// become unready, zone b's client fails over to zone a within 1 s of the store change (the bound); a client
// that says nothing reaches every backend.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type * as grpc from '@grpc/grpc-js';
import { register } from '@grpc/grpc-js-xds';
import './support/xds-client-timers.ts';
import type { Endpoint, ServiceEndpoints } from '../src/model.ts';
import {
  answeredBy,
  backendEndpoint,
  eventually,
  newStore,
  SOURCE,
  startBackend,
  startBackends,
  startXdsServer,
  who,
  xdsChannel,
  type Backend,
  type TestXdsServer,
} from './support/xds-harness.ts';

register();

/** How long the first configuration may take on a loaded machine: generous, not a latency target. */
const BOUND_MS = 15_000;
/** The failover bound issue 12 states: from the store change to the first call that lands in zone a. */
const FAILOVER_MS = 1000;

const answered = answeredBy;

describe('grpc-js-xds clients in zone a and zone b', () => {
  const store = newStore();
  let xds: TestXdsServer;
  let backends: Backend[];
  let zoneA: Backend[];
  let zoneB: Backend[];
  const clients: grpc.Client[] = [];
  let a: grpc.Client;
  let b: grpc.Client;
  let anywhere: grpc.Client;

  /** The Service: zone a's backends ready, zone b's as `bReady` says; hints = each endpoint's own zone. */
  const web = (bReady: boolean): ServiceEndpoints => {
    const at = (b: Backend, zone: string, ready: boolean): Endpoint =>
      backendEndpoint(b, ready, {
        zone,
        hintsForZones: [zone],
        targetRef: { kind: 'Pod', namespace: 'shop', name: b.id },
      });
    const port = backends[0]?.port ?? 0;
    return {
      namespace: 'shop',
      name: 'web',
      ports: [{ name: 'grpc', port, protocol: 'TCP' }],
      endpoints: [...zoneA.map((b) => at(b, 'zone-a', true)), ...zoneB.map((b) => at(b, 'zone-b', bReady))],
      service: {
        type: 'ClusterIP',
        headless: false,
        ports: [{ name: 'grpc', port: 80, targetPort: port, protocol: 'TCP' }],
        trafficDistribution: 'PreferSameZone',
      },
    };
  };
  const channel = (locality: Record<string, string>): grpc.Client => {
    const client = xdsChannel(`xds:///web.shop:${backends[0]?.port ?? 0}`, xds.port, locality);
    clients.push(client);
    return client;
  };

  before(async () => {
    backends = await startBackends(4);
    zoneA = backends.slice(0, 2); // b1, b2 on 127.0.0.1, 127.0.0.2
    zoneB = backends.slice(2); // b3, b4 on 127.0.0.3, 127.0.0.4
    store.upsert(SOURCE, web(true));
    xds = await startXdsServer({ store });
    a = channel({ zone: 'zone-a' });
    b = channel({ zone: 'zone-b', sub_zone: 'node-9' });
    anywhere = channel({});
  });
  after(async () => {
    for (const client of clients) client.close();
    await xds.stop();
    await Promise.all(backends.map((b) => b.stop()));
  });

  it('sends each client to its own zone only, and a client without locality to every backend', async () => {
    await eventually(
      'zone a served by b1 and b2',
      BOUND_MS,
      async () => (await answered(a, 12)).join() === 'b1,b2',
    );
    await eventually(
      'zone b served by b3 and b4',
      BOUND_MS,
      async () => (await answered(b, 12)).join() === 'b3,b4',
    );
    await eventually(
      'no locality: all four',
      BOUND_MS,
      async () => (await answered(anywhere, 16)).join() === 'b1,b2,b3,b4',
    );
    // Many calls, never another zone's backend.
    assert.deepEqual(await answered(a, 40), ['b1', 'b2']);
    assert.deepEqual(await answered(b, 40), ['b3', 'b4']);
    assert.equal(xds.plane.stats().nacks, 0);
  });

  it('fails zone b over to zone a within 1 s when zone b becomes unready, and comes back', async () => {
    await eventually(
      'zone b served by b3 and b4',
      BOUND_MS,
      async () => (await answered(b, 12)).join() === 'b3,b4',
    );
    const zoneAIds = new Set(zoneA.map((x) => x.id));
    const changed = performance.now();
    store.upsert(SOURCE, web(false));
    let landed: number | undefined;
    const calls: string[] = [];
    while (landed === undefined && performance.now() - changed < BOUND_MS) {
      const id = await who(b, 2000).catch((error: Error) => `error: ${error.message}`);
      calls.push(id);
      if (zoneAIds.has(id)) landed = performance.now() - changed;
    }
    assert.ok(landed !== undefined, `zone b's client never reached zone a: ${calls.slice(-5).join(', ')}`);
    process.stderr.write(
      `zone b failed over to zone a ${landed.toFixed(0)} ms after the change (${calls.length} calls)\n`,
    );
    assert.ok(landed < FAILOVER_MS, `failover took ${landed.toFixed(0)} ms`);
    assert.ok(
      !calls.some((c) => c.startsWith('error')),
      `a call failed during failover: ${calls.join(', ')}`,
    );
    assert.deepEqual(await answered(b, 20), ['b1', 'b2'], 'zone b’s unready backends are still called');
    assert.deepEqual(await answered(a, 20), ['b1', 'b2']);

    store.upsert(SOURCE, web(true));
    await eventually(
      'zone b back on its own zone',
      BOUND_MS,
      async () => (await answered(b, 12)).join() === 'b3,b4',
    );
    assert.equal(xds.plane.stats().nacks, 0);
  });
});

describe('a grpc-js-xds client and a dual-stack pod', () => {
  it('dials the pod’s other address (additional_addresses) when its first one does not answer', async () => {
    const store = newStore();
    // Pod a: its IPv4 address has nothing listening, its IPv6 one (::1) answers; pod b: IPv4 only.
    const b = await startBackend('pod-b', '127.0.0.1');
    const a = await startBackend('pod-a', '::1', b.port);
    const xds = await startXdsServer({ store });
    const pod = (name: string, address: string, family: 'IPv4' | 'IPv6'): Endpoint => ({
      ...backendEndpoint({ ...b, address }, true),
      addressType: family,
      targetRef: { kind: 'Pod', namespace: 'shop', name },
    });
    store.upsert(SOURCE, {
      namespace: 'shop',
      name: 'dual',
      ports: [{ name: 'grpc', port: b.port, protocol: 'TCP' }],
      endpoints: [
        pod('pod-a', '127.0.0.99', 'IPv4'),
        pod('pod-a', '::1', 'IPv6'),
        pod('pod-b', '127.0.0.1', 'IPv4'),
      ],
    });
    const client = xdsChannel(`xds:///dual.shop:${b.port}`, xds.port);
    try {
      // Were the IPv6 address ignored, pod a could not be reached and pod b would answer everything.
      await eventually(
        'both pods answer',
        BOUND_MS,
        async () => (await answered(client, 12).catch(() => [])).join() === 'pod-a,pod-b',
      );
      assert.deepEqual(await answered(client, 20), ['pod-a', 'pod-b']);
      assert.equal(xds.plane.stats().nacks, 0);
    } finally {
      client.close();
      await xds.stop();
      await Promise.all([a.stop(), b.stop()]);
    }
  });
});
