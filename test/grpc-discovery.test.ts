// The gRPC Discovery API over real grpc-js clients on loopback: Resolve, ListServices and Watch, their errors, and
// the encode-once contract (the pre-encoded bytes decode, with a normal client, to the same message every time).
import assert from 'node:assert/strict';
import { status } from '@grpc/grpc-js';
import { after, before, describe, it } from 'node:test';
import {
  startTestGrpc,
  statusOf,
  TestClient,
  summarize,
  type DecodedWatchResponse,
  type TestGrpc,
} from './support/grpc-discovery.ts';
import { readyEndpoint, service } from './support/services.ts';
import type { ServiceEndpoints } from '../src/model.ts';

/** shop/web: two ready endpoints, one not ready, one serving-and-terminating; ports http:8080 and metrics:9100. */
function web(): ServiceEndpoints {
  const ports = [
    { name: 'http', port: 8080, protocol: 'TCP' as const },
    { name: 'metrics', port: 9100, protocol: 'TCP' as const },
  ];
  return {
    namespace: 'shop',
    name: 'web',
    ports,
    endpoints: [
      readyEndpoint('10.0.0.1', {
        ports,
        nodeName: 'node-1',
        zone: 'zone-a',
        hostname: 'web-0',
        targetRef: { kind: 'Pod', namespace: 'shop', name: 'web-0', uid: 'u-1' },
        hintsForZones: ['zone-a'],
      }),
      readyEndpoint('10.0.0.2', { ports }),
      readyEndpoint('10.0.0.3', { ports, ready: false, serving: false }),
      readyEndpoint('10.0.0.4', { ports, ready: false, serving: true, terminating: true }),
    ],
  };
}

const isSynced = (m: DecodedWatchResponse): boolean => m.event === 'synced';

