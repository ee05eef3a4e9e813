import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { contentVersion } from '../src/model.ts';
import { EndpointStore, type ConflictReport } from '../src/store/endpoint-store.ts';
import { ENTRY_OVERHEAD_BYTES } from '../src/store/encoded-cache.ts';
import type { ServiceChange, Subscription, SubscriptionScope } from '../src/store/subscription.ts';
import { service } from './support/services.ts';

function newStore(onConflict?: (report: ConflictReport) => void): EndpointStore {
  return new EndpointStore({ encodedCacheBytes: 1024 * 1024, ...(onConflict ? { onConflict } : {}) });
}

/** Subscribes and collects whatever the subscription holds each time it signals, as an eager consumer would. */
function collect(
  store: EndpointStore,
  scope: SubscriptionScope,
): { changes: ServiceChange[]; sub: Subscription } {
  const changes: ServiceChange[] = [];
  const sub: Subscription = store.subscribe(scope, () => {
    queueMicrotask(() => {
      for (let c = sub.take(); c !== undefined; c = sub.take()) changes.push(c);
    });
  });
  return { changes, sub };
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('EndpointStore', () => {
  it('versions by content: equal content gives the version a fresh store gives it too', () => {
    const a = newStore();
    const b = newStore();
    a.upsert('s', service('shop', 'web', ['10.0.0.1', '10.0.0.2']));
    b.upsert('s', service('shop', 'web', ['10.0.0.1', '10.0.0.2']));
    assert.equal(
      a.get({ namespace: 'shop', name: 'web' })?.version,
      b.get({ namespace: 'shop', name: 'web' })?.version,
    );
    assert.equal(
      a.get({ namespace: 'shop', name: 'web' })?.version,
      contentVersion(service('shop', 'web', ['10.0.0.1', '10.0.0.2'])),
    );
  });

  it('versions ignore the order in which an object was built, and notice every field', () => {
    const base = service('shop', 'web', ['10.0.0.1']);
    const [endpoint] = base.endpoints;
    assert.ok(endpoint);
    const reordered = {
      ...base,
      endpoints: [Object.fromEntries(Object.entries(endpoint).reverse()) as typeof endpoint],
    };
    assert.equal(contentVersion(reordered), contentVersion(base));
    const variants = [
      { ...base, endpoints: [{ ...endpoint, hostname: 'web-0' }] },
      { ...base, endpoints: [{ ...endpoint, zone: 'zone-b' }] },
      { ...base, endpoints: [{ ...endpoint, nodeName: 'node-9' }] },
      { ...base, endpoints: [{ ...endpoint, serving: false }] },
      { ...base, endpoints: [{ ...endpoint, targetRef: { kind: 'Pod', name: 'web-0' } }] },
      { ...base, endpoints: [{ ...endpoint, hintsForZones: ['zone-a'] }] },
      { ...base, truncated: true },
      { ...base, service: { type: 'ClusterIP' as const, headless: true, ports: [] } },
    ];
    const versions = new Set([contentVersion(base), ...variants.map(contentVersion)]);
    assert.equal(versions.size, variants.length + 1);
  });

  it('notifies nobody when an update does not change the content', async () => {
    const store = newStore();
    store.upsert('s', service('shop', 'web', ['10.0.0.1']));
    const { changes } = collect(store, { kind: 'all' });
    assert.equal(store.upsert('s', service('shop', 'web', ['10.0.0.1'])), 'unchanged');
    await tick();
    assert.deepEqual(changes, []);
    assert.equal(store.stats().changes, 1);
  });

  it('tells subscribers of a service, of its namespace and of everything, and no one else', async () => {
    const store = newStore();
    const ofWeb = collect(store, { kind: 'service', key: { namespace: 'shop', name: 'web' } });
    const ofShop = collect(store, { kind: 'namespace', namespace: 'shop' });
    const ofAll = collect(store, { kind: 'all' });
    const ofOther = collect(store, { kind: 'service', key: { namespace: 'shop', name: 'cart' } });
    const ofOtherNs = collect(store, { kind: 'namespace', namespace: 'billing' });
    store.upsert('s', service('shop', 'web', ['10.0.0.1']));
    await tick();
    for (const { changes } of [ofWeb, ofShop, ofAll]) {
      assert.equal(changes.length, 1);
      assert.equal(changes[0]?.previous, undefined);
      assert.deepEqual(
        changes[0]?.current?.endpoints.map((e) => e.addresses[0]),
        ['10.0.0.1'],
      );
    }
    assert.deepEqual(ofOther.changes, []);
    assert.deepEqual(ofOtherNs.changes, []);
  });

  it('reports a deletion with the last state as previous and no current state', async () => {
    const store = newStore();
    store.upsert('s', service('shop', 'web', ['10.0.0.1']));
    const { changes } = collect(store, { kind: 'all' });
    assert.equal(store.delete('s', { namespace: 'shop', name: 'web' }), true);
    await tick();
    assert.equal(changes.length, 1);
    assert.equal(changes[0]?.current, undefined);
    assert.equal(changes[0]?.previous?.name, 'web');
    assert.equal(store.get({ namespace: 'shop', name: 'web' }), undefined);
    assert.equal(store.delete('s', { namespace: 'shop', name: 'web' }), false);
  });

  it('lets a slow subscriber hold one pending change per service, the latest, and counts what it merged', () => {
    const store = newStore();
    const sub = store.subscribe({ kind: 'all' }, () => {});
    for (let i = 0; i < 10_000; i += 1) {
      store.upsert('s', service('shop', 'web', [`10.0.${Math.floor(i / 250)}.${i % 250}`]));
    }
    assert.equal(sub.pendingCount, 1);
    assert.equal(sub.coalesced, 9_999);
    assert.equal(store.stats().coalescedUpdates, 9_999);
    const change = sub.take();
    assert.equal(change?.previous, undefined, 'the subscriber never saw a state, so this is an addition');
    assert.deepEqual(
      change?.current?.endpoints.map((e) => e.addresses[0]),
      ['10.0.39.249'],
    );
    assert.equal(sub.take(), undefined);
  });

  it('drops a pending change that returned to the state the subscriber already has', () => {
    const store = newStore();
    store.upsert('s', service('shop', 'web', ['10.0.0.1']));
    const sub = store.subscribe({ kind: 'all' }, () => {});
    store.upsert('s', service('shop', 'web', ['10.0.0.2']));
    store.upsert('s', service('shop', 'web', ['10.0.0.1']));
    assert.equal(sub.take(), undefined);
  });

  it('stops telling a subscriber once it is closed, and forgets it', () => {
    const store = newStore();
    const sub = store.subscribe({ kind: 'service', key: { namespace: 'shop', name: 'web' } }, () => {});
    assert.equal(store.stats().subscribers, 1);
    sub.close();
    store.upsert('s', service('shop', 'web', ['10.0.0.1']));
    assert.equal(sub.take(), undefined);
    assert.equal(store.stats().subscribers, 0);
  });

  it('lists services sorted by namespace and name, optionally of one namespace', () => {
    const store = newStore();
    for (const [ns, name] of [
      ['shop', 'web'],
      ['billing', 'api'],
      ['shop', 'cart'],
    ] as const) {
      store.upsert('s', service(ns, name, ['10.0.0.1']));
    }
    assert.deepEqual(
      store.list().map((s) => `${s.namespace}/${s.name}`),
      ['billing/api', 'shop/cart', 'shop/web'],
    );
    assert.deepEqual(
      store.list('shop').map((s) => s.name),
      ['cart', 'web'],
    );
  });

  it('serves a service defined by two sources from the first, reports the conflict, and falls back when it goes', () => {
    const conflicts: ConflictReport[] = [];
    const store = newStore((report) => conflicts.push(report));
    store.upsert('kubernetes', service('shop', 'web', ['10.0.0.1']));
    assert.equal(store.upsert('file:/x', service('shop', 'web', ['192.0.2.1'])), 'shadowed');
    assert.deepEqual(conflicts, [
      { key: { namespace: 'shop', name: 'web' }, servedFrom: 'kubernetes', ignoredFrom: 'file:/x' },
    ]);
    assert.deepEqual(
      store.get({ namespace: 'shop', name: 'web' })?.endpoints.map((e) => e.addresses[0]),
      ['10.0.0.1'],
    );
    store.delete('kubernetes', { namespace: 'shop', name: 'web' });
    assert.deepEqual(
      store.get({ namespace: 'shop', name: 'web' })?.endpoints.map((e) => e.addresses[0]),
      ['192.0.2.1'],
    );
  });

  // Which source serves must not depend on which one finished reading first: with ranked sources, over any order
  // of writes and removals, what is served (and what a subscriber last saw) is the best-ranked definition there is.
  it('serves the best-ranked source of a service over any order of writes and removals', async () => {
    const SOURCES = ['file:/a', 'file:/b', 'clusters'];
    const op = fc.record({
      source: fc.constantFrom(...SOURCES, 'unranked'),
      address: fc.option(fc.constantFrom('10.0.0.1', '10.0.0.2', '10.0.0.3'), { nil: undefined }),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(op, { maxLength: 25 }), async (ops) => {
        const conflicts: ConflictReport[] = [];
        const store = newStore((report) => conflicts.push(report));
        store.rankSources(SOURCES);
        const { changes, sub } = collect(store, { kind: 'service', key: { namespace: 'shop', name: 'web' } });
        const held = new Map<string, string>();
        for (const { source, address } of ops) {
          if (address === undefined) {
            store.delete(source, { namespace: 'shop', name: 'web' });
            held.delete(source);
          } else {
            store.upsert(source, service('shop', 'web', [address]));
            held.set(source, address);
          }
          const best = [...SOURCES, 'unranked'].find((s) => held.has(s));
          const served = store.get({ namespace: 'shop', name: 'web' })?.endpoints.map((e) => e.addresses[0]);
          assert.deepEqual(served, best === undefined ? undefined : [held.get(best)]);
        }
        await tick();
        sub.close();
        const last = changes.at(-1)?.current?.endpoints.map((e) => e.addresses[0]);
        const best = [...SOURCES, 'unranked'].find((s) => held.has(s));
        if (changes.length > 0) assert.deepEqual(last, best === undefined ? undefined : [held.get(best)]);
        for (const c of conflicts) {
          assert.ok(
            [...SOURCES, 'unranked'].indexOf(c.servedFrom) < [...SOURCES, 'unranked'].indexOf(c.ignoredFrom),
          );
        }
      }),
      { numRuns: 300 },
    );
  });

  it('encodes a form once per version and shares the bytes', () => {
    const store = newStore();
    store.upsert('s', service('shop', 'web', ['10.0.0.1']));
    const snapshot = store.get({ namespace: 'shop', name: 'web' });
    assert.ok(snapshot);
    let encodings = 0;
    const encode = (): Buffer => {
      encodings += 1;
      return Buffer.from('body');
    };
    const first = store.encoded.get(snapshot, 'test', encode);
    const second = store.encoded.get(snapshot, 'test', encode);
    assert.equal(first, second);
    assert.equal(encodings, 1);
    store.upsert('s', service('shop', 'web', ['10.0.0.2']));
    const next = store.get({ namespace: 'shop', name: 'web' });
    assert.ok(next);
    store.encoded.get(next, 'test', encode);
    assert.equal(encodings, 2);
  });

  it('bounds the encoded cache by bytes', () => {
    const store = new EndpointStore({ encodedCacheBytes: 10_000 });
    for (let i = 0; i < 100; i += 1) {
      store.upsert('s', service('shop', `svc-${i}`, ['10.0.0.1']));
      const snapshot = store.get({ namespace: 'shop', name: `svc-${i}` });
      assert.ok(snapshot);
      store.encoded.get(snapshot, 'big', () => Buffer.alloc(1000));
    }
    // Each entry counts its 1,000 bytes and its key and bookkeeping: fewer than ten fit, and never more than the bound.
    const { bytes, entries } = store.encoded.stats();
    assert.ok(bytes <= 10_000, `${bytes} bytes counted`);
    const perEntry = 1000 + ENTRY_OVERHEAD_BYTES;
    assert.ok(entries <= Math.floor(10_000 / perEntry) && entries >= 6, `${entries} entries kept`);
    assert.ok(bytes >= entries * perEntry, 'each entry counted with its overhead');
  });

  it('keeps the endpoint count in step with upserts and deletes', () => {
    const store = newStore();
    store.upsert('s', service('shop', 'web', ['10.0.0.1', '10.0.0.2']));
    store.upsert('s', service('shop', 'cart', ['10.0.0.3']));
    store.upsert('s', service('shop', 'web', ['10.0.0.1']));
    assert.equal(store.stats().endpoints, 2);
    store.delete('s', { namespace: 'shop', name: 'cart' });
    assert.equal(store.stats().endpoints, 1);
  });
});
