// The grouping of a caller's pick into xDS priorities and localities (src/views/topology-priorities.ts), as
// properties over drawn tiers and over real picks: each IP:port once, at the first tier that holds it; priorities
// contiguous from 0 with empty ones dropped; one locality per zone inside each; weights that gRPC accepts.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { Endpoint } from '../src/model.ts';
import { dialTargets, findPort } from '../src/views/endpoint-sets.ts';
import { pickForCaller, type TopologyEndpoint } from '../src/views/topology.ts';
import { priorityLevels, type PlacedTarget, type PriorityLevel } from '../src/views/topology-priorities.ts';

const RUNS = { numRuns: 2000 };

const targets = fc.record(
  {
    address: fc.constantFrom('10.0.0.1', '10.0.0.2', '10.0.0.3', 'fd00::1'),
    port: fc.constantFrom(8080, 8081),
    zone: fc.constantFrom(undefined, '', 'zone-a', 'zone-b'),
  },
  { requiredKeys: ['address', 'port'] },
);
/** Up to four tiers, some often empty, with the same IP:port often in several of them. */
const tiers = fc.array(fc.array(targets, { maxLength: 6 }), { maxLength: 4 });
/** Some endpoints have no target on the port being assigned. */
const tiersWithGaps = fc.array(fc.array(fc.option(targets, { nil: undefined }), { maxLength: 6 }), {
  maxLength: 4,
});

const id = (t: PlacedTarget): string => `${t.address}|${t.port}`;
const all = <T extends PlacedTarget>(levels: readonly PriorityLevel<T>[]): T[] =>
  levels.flatMap((l) => l.localities.flatMap((g) => g.targets));

describe('priorityLevels: properties', () => {
  it('lists each IP:port once, and every IP:port of the tiers', () => {
    fc.assert(
      fc.property(tiersWithGaps, (drawn) => {
        const levels = priorityLevels(drawn, (t) => t);
        const listed = all(levels).map(id);
        assert.equal(new Set(listed).size, listed.length, 'an IP:port listed twice');
        const given = new Set(drawn.flat().flatMap((t) => (t === undefined ? [] : [id(t)])));
        assert.deepEqual(new Set(listed), given);
      }),
      RUNS,
    );
  });

  it('puts an IP:port at the first tier holding it, as it was there; tiers keep their order, empty ones dropped', () => {
    fc.assert(
      fc.property(tiers, (drawn) => {
        const levels = priorityLevels(drawn, (t) => t);
        const firstTier = (t: PlacedTarget): number =>
          drawn.findIndex((tier) => tier.some((x) => id(x) === id(t)));
        assert.deepEqual(
          levels.map((l) => l.priority),
          levels.map((_, i) => i),
        );
        const tierOfLevel = levels.map((level) => {
          const found = new Set(level.localities.flatMap((g) => g.targets.map(firstTier)));
          assert.equal(found.size, 1, 'one level holds targets of one tier');
          return [...found][0] ?? -1;
        });
        for (let i = 1; i < tierOfLevel.length; i++)
          assert.ok((tierOfLevel[i] ?? 0) > (tierOfLevel[i - 1] ?? 0));
        const nonEmptyTiers = new Set(drawn.flat().map(firstTier));
        assert.equal(levels.length, nonEmptyTiers.size);
        // The very object of the first occurrence: its zone is the one that counts.
        for (const t of all(levels)) {
          const first = drawn[firstTier(t)]?.find((x) => id(x) === id(t));
          assert.equal(t, first);
        }
      }),
      RUNS,
    );
  });

  it('never lists one (region, zone, sub_zone) twice in the whole assignment', () => {
    fc.assert(
      fc.property(tiers, (drawn) => {
        const localities = priorityLevels(drawn, (t) => t).flatMap((l) =>
          l.localities.map((g) => JSON.stringify([g.region ?? '', g.zone ?? '', g.subZone ?? ''])),
        );
        assert.equal(new Set(localities).size, localities.length);
      }),
      RUNS,
    );
  });

  it('holds one locality per zone in each priority, sorted, never empty, weighted by its size', () => {
    fc.assert(
      fc.property(tiers, (drawn) => {
        for (const level of priorityLevels(drawn, (t) => t)) {
          assert.ok(level.localities.length > 0);
          const zones = level.localities.map((g) => g.zone ?? '');
          assert.deepEqual(zones, [...new Set(zones)].sort());
          for (const group of level.localities) {
            assert.ok(group.targets.length > 0);
            assert.equal(group.weight, group.targets.length);
            assert.notEqual(group.zone, '', 'the empty zone is the empty locality (undefined)');
            for (const t of group.targets) assert.equal(t.zone === '' ? undefined : t.zone, group.zone);
            const order = group.targets.map((t) => [t.address, t.port] as const);
            const sorted = [...order].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] - b[1]));
            assert.deepEqual(order, sorted);
          }
        }
      }),
      RUNS,
    );
  });

  it('turns any pick into one priority per non-empty part, holding exactly the dial targets of each', () => {
    const endpoint = fc.record({
      address: fc.constantFrom('10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.4'),
      http: fc.constantFrom(8080, 8081, undefined),
      zone: fc.constantFrom('zone-a', 'zone-b', undefined),
      ready: fc.boolean(),
      forZones: fc.subarray(['zone-a', 'zone-b', 'zone-c'], { minLength: 1 }),
    });
    const service = fc.array(endpoint, { maxLength: 8 }).map((drawn) => ({
      trafficDistribution: 'PreferSameZone',
      endpoints: drawn.map((d): Endpoint & TopologyEndpoint => ({
        addresses: [d.address],
        addressType: 'IPv4',
        ports: d.http === undefined ? [] : [{ name: 'http', port: d.http, protocol: 'TCP' }],
        ready: d.ready,
        serving: d.ready,
        terminating: false,
        ...(d.zone === undefined ? {} : { zone: d.zone }),
        hintsForZones: d.forZones,
      })),
    }));
    const caller = fc.record(
      { zone: fc.constantFrom('zone-a', 'zone-b', 'zone-c', undefined) },
      { requiredKeys: [] },
    );
    const place = (e: Endpoint): PlacedTarget | undefined => {
      const port = findPort(e, { name: 'http' });
      const address = e.addresses[0];
      return port === undefined || address === undefined
        ? undefined
        : { address, port: port.port, zone: e.zone };
    };
    const ids = (list: readonly PlacedTarget[]): string[] => list.map(id).sort();
    fc.assert(
      fc.property(service, caller, (drawn, where) => {
        const pick = pickForCaller(drawn, where);
        const levels = priorityLevels([pick.picked, pick.rest], place);
        const first = ids(dialTargets([...pick.picked], { name: 'http' }));
        const second = ids(dialTargets([...pick.rest], { name: 'http' })).filter((t) => !first.includes(t));
        const expected = [first, second].filter((level) => level.length > 0);
        assert.deepEqual(
          levels.map((l) => ids(l.localities.flatMap((g) => g.targets))),
          expected,
        );
        if (pick.rest.length === 0) assert.ok(levels.length <= 1);
      }),
      RUNS,
    );
  });
});

