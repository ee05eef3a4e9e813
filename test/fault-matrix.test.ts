// The fault matrix: one endpointd fed by the fake kube-apiserver while the API server misbehaves in every way the
// fake can — watches ended, 410 storms, compaction, 429 with Retry-After, 500 and 503, sockets cut mid-event,
// stalls before and after headers, and the API server gone for 30 s. While each fault is active the test changes
// the cluster (updates, creations, deletions, a Service created and deleted again); once the fault is over, every
// front door (REST lookups, an SSE and an NDJSON watch stream, a gRPC Watch stream, a raw ADS stream on the EDS
// resources) must show exactly the cluster's state within 2 s: no crash, no lost delete, no stale address. The
// time each door took is printed as a table (the figures of the README).
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
import { get } from './support/http.ts';
import { startKubeEndpointd, type KubeTestEndpointd } from './support/kube-endpointd.ts';

const NS = 'faults';
const PORT = 8080;
const CONVERGE_MS = 2000;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

const FAULTS = apiServerFaults();

function slice(name: string, ips: readonly string[], generation = ''): ReturnType<typeof endpointSlice> {
  return endpointSlice({
    service: name,
    namespace: NS,
    name: `${name}-slice`,
    endpoints: ips.map((address) => ({ addresses: address, pod: `${name}-pod${generation}` })),
    ports: [{ name: 'http', port: PORT }],
  });
}

/** The services each fault plays with: f{i}-del (deleted during the fault), f{i}-mod, f{i}-new, f{i}-flash. */
const names = (i: number) => ({
  del: `f${i}-del`,
  mod: `f${i}-mod`,
  add: `f${i}-new`,
  flash: `f${i}-flash`,
});

describe('the fault matrix: endpointd converges through every door after every API server fault', () => {
  let api: FakeApiServer;
  let t: KubeTestEndpointd;
  let doors: DoorObservers;
  const expected = new Map<string, string[] | undefined>();
  const table: Array<{ fault: string } & Record<Door, number>> = [];

  const put = (name: string, ips: string[]): void => {
    if (api.get('endpointslices', NS, `${name}-slice`) === undefined)
      api.create('endpointslices', slice(name, ips));
    else api.update('endpointslices', slice(name, ips));
    expected.set(name, ips);
  };
  const remove = (name: string): void => {
    api.delete('endpointslices', NS, `${name}-slice`);
    expected.set(name, undefined);
  };

  before(async () => {
    api = await FakeApiServer.start({ bookmarkIntervalMs: 250 });
    put('keep', ['10.255.0.1']);
    // A short idle timeout, so that silent watches are noticed within the test's time; bookmarks every 250 ms keep
    // healthy ones busy.
    t = await startKubeEndpointd(api, { watchIdleTimeoutMs: 1500 });
    const xdsNames = ['keep', ...FAULTS.flatMap((_, i) => Object.values(names(i)))];
    doors = await openDoorObservers({
      url: t.url,
      grpcPort: t.endpointd.grpcPort,
      namespace: NS,
      xdsNames,
      xdsPort: PORT,
    });
    await timeToConverge(doors, expected, performance.now(), 5000);
  });

  after(async () => {
    const header = ['fault', ...DOORS].join(' | ');
    const rows = table.map((r) => [r.fault, ...DOORS.map((d) => r[d].toFixed(0))].join(' | '));
    console.log(
      `\nTime to converge after recovery (ms), per door:\n| ${header} |\n|${' --- |'.repeat(DOORS.length + 1)}\n${rows.map((r) => `| ${r} |`).join('\n')}\n`,
    );
    doors?.close();
    await t?.stop();
    await api?.close();
  });

  FAULTS.forEach((fault, i) => {
    it(`${fault.title}: no crash, no lost delete, and every door converges within 2 s of recovery`, async () => {
      const n = names(i);
      const base = `10.${i + 1}`;
      // Before the fault: two services every door knows.
      put(n.del, [`${base}.0.1`, `${base}.0.2`]);
      put(n.mod, [`${base}.1.1`]);
      await timeToConverge(doors, expected, performance.now(), 5000);

      const mutate = async (): Promise<void> => {
        remove(n.del);
        put(n.mod, [`${base}.1.1`, `${base}.1.2`]);
        put(n.add, [`${base}.2.1`]);
        put(n.flash, [`${base}.3.1`]);
        await sleep(50);
        put(n.mod, [`${base}.1.2`]);
        remove(n.flash);
      };
      const recoveredAt = await fault.run(api, mutate, {
        url: t.url,
        kept: { namespace: NS, name: 'keep' },
        touch: (n) => api.update('endpointslices', slice('keep', ['10.255.0.1'], String(n))),
      });
      const times = await timeToConverge(doors, expected, recoveredAt, 15_000);
      table.push({ fault: fault.title, ...times });

      assert.equal((await get(`${t.url}/healthz`)).status, 200, 'still alive');
      for (const door of ['sse', 'ndjson', 'grpc', 'xds'] as const)
        assert.equal(doors.ended(door), false, `the ${door} stream is still open`);
      assert.equal(expected.get(n.del), undefined);
      for (const door of DOORS) {
        assert.ok(
          times[door] <= CONVERGE_MS,
          `${door} converged ${times[door].toFixed(0)} ms after recovery (limit ${CONVERGE_MS} ms)`,
        );
      }
    });
  });

  it('ends with every door agreeing with the API server on every service', async () => {
    const truth = new Map<string, string[] | undefined>();
    for (const name of expected.keys()) {
      const object = api.get('endpointslices', NS, `${name}-slice`) as
        { endpoints?: Array<{ addresses: string[] }> } | undefined;
      truth.set(
        name,
        object?.endpoints?.map((e) => e.addresses[0] ?? ''),
      );
    }
    await timeToConverge(doors, truth, performance.now(), 2000);
    const list = await get(`${t.url}/v1/services?namespace=${NS}`);
    const listed = list
      .json<{ services: Array<{ name: string }> }>()
      .services.map((s) => s.name)
      .sort();
    const present = [...truth].filter(([, ips]) => ips !== undefined).map(([name]) => name);
    assert.deepEqual(listed, present.sort());
  });
});
