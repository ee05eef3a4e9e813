// The fault matrix across two clusters (issue 13 item 4): one endpointd reads two fake kube-apiservers with
// --cluster; cluster `a` goes through every fault of the catalog (test/support/api-faults.ts) while cluster `b`
// keeps changing. During each fault `a` deletes a Service that `b` still defines (only b's endpoints must remain),
// deletes one only it defines (it must go), updates, creates and flashes others; `b` churns all along and must be
// served live while `a` is faulted. Once the fault is over every door (REST, SSE, NDJSON, gRPC Watch, ADS/EDS)
// must show exactly the union of both clusters within 2 s: no crash, no lost delete, no stale address, and `a`
// no longer marked stale.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { apiServerFaults } from './support/api-faults.ts';
import { endpointSlice, FakeApiServer } from './support/fake-apiserver/index.ts';
import {
  DOORS,
  openDoorObservers,
  timeToConverge,
  type Door,
  type DoorObservers,
} from './support/fault-doors.ts';
import { eventually, get, metricValue } from './support/http.ts';
import { startMulticlusterEndpointd, type MulticlusterEndpointd } from './support/multicluster-endpointd.ts';
import type { ReadinessDetail } from '../src/observability/readiness.ts';

const NS = 'faults';
const PORT = 8080;
const CONVERGE_MS = 2000;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
// The outage is shorter than the single-cluster matrix's 30 s: every backoff caps far below it either way.
const FAULTS = apiServerFaults({ downMs: 8000 });

type ClusterName = 'a' | 'b';

function slice(name: string, ips: readonly string[], generation = ''): ReturnType<typeof endpointSlice> {
  return endpointSlice({
    service: name,
    namespace: NS,
    name: `${name}-slice`,
    endpoints: ips.map((address) => ({ addresses: address, pod: `${name}-pod${generation}` })),
    ports: [{ name: 'http', port: PORT }],
  });
}