describe('priorityLevels: cases', () => {
  const at = (address: string, zone?: string): PlacedTarget => ({ address, port: 8080, zone });

  it('groups the pick by zone at priority 0 and the rest at priority 1', () => {
    const levels = priorityLevels(
      [[at('10.0.0.2', 'zone-a'), at('10.0.0.1', 'zone-a'), at('10.0.0.3')], [at('10.0.0.4', 'zone-b')]],
      (t) => t,
    );
    assert.deepEqual(levels, [
      {
        priority: 0,
        localities: [
          { region: undefined, zone: undefined, subZone: undefined, targets: [at('10.0.0.3')], weight: 1 },
          {
            region: undefined,
            zone: 'zone-a',
            subZone: undefined,
            targets: [at('10.0.0.1', 'zone-a'), at('10.0.0.2', 'zone-a')],
            weight: 2,
          },
        ],
      },
      {
        priority: 1,
        localities: [
          {
            region: undefined,
            zone: 'zone-b',
            subZone: undefined,
            targets: [at('10.0.0.4', 'zone-b')],
            weight: 1,
          },
        ],
      },
    ]);
  });

  it('renumbers when the pick has nothing on this port, and keeps an IP:port at its best priority', () => {
    const levels = priorityLevels([[], [at('10.0.0.1', 'zone-a'), at('10.0.0.1', 'zone-b')]], (t) => t);
    assert.deepEqual(levels, [
      {
        priority: 0,
        localities: [
          {
            region: undefined,
            zone: 'zone-a',
            subZone: undefined,
            targets: [at('10.0.0.1', 'zone-a')],
            weight: 1,
          },
        ],
      },
    ]);
    assert.deepEqual(
      priorityLevels([[at('10.0.0.1', 'zone-a')], [at('10.0.0.1', 'zone-b')]], (t) => t).length,
      1,
    );
  });

  it('lists a zone split across priorities once in each, the lower ones with sub_zone priority-N', () => {
    const levels = priorityLevels(
      [
        [at('10.0.0.1', 'zone-a')],
        [at('10.0.0.2', 'zone-a'), at('10.0.0.3', 'zone-b')],
        [at('10.0.0.4', 'zone-a')],
      ],
      (t) => t,
    );
    assert.deepEqual(
      levels.map((l) => l.localities.map((g) => [l.priority, g.zone, g.subZone])),
      [
        [[0, 'zone-a', undefined]],
        [
          [1, 'zone-a', 'priority-1'],
          [1, 'zone-b', undefined],
        ],
        [[2, 'zone-a', 'priority-2']],
      ],
    );
  });

  it('gives no priority at all for nothing', () => {
    assert.deepEqual(
      priorityLevels([[], []], (t: PlacedTarget) => t),
      [],
    );
    assert.deepEqual(
      priorityLevels([], (t: PlacedTarget) => t),
      [],
    );
  });
});
