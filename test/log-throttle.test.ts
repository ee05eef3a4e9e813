// The throttle behind every repeated warning (refusals, NACKs, unusable xDS localities): over any sequence of
// occurrences, each key is logged on its first occurrence, then at most once a period, and every occurrence is
// either a line or counted in the next line's "not logged" figure.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { LogThrottle } from '../src/observability/log-throttle.ts';

const PERIOD = 1000;

describe('LogThrottle', () => {
  it('logs each key first, then at most once a period, and accounts for every occurrence', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ key: fc.constantFrom('a', 'b', 'c'), gap: fc.integer({ min: 0, max: 700 }) }), {
          maxLength: 200,
        }),
        (events) => {
          let now = 0;
          const throttle = new LogThrottle(PERIOD, 100, () => now);
          const lastLogged = new Map<string, number>();
          const occurrences = new Map<string, number>();
          const accounted = new Map<string, number>();
          const pending = new Map<string, number>();
          for (const { key, gap } of events) {
            now += gap;
            occurrences.set(key, (occurrences.get(key) ?? 0) + 1);
            const { log, notLogged } = throttle.admit(key);
            const last = lastLogged.get(key);
            // Logged exactly when the key is new or its last line is a period old.
            assert.equal(log, last === undefined || now - last >= PERIOD, `${key} at ${now}`);
            if (log) {
              lastLogged.set(key, now);
              // The line says how many were kept out since the previous one.
              assert.equal(notLogged, pending.get(key) ?? 0);
              accounted.set(key, (accounted.get(key) ?? 0) + 1 + notLogged);
              pending.set(key, 0);
            } else {
              pending.set(key, (pending.get(key) ?? 0) + 1);
              assert.equal(notLogged, pending.get(key));
            }
          }
          for (const [key, count] of occurrences) {
            assert.equal((accounted.get(key) ?? 0) + (pending.get(key) ?? 0), count, key);
          }
        },
      ),
    );
  });

  it('remembers a bounded number of keys: the oldest forgotten is logged as new', () => {
    const throttle = new LogThrottle(PERIOD, 2, () => 0);
    assert.equal(throttle.admit('a').log, true);
    assert.equal(throttle.admit('b').log, true);
    assert.equal(throttle.admit('a').log, false);
    assert.equal(throttle.admit('c').log, true); // evicts b, the least recently used
    assert.equal(throttle.admit('b').log, true);
  });
});