describe('the fault matrix across two clusters: one faulted, the other changing', () => {
  const apis = {} as Record<ClusterName, FakeApiServer>;
  let t: MulticlusterEndpointd;
  let doors: DoorObservers;
  /** What each cluster's API server holds: service name → its endpoints' addresses. */
  const truth: Record<ClusterName, Map<string, string[]>> = { a: new Map(), b: new Map() };
  const names = new Set<string>();
  const table: Array<{ fault: string } & Record<Door, number>> = [];

  /** The union endpointd must serve: every cluster's addresses of a name; undefined when no cluster has it. */
  const expected = (): Map<string, string[] | undefined> => {
    const union = new Map<string, string[] | undefined>();
    for (const name of names) {
      const ips = [...(truth.a.get(name) ?? []), ...(truth.b.get(name) ?? [])];
      union.set(name, truth.a.has(name) || truth.b.has(name) ? ips : undefined);
    }
    return union;
  };
  const put = (cluster: ClusterName, name: string, ips: string[]): void => {
    const api = apis[cluster];
    if (api.get('endpointslices', NS, `${name}-slice`) === undefined)
      api.create('endpointslices', slice(name, ips));
    else api.update('endpointslices', slice(name, ips));
    truth[cluster].set(name, ips);
    names.add(name);
  };
  const remove = (cluster: ClusterName, name: string): void => {
    apis[cluster].delete('endpointslices', NS, `${name}-slice`);
    truth[cluster].delete(name);
  };
  const readiness = async (): Promise<ReadinessDetail> =>
    (await get(`${t.url}/readyz`)).json<ReadinessDetail>();

  before(async () => {
    [apis.a, apis.b] = await Promise.all([
      FakeApiServer.start({ bookmarkIntervalMs: 250 }),
      FakeApiServer.start({ bookmarkIntervalMs: 250 }),
    ]);
    put('a', 'keep', ['10.250.0.1']);
    put('b', 'keep', ['10.251.0.1']);
    put('b', 'b-churn', ['10.251.1.0']);
    t = await startMulticlusterEndpointd(
      [
        { name: 'a', api: apis.a },
        { name: 'b', api: apis.b },
      ],
      { kubernetes: { watchIdleTimeoutMs: 1500 } },
    );
    const xdsNames = [
      'keep',
      'b-churn',
      ...FAULTS.flatMap((_, i) => ['both', 'gone', 'mod', 'new', 'flash', 'bnew'].map((n) => `f${i}-${n}`)),
    ];
    doors = await openDoorObservers({
      url: t.url,
      grpcPort: t.endpointd.grpcPort,
      namespace: NS,
      xdsNames,
      xdsPort: PORT,
    });
    await timeToConverge(doors, expected(), performance.now(), 5000);
  });

  after(async () => {
    const header = ['fault on cluster a', ...DOORS].join(' | ');
    const rows = table.map((r) => [r.fault, ...DOORS.map((d) => r[d].toFixed(0))].join(' | '));
    console.log(
      `\nTwo clusters, time to converge after recovery (ms), per door:\n| ${header} |\n|${' --- |'.repeat(DOORS.length + 1)}\n${rows.map((r) => `| ${r} |`).join('\n')}\n`,
    );
    doors?.close();
    await t?.stop();
    await Promise.all([apis.a?.close(), apis.b?.close()]);
  });

  FAULTS.forEach((fault, i) => {
    it(`${fault.title} on one cluster while the other changes: no lost delete, every door converges within 2 s`, async () => {
      const n = (what: string): string => `f${i}-${what}`;
      const a = `10.${i + 1}`;
      const b = `10.${i + 101}`;
      // Before the fault: a Service both clusters define, and one only `a` defines.
      put('a', n('both'), [`${a}.0.1`, `${a}.0.2`]);
      put('b', n('both'), [`${b}.0.1`]);
      put('a', n('gone'), [`${a}.4.1`]);
      put('a', n('mod'), [`${a}.1.1`]);
      await timeToConverge(doors, expected(), performance.now(), 5000);

      let churned = 0;
      const churn = setInterval(() => {
        churned += 1;
        put('b', 'b-churn', [`10.251.1.${churned % 250}`]);
      }, 100);
      const mutate = async (): Promise<void> => {
        remove('a', n('both')); // b keeps it: only b's endpoints may remain
        remove('a', n('gone')); // nobody keeps it: it must go
        put('a', n('mod'), [`${a}.1.1`, `${a}.1.2`]);
        put('a', n('new'), [`${a}.2.1`]);
        put('a', n('flash'), [`${a}.3.1`]);
        await sleep(50);
        put('a', n('mod'), [`${a}.1.2`]);
        remove('a', n('flash'));
        // Cluster b is served live while a is in trouble.
        put('b', n('both'), [`${b}.0.1`, `${b}.0.2`]);
        put('b', n('bnew'), [`${b}.5.1`]);
        await t.until(NS, n('bnew'), (body) => body?.endpoints[0]?.addresses[0] === `${b}.5.1`);
      };
      let recoveredAt: number;
      try {
        recoveredAt = await fault.run(apis.a, mutate, {
          url: t.url,
          kept: { namespace: NS, name: 'keep' },
          touch: (k) => apis.a.update('endpointslices', slice('keep', ['10.250.0.1'], String(k))),
          duringOutage: async () => {
            // a's last known endpoints are served, marked stale; b's are current.
            const kept = await t.until(
              NS,
              'keep',
              (body) => body?.clusters?.find((c) => c.name === 'a')?.stale === true,
            );
            assert.deepEqual(kept?.endpoints.map((e) => `${e.cluster} ${e.addresses[0]}`).sort(), [
              'a 10.250.0.1',
              'b 10.251.0.1',
            ]);
            assert.deepEqual(
              kept?.clusters?.map((c) => `${c.name} ${c.stale}`),
              ['a true', 'b false'],
            );
            assert.equal(await metricValue(t.url, 'endpointd_cluster_stale{cluster="a"}'), 1);
          },
        });
      } finally {
        clearInterval(churn);
      }
      const times = await timeToConverge(doors, expected(), recoveredAt, 15_000);
      table.push({ fault: fault.title, ...times });

      assert.equal((await get(`${t.url}/healthz`)).status, 200, 'still alive');
      for (const door of ['sse', 'ndjson', 'grpc', 'xds'] as const)
        assert.equal(doors.ended(door), false, `the ${door} stream is still open`);
      assert.deepEqual(
        (await t.lookup(NS, n('both')))?.endpoints.map((e) => `${e.cluster} ${e.addresses[0]}`).sort(),
        [`b ${b}.0.1`, `b ${b}.0.2`],
        'the Service a deleted is served from b alone',
      );
      assert.equal(await t.lookup(NS, n('gone')), undefined, 'the Service only a defined is gone');
      for (const door of DOORS) {
        assert.ok(
          times[door] <= CONVERGE_MS,
          `${door} converged ${times[door].toFixed(0)} ms after recovery (limit ${CONVERGE_MS} ms)`,
        );
      }
      // Ready all along, and a is current again once it answers.
      await eventually(async () => {
        const detail = await readiness();
        const stale = detail.sources.map((s) => s.cluster?.stale);
        return detail.ready && stale.every((s) => s === false) ? true : undefined;
      }, 5000);
    });
  });

  it('ends with every door agreeing with both API servers on every service', async () => {
    for (const cluster of ['a', 'b'] as const) {
      for (const name of names) {
        const object = apis[cluster].get('endpointslices', NS, `${name}-slice`) as
          { endpoints?: Array<{ addresses: string[] }> } | undefined;
        if (object === undefined) truth[cluster].delete(name);
        else truth[cluster].set(name, object.endpoints?.map((e) => e.addresses[0] ?? '') ?? []);
      }
    }
    await timeToConverge(doors, expected(), performance.now(), 2000);
    const listed = (await get(`${t.url}/v1/services?namespace=${NS}`))
      .json<{ services: Array<{ name: string }> }>()
      .services.map((s) => s.name)
      .sort();
    const present = [...expected()].filter(([, ips]) => ips !== undefined).map(([name]) => name);
    assert.deepEqual(listed, present.sort());
  });
});
