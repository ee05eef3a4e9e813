// The store's bookkeeping, synchronously: what upsert and delete return, which source's definitions it holds,
// conflicts reported once, subscribers of the same scope told independently and forgotten when closed, pending
// changes coalesced (deletions included), and the encoded cache's counters.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EndpointStore, type ConflictReport } from '../src/store/endpoint-store.ts';
import { ENTRY_OVERHEAD_BYTES } from '../src/store/encoded-cache.ts';
import type { SubscriptionScope } from '../src/store/subscription.ts';
import { service } from './support/services.ts';

const web = { namespace: 'shop', name: 'web' };

function newStore(onConflict?: (report: ConflictReport) => void): EndpointStore {
  return new EndpointStore({ encodedCacheBytes: 1024 * 1024, ...(onConflict ? { onConflict } : {}) });
}

describe('EndpointStore bookkeeping', () => {
  it('says what an upsert did: created, updated, unchanged, shadowed', () => {
    const store = newStore();
    assert.equal(store.upsert('a', service('shop', 'web', ['10.0.0.1'])), 'created');
    assert.equal(store.upsert('a', service('shop', 'web', ['10.0.0.2'])), 'updated');
    assert.equal(store.upsert('a', service('shop', 'web', ['10.0.0.2'])), 'unchanged');
    assert.equal(store.upsert('b', service('shop', 'web', ['10.0.0.3'])), 'shadowed');
    assert.equal(store.upsert('b', service('shop', 'web', ['10.0.0.4'])), 'shadowed');
  });

  it('lists the services each source defines, served or shadowed', () => {
    const store = newStore();
    store.upsert('a', service('shop', 'web', ['10.0.0.1']));
    store.upsert('a', service('shop', 'cart', ['10.0.0.2']));
    store.upsert('b', service('shop', 'web', ['10.0.0.3']));
    const keys = (source: string) =>
      store
        .keysOf(source)
        .map((k) => `${k.namespace}/${k.name}`)
        .sort();
    assert.deepEqual(keys('a'), ['shop/cart', 'shop/web']);
    assert.deepEqual(keys('b'), ['shop/web']);
    assert.deepEqual(keys('c'), []);
    store.delete('a', web);
    assert.deepEqual(keys('a'), ['shop/cart']);
  });

  it('reports a conflict once, when the second source first defines the Service', () => {
    const conflicts: ConflictReport[] = [];
    const store = newStore((report) => conflicts.push(report));
    store.upsert('a', service('shop', 'web', ['10.0.0.1']));
    store.upsert('b', service('shop', 'web', ['10.0.0.2']));
    store.upsert('b', service('shop', 'web', ['10.0.0.3']));
    store.upsert('a', service('shop', 'web', ['10.0.0.4']));
    assert.equal(conflicts.length, 1);
    // Without a listener, a conflict is no error.
    const quiet = newStore();
    quiet.upsert('a', service('shop', 'web', ['10.0.0.1']));
    assert.equal(quiet.upsert('b', service('shop', 'web', ['10.0.0.2'])), 'shadowed');
  });

  it('falls back to the other source, and forgets the Service once no source defines it', () => {
    const store = newStore();
    store.upsert('a', service('shop', 'web', ['10.0.0.1']));
    store.upsert('b', service('shop', 'web', ['10.0.0.2']));
    const sub = store.subscribe({ kind: 'service', key: web }, () => {});
    // Deleting the shadowed definition changes nothing served: nobody is told.
    assert.equal(store.delete('b', web), true);
    assert.equal(sub.pendingCount, 0);
    store.upsert('b', service('shop', 'web', ['10.0.0.2']));
    assert.equal(store.delete('a', web), true);
    assert.deepEqual(
      store.get(web)?.endpoints.map((e) => e.addresses[0]),
      ['10.0.0.2'],
    );
    assert.equal(store.delete('b', web), true);
    assert.equal(store.get(web), undefined);
    assert.equal(store.delete('b', web), false, 'nothing left to delete');
    assert.equal(store.delete('never', { namespace: 'x', name: 'y' }), false);
    const change = [sub.take(), sub.take()].find((c) => c !== undefined);
    assert.deepEqual(change?.key, web);
    assert.equal(change?.current, undefined, 'merged into the deletion');
  });

  it('tells two subscribers of the same scope independently, and forgets each once closed', () => {
    const store = newStore();
    const scopes: SubscriptionScope[] = [
      { kind: 'service', key: web },
      { kind: 'namespace', namespace: 'shop' },
      { kind: 'all' },
    ];
    for (const scope of scopes) {
      let firstTold = 0;
      let secondTold = 0;
      const first = store.subscribe(scope, () => (firstTold += 1));
      const second = store.subscribe(scope, () => (secondTold += 1));
      const base = store.stats().subscribers;
      store.upsert('a', service('shop', 'web', [`10.0.${scopes.indexOf(scope)}.1`]));
      assert.deepEqual([firstTold, secondTold], [1, 1], scope.kind);
      first.close();
      assert.equal(store.stats().subscribers, base - 1, `${scope.kind}: the closed one is forgotten`);
      while (second.take() !== undefined);
      store.upsert('a', service('shop', 'web', [`10.0.${scopes.indexOf(scope)}.2`]));
      assert.deepEqual([firstTold, secondTold], [1, 2], `${scope.kind}: the other is still told`);
      second.close();
      assert.equal(store.stats().subscribers, base - 2);
    }
  });
});