describe('gRPC Discovery', () => {
  let t: TestGrpc;
  let client: TestClient;

  before(async () => {
    t = await startTestGrpc();
    t.store.upsert('test', web());
    t.store.upsert('test', service('shop', 'cart', ['10.0.1.1']));
    t.store.upsert('test', service('shop', 'idle', []));
    t.store.upsert('test', service('billing', 'api', ['10.0.2.1']));
    client = new TestClient(t.address);
  });
  after(async () => {
    client.close();
    await t.stop();
  });

  describe('Resolve', () => {
    it('answers the routable endpoints by default, with every field, and the store version', async () => {
      const { service: answer } = await client.resolve({ namespace: 'shop', name: 'web' });
      assert.equal(answer.version, t.store.get({ namespace: 'shop', name: 'web' })?.version);
      assert.deepEqual(
        answer.endpoints.map((e) => e.addresses[0]),
        ['10.0.0.1', '10.0.0.2'],
      );
      assert.deepEqual(answer.endpoints[0], {
        addresses: ['10.0.0.1'],
        addressType: 'IPv4',
        ports: [
          { name: 'http', port: 8080, protocol: 'TCP', appProtocol: '' },
          { name: 'metrics', port: 9100, protocol: 'TCP', appProtocol: '' },
        ],
        ready: true,
        serving: true,
        terminating: false,
        hostname: 'web-0',
        nodeName: 'node-1',
        zone: 'zone-a',
        targetRef: { kind: 'Pod', namespace: 'shop', name: 'web-0', uid: 'u-1' },
        hintsForZones: ['zone-a'],
        hintsForNodes: [],
        cluster: '',
      });
      assert.deepEqual(answer.targets, [], 'no targets without a port');
      assert.equal(answer.topology, null, 'no topology part without caller locality');
      assert.equal(answer.truncated, false);
      assert.deepEqual(
        answer.ports.map((p) => p.name),
        ['http', 'metrics'],
      );
    });

    it('answers every endpoint with its conditions on request', async () => {
      const { service: answer } = await client.resolve({
        namespace: 'shop',
        name: 'web',
        endpoints: 'ENDPOINT_SET_ALL',
      });
      assert.deepEqual(
        answer.endpoints.map((e) => [e.addresses[0], e.ready, e.serving, e.terminating]),
        [
          ['10.0.0.1', true, true, false],
          ['10.0.0.2', true, true, false],
          ['10.0.0.3', false, false, false],
          ['10.0.0.4', false, true, true],
        ],
      );
    });

    it('adds ready-to-dial targets for a port given by name or by number', async () => {
      const byName = await client.resolve({ namespace: 'shop', name: 'web', port: { name: 'metrics' } });
      assert.deepEqual(byName.service.targets, [
        { address: '10.0.0.1', port: 9100 },
        { address: '10.0.0.2', port: 9100 },
      ]);
      const byNumber = await client.resolve({ namespace: 'shop', name: 'web', port: { number: 8080 } });
      assert.deepEqual(byNumber.service.targets, [
        { address: '10.0.0.1', port: 8080 },
        { address: '10.0.0.2', port: 8080 },
      ]);
    });

    it('answers NOT_FOUND naming the ports the service has for a port it does not have', async () => {
      for (const port of [{ name: 'grpc' }, { number: 9999 }]) {
        const refused = await statusOf(client.resolve({ namespace: 'shop', name: 'web', port }));
        assert.equal(refused.code, status.NOT_FOUND, JSON.stringify(port));
        assert.match(
          refused.details,
          /^service shop\/web has no (port named grpc|target port 9999); its ports: http \(8080\)/,
        );
      }
      const idle = await client.resolve({ namespace: 'shop', name: 'idle', port: { name: 'http' } });
      assert.deepEqual(idle.service.targets, [], 'a service that knows no port has nothing to contradict');
    });

    it('answers a service with zero endpoints with an empty list, not NOT_FOUND', async () => {
      const { service: answer } = await client.resolve({ namespace: 'shop', name: 'idle' });
      assert.deepEqual(answer.endpoints, []);
    });

    it('encodes an answer once per version and view and sends the same bytes to every call', async () => {
      const request = { namespace: 'shop', name: 'cart', port: { name: 'http' } };
      const first = await client.resolveBytes(request);
      const missesBefore = t.store.encoded.stats().misses;
      const second = await client.resolveBytes(request);
      assert.ok(first.equals(second));
      assert.equal(t.store.encoded.stats().misses, missesBefore, 'the second call was served from the cache');
      const decoded = await client.resolve(request);
      assert.deepEqual(decoded.service.targets, [{ address: '10.0.1.1', port: 8080 }]);
    });

    it('answers NOT_FOUND for a service that is not known', async () => {
      const error = await statusOf(client.resolve({ namespace: 'shop', name: 'nope' }));
      assert.equal(error.code, status.NOT_FOUND);
      assert.match(error.details, /shop\/nope/);
    });

    it('answers INVALID_ARGUMENT naming each bad field and why', async () => {
      const error = await statusOf(
        client.resolve({ namespace: 'Shop_1', name: '', port: { number: 70000 } }),
      );
      assert.equal(error.code, status.INVALID_ARGUMENT);
      assert.match(error.details, /^namespace: "Shop_1" is not a valid name: it must consist of lower case/);
      assert.match(error.details, /name: "" is not a valid name: it must not be empty/);
      assert.match(error.details, /port\.number: a port number must be from 1 to 65535, got 70000/);
      const badPort = await statusOf(
        client.resolve({ namespace: 'shop', name: 'web', port: { name: 'HTTP--x' } }),
      );
      assert.match(badPort.details, /^port\.name: "HTTP--x" is not a valid port name/);
      const emptyPort = await statusOf(client.resolve({ namespace: 'shop', name: 'web', port: {} }));
      assert.match(emptyPort.details, /^port: set either name or number/);
      const badEnum = await statusOf(client.resolve({ namespace: 'shop', name: 'web', endpoints: 7 }));
      assert.match(badEnum.details, /^endpoints: unknown EndpointSet value 7/);
    });
  });

  describe('ListServices', () => {
    it('lists every service with its version and endpoint counts, sorted', async () => {
      const { services } = await client.listServices();
      assert.deepEqual(
        services.map((s) => [`${s.namespace}/${s.name}`, s.endpoints, s.ready]),
        [
          ['billing/api', 1, 1],
          ['shop/cart', 1, 1],
          ['shop/idle', 0, 0],
          ['shop/web', 4, 2],
        ],
      );
      assert.equal(services[3]?.version, t.store.get({ namespace: 'shop', name: 'web' })?.version);
    });

    it('filters by namespace and refuses a namespace that is not a valid name', async () => {
      const { services } = await client.listServices('billing');
      assert.deepEqual(
        services.map((s) => s.name),
        ['api'],
      );
      const error = await statusOf(client.listServices('Not_Valid'));
      assert.equal(error.code, status.INVALID_ARGUMENT);
      assert.match(error.details, /^namespace: /);
    });
  });

  describe('Watch', () => {
    it('sends the current state, then synced, then every change and the deletion', async () => {
      t.store.upsert('test', service('shop', 'moving', ['10.1.0.1']));
      const stream = client.watch({
        services: [{ namespace: 'shop', name: 'moving' }],
        port: { name: 'http' },
      });
      try {
        const first = await stream.until(isSynced);
        assert.equal(first.length, 2);
        const added = first[0];
        assert.ok(added?.event === 'added');
        assert.deepEqual(added.added.targets, [{ address: '10.1.0.1', port: 8080 }]);

        t.store.upsert('test', service('shop', 'moving', ['10.1.0.1', '10.1.0.2']));
        const modified = await stream.next();
        assert.ok(modified.event === 'modified');
        assert.equal(modified.modified.version, t.store.get({ namespace: 'shop', name: 'moving' })?.version);
        assert.equal(modified.modified.endpoints.length, 2);

        t.store.delete('test', { namespace: 'shop', name: 'moving' });
        assert.deepEqual(await stream.next(), {
          event: 'deleted',
          deleted: { namespace: 'shop', name: 'moving' },
        });
      } finally {
        stream.cancel();
      }
    });

    it('reports a service that does not exist yet as absent, and sends it when it appears', async () => {
      const stream = client.watch({ services: [{ namespace: 'shop', name: 'later' }] });
      try {
        assert.deepEqual(await stream.until(isSynced), [
          { event: 'absent', absent: { namespace: 'shop', name: 'later' } },
          { event: 'synced', synced: {} },
        ]);
        t.store.upsert('test', service('shop', 'later', ['10.2.0.1']));
        const added = await stream.next();
        assert.ok(added.event === 'added');
        assert.equal(added.added.name, 'later');
      } finally {
        stream.cancel();
        t.store.delete('test', { namespace: 'shop', name: 'later' });
      }
    });

    it('watches many services at once, and only those', async () => {
      const stream = client.watch({
        services: [
          { namespace: 'shop', name: 'cart' },
          { namespace: 'billing', name: 'api' },
          { namespace: 'shop', name: 'ghost' },
        ],
      });
      try {
        const initial = await stream.until(isSynced);
        assert.deepEqual(initial.map(summarize), ['absent ghost', 'added cart', 'added api', 'synced']);
        t.store.upsert('test', service('shop', 'other', ['10.9.0.1']));
        t.store.upsert('test', service('billing', 'api', ['10.0.2.1', '10.0.2.2']));
        const next = await stream.next();
        assert.ok(next.event === 'modified' && next.modified.name === 'api', 'shop/other is not watched');
      } finally {
        stream.cancel();
        t.store.delete('test', { namespace: 'shop', name: 'other' });
      }
    });

    it('watches a namespace, and everything', async () => {
      const namespace = client.watch({ namespace: 'billing' });
      const everything = client.watch({});
      try {
        const inBilling = await namespace.until(isSynced);
        assert.deepEqual(
          inBilling.map((m) => (m.event === 'added' ? m.added.name : m.event)),
          ['api', 'synced'],
        );
        const all = await everything.until(isSynced);
        assert.equal(all.filter((m) => m.event === 'added').length, t.store.list().length);
        t.store.upsert('test', service('billing', 'ledger', ['10.3.0.1']));
        for (const stream of [namespace, everything]) {
          const added = await stream.next();
          assert.ok(added.event === 'added' && added.added.name === 'ledger');
        }
      } finally {
        namespace.cancel();
        everything.cancel();
        t.store.delete('test', { namespace: 'billing', name: 'ledger' });
      }
    });

    it('resends nothing a client already holds, and only what differs', async () => {
      const cart = t.store.get({ namespace: 'shop', name: 'cart' });
      const web = t.store.get({ namespace: 'shop', name: 'web' });
      assert.ok(cart && web);
      const unchanged = client.watch({
        services: [{ namespace: 'shop', name: 'cart' }],
        known: [{ namespace: 'shop', name: 'cart', version: cart.version }],
      });
      const stale = client.watch({
        namespace: 'shop',
        known: [
          { namespace: 'shop', name: 'cart', version: cart.version },
          { namespace: 'shop', name: 'web', version: 'an-older-version' },
          { namespace: 'shop', name: 'gone', version: 'whatever' },
        ],
      });
      try {
        assert.deepEqual(await unchanged.next(), { event: 'synced', synced: {} }, 'nothing before synced');
        const catchUp = await stale.until(isSynced);
        assert.deepEqual(catchUp.map(summarize), ['added idle', 'modified web', 'deleted gone', 'synced']);
      } finally {
        unchanged.cancel();
        stale.cancel();
      }
    });

    it('refuses bad requests with INVALID_ARGUMENT naming the field', async () => {
      const cases: Array<[object, RegExp]> = [
        [
          { services: [{ namespace: 'shop', name: 'Web' }] },
          /^services\[0\]\.name: "Web" is not a valid name/,
        ],
        [
          { services: [{ namespace: 'shop', name: 'web' }], namespace: 'shop' },
          /^namespace: must be empty when services are given/,
        ],
        [
          { namespace: 'shop', known: [{ namespace: 'billing', name: 'api', version: 'v1' }] },
          /^known\[0\]: billing\/api is not among the watched services/,
        ],
        [
          { known: [{ namespace: 'shop', name: 'web', version: '' }] },
          /^known\[0\]\.version: must be a version/,
        ],
      ];
      for (const [request, expected] of cases) {
        const stream = client.watch(request);
        assert.equal(await stream.ended(), status.INVALID_ARGUMENT);
        assert.match(stream.error?.details ?? '', expected);
      }
    });
  });
});

