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