describe('Subscription', () => {
  it('signals once while changes pend, and again once they were taken', () => {
    const store = newStore();
    let signals = 0;
    const sub = store.subscribe({ kind: 'all' }, () => (signals += 1));
    store.upsert('a', service('shop', 'web', ['10.0.0.1']));
    store.upsert('a', service('shop', 'cart', ['10.0.0.2']));
    assert.equal(signals, 1, 'two services pending, one signal');
    assert.equal(sub.pendingCount, 2);
    while (sub.take() !== undefined);
    store.upsert('a', service('shop', 'web', ['10.0.0.3']));
    assert.equal(signals, 2);
  });

  it('merges a deletion into a pending change, and keeps nothing once closed', () => {
    const store = newStore();
    store.upsert('a', service('shop', 'web', ['10.0.0.1']));
    let signals = 0;
    const sub = store.subscribe({ kind: 'service', key: web }, () => (signals += 1));
    store.upsert('a', service('shop', 'web', ['10.0.0.2']));
    store.delete('a', web);
    const change = sub.take();
    assert.equal(change?.current, undefined);
    assert.deepEqual(
      change?.previous?.endpoints.map((e) => e.addresses[0]),
      ['10.0.0.1'],
    );
    assert.equal(sub.coalesced, 1);
    store.upsert('a', service('shop', 'web', ['10.0.0.3']));
    assert.equal(sub.closed, false);
    const before = store.stats().subscribers;
    sub.close();
    sub.close();
    assert.equal(sub.closed, true);
    assert.equal(store.stats().subscribers, before - 1, 'closing twice forgets it once');
    assert.equal(sub.take(), undefined, 'what was pending is dropped');
    store.upsert('a', service('shop', 'web', ['10.0.0.4']));
    assert.equal(sub.pendingCount, 0, 'nothing is delivered after close');
    assert.equal(signals, 2);
  });
});

describe('EncodedCache counters', () => {
  it('counts hits and misses', () => {
    const store = newStore();
    store.upsert('a', service('shop', 'web', ['10.0.0.1']));
    const snapshot = store.get(web);
    assert.ok(snapshot);
    const encode = () => Buffer.from('x');
    store.encoded.get(snapshot, 'f', encode);
    store.encoded.get(snapshot, 'f', encode);
    store.encoded.get(snapshot, 'f', encode);
    store.encoded.get(snapshot, 'g', encode);
    const stats = store.encoded.stats();
    assert.deepEqual([stats.hits, stats.misses, stats.entries], [2, 2, 2]);
    // Each entry counts its one byte, its key (twice: built, then flattened) and the cache's bookkeeping.
    const counted = (form: string): number =>
      1 + 2 * `shop/web@${snapshot.version}#${form}`.length + ENTRY_OVERHEAD_BYTES;
    assert.equal(stats.bytes, counted('f') + counted('g'));
  });
});