describe('gRPC Discovery limits', () => {
  it('refuses a Watch naming more services than --grpc-max-watch-services', async () => {
    const t = await startTestGrpc({ maxWatchedServices: 2 });
    const client = new TestClient(t.address);
    try {
      const names = ['a', 'b', 'c'].map((name) => ({ namespace: 'shop', name }));
      const tooMany = client.watch({ services: names });
      assert.equal(await tooMany.ended(), status.INVALID_ARGUMENT);
      assert.match(tooMany.error?.details ?? '', /^services: at most 2 services per stream, got 3/);
      const enough = client.watch({ services: names.slice(0, 2) });
      assert.equal((await enough.next()).event, 'absent');
      enough.cancel();
    } finally {
      client.client.close();
      await t.stop();
    }
  });
});

describe('gRPC Discovery availability', () => {
  it('answers UNAVAILABLE before the first sync and during shutdown, and ends watch streams with UNAVAILABLE', async () => {
    const t = await startTestGrpc();
    const client = new TestClient(t.address);
    try {
      t.source.synced = false;
      t.store.upsert('test', service('shop', 'web', ['10.0.0.1']));
      for (const call of [client.resolve({ namespace: 'shop', name: 'web' }), client.listServices()]) {
        const error = await statusOf(call);
        assert.equal(error.code, status.UNAVAILABLE);
        assert.match(error.details, /first sync/);
      }
      assert.equal(await client.watch({}).ended(), status.UNAVAILABLE);

      t.source.synced = true;
      const stream = client.watch({ services: [{ namespace: 'shop', name: 'web' }] });
      await stream.until(isSynced);
      t.readiness.beginShutdown();
      const refused = await statusOf(client.resolve({ namespace: 'shop', name: 'web' }));
      assert.equal(refused.code, status.UNAVAILABLE);
      assert.match(refused.details, /shutting down/);
      const stopped = t.grpc.shutdown(2000);
      assert.equal(await stream.ended(), status.UNAVAILABLE);
      assert.match(stream.error?.details ?? '', /another replica/);
      await stopped;
    } finally {
      client.close();
      await t.stop();
    }
  });
});
