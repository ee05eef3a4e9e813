// A subscription merges the changes its consumer has not taken yet (latest state wins). Whatever the order of
// changes, deletions and takes, what a consumer takes must be what it would learn by comparing the store now with
// what it was last told: for each service, `previous` the state it last took (undefined: none), `current` the
// state now; a service back where the consumer left it is not pending at all. And a change once taken is the
// consumer's: later merges (which write pending changes in place) never alter it.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { ServiceSnapshot } from '../src/model.ts';
import { EndpointStore } from '../src/store/endpoint-store.ts';
import type { ServiceChange } from '../src/store/subscription.ts';
import { service } from './support/services.ts';

const NAMES = ['a', 'b', 'c'];
const ADDRESSES = ['10.0.0.1', '10.0.0.2', '10.0.0.3'];

type Step =
  | { readonly op: 'upsert'; readonly name: string; readonly address: string }
  | { readonly op: 'delete'; readonly name: string }
  | { readonly op: 'take'; readonly count: number };

const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({
    op: fc.constant('upsert' as const),
    name: fc.constantFrom(...NAMES),
    address: fc.constantFrom(...ADDRESSES),
  }),
  fc.record({ op: fc.constant('delete' as const), name: fc.constantFrom(...NAMES) }),
  fc.record({ op: fc.constant('take' as const), count: fc.integer({ min: 1, max: 4 }) }),
);

/** What a consumer holds of a taken change, frozen at the moment it took it. */
const seen = (change: ServiceChange): string =>
  `${change.id} ${change.previous?.version ?? '-'} → ${change.current?.version ?? '-'}`;

describe('a subscription merging what its consumer has not taken', () => {
  it('hands out, for every service, what it was last told and what is there now, and never rewrites a taken change', () => {
    fc.assert(
      fc.property(fc.array(step, { maxLength: 60 }), (steps) => {
        const store = new EndpointStore({ encodedCacheBytes: 1 << 20 });
        const reader = store.subscribe({ kind: 'namespace', namespace: 'shop' }, () => {});
        // Never reads: every change of every service merges into its pending set, many times over.
        const stalled = store.subscribe({ kind: 'all' }, () => {});
        const told = new Map<string, ServiceSnapshot | undefined>();
        const taken: Array<{ change: ServiceChange; when: string }> = [];

        const drain = (count: number): void => {
          for (let n = 0; n < count; n += 1) {
            const change = reader.take();
            if (change === undefined) return;
            assert.equal(change.previous?.version, told.get(change.id)?.version, `previous of ${change.id}`);
            assert.equal(change.current?.version, store.get(change.key)?.version, `current of ${change.id}`);
            assert.notEqual(
              change.previous?.version,
              change.current?.version,
              'a change that changes nothing',
            );
            told.set(change.id, change.current);
            taken.push({ change, when: seen(change) });
          }
        };

        for (const s of steps) {
          if (s.op === 'upsert') store.upsert('files', service('shop', s.name, [s.address]));
          else if (s.op === 'delete') store.delete('files', { namespace: 'shop', name: s.name });
          else drain(s.count);
        }
        drain(Infinity);
        // Every service is now where the consumer believes it is.
        for (const name of NAMES) {
          const id = `shop/${name}`;
          assert.equal(told.get(id)?.version, store.get({ namespace: 'shop', name })?.version, id);
        }
        for (const { change, when } of taken)
          assert.equal(seen(change), when, 'a taken change was rewritten');

        // The stalled subscriber, read only now, learns each service's state in one change (or nothing, for a
        // service that is gone and that it never saw).
        const late = new Map<string, ServiceChange>();
        for (let change = stalled.take(); change !== undefined; change = stalled.take()) {
          assert.equal(late.has(change.id), false, `two pending changes of ${change.id}`);
          late.set(change.id, change);
          assert.equal(change.previous, undefined);
          assert.equal(change.current?.version, store.get(change.key)?.version);
        }
        for (const name of NAMES) {
          const now = store.get({ namespace: 'shop', name });
          assert.equal(late.get(`shop/${name}`)?.current?.version, now?.version, name);
        }
      }),
      { numRuns: 400 },
    );
  });
});
