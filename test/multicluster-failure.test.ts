// A failing cluster among several (issue 13 item 4): its last known endpoints stay served, marked stale in the
// answers (clusters[].stale), /readyz and the metrics; one unreachable at start delays readiness only up to
// --cluster-ready-timeout, then endpointd is ready with it marked and it joins when it answers; a cluster that
// flaps ends in the right state with the other cluster's changes all served.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FakeApiServer } from './support/fake-apiserver/index.ts';
import { eventually, get, metricValue } from './support/http.ts';
import { startMulticlusterEndpointd, taggedAddresses, shopSlice } from './support/multicluster-endpointd.ts';
import type { ReadinessDetail } from '../src/observability/readiness.ts';

const NS = 'shop';
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

const slice = shopSlice;

const readiness = async (url: string): Promise<{ status: number; detail: ReadinessDetail }> => {
  const answer = await get(`${url}/readyz`);
  return { status: answer.status, detail: answer.json<ReadinessDetail>() };
};

const clusterEntry = (detail: ReadinessDetail, name: string) =>
  detail.sources.find((s) => s.cluster?.name === name);

describe('a failing cluster among several', () => {
  it('keeps its last known endpoints, marked stale in answers, /readyz and metrics, until it answers again', async () => {
    const [east, west] = await Promise.all([FakeApiServer.start(), FakeApiServer.start()]);
    east.create('endpointslices', slice('web', ['10.1.0.1']));
    west.create('endpointslices', slice('web', ['10.2.0.1']));
    const t = await startMulticlusterEndpointd([
      { name: 'east', api: east },
      { name: 'west', api: west },
    ]);
    try {
      const healthy = await t.lookup(NS, 'web');
      assert.deepEqual(healthy?.clusters, [
        { name: 'east', stale: false },
        { name: 'west', stale: false },
      ]);
      await west.stopListening();
      const stale = await t.until(
        NS,
        'web',
        (b) => b?.clusters?.find((c) => c.name === 'west')?.stale === true,
      );
      assert.deepEqual(
        taggedAddresses(stale),
        ['east 10.1.0.1', 'west 10.2.0.1'],
        'west is served as last known',
      );
      assert.notEqual(stale?.version, healthy?.version, 'staleness is part of the answer, so of its version');
      // The first error may be the cut connection; the retries then meet the closed port, and /readyz says so.
      const during = await eventually(async () => {
        const now = await readiness(t.url);
        return /ECONNREFUSED/.test(clusterEntry(now.detail, 'west')?.error ?? '') ? now : undefined;
      }, 5000);
      assert.equal(during.status, 200, 'a failing cluster does not make a ready replica unready');
      assert.equal(clusterEntry(during.detail, 'west')?.cluster?.stale, true);
      assert.equal(clusterEntry(during.detail, 'east')?.cluster?.stale, false);
      assert.equal(await metricValue(t.url, 'endpointd_cluster_stale{cluster="west"}'), 1);
      assert.equal(await metricValue(t.url, 'endpointd_cluster_stale{cluster="east"}'), 0);
      // east keeps changing meanwhile, and that is served.
      east.update('endpointslices', slice('web', ['10.1.0.1', '10.1.0.2']));
      await t.until(NS, 'web', (b) => taggedAddresses(b).includes('east 10.1.0.2'));
      // west changed while unreachable: once back, its new state and current marking are served.
      west.update('endpointslices', slice('web', ['10.2.0.9']));
      await west.resumeListening();
      const back = await t.until(
        NS,
        'web',
        (b) => b?.clusters?.every((c) => !c.stale) === true && taggedAddresses(b).includes('west 10.2.0.9'),
      );
      assert.deepEqual(taggedAddresses(back), ['east 10.1.0.1', 'east 10.1.0.2', 'west 10.2.0.9']);
      assert.equal(await metricValue(t.url, 'endpointd_cluster_stale{cluster="west"}'), 0);
      const watchEvents = await metricValue(
        t.url,
        'endpointd_kubernetes_lists_total{resource="endpointslices",reason="initial",cluster="west"}',
      );
      assert.equal(watchEvents, 1, 'the per-cluster metric label');
    } finally {
      await t.stop();
      await Promise.all([east.close(), west.close()]);
    }
  });

  it('becomes ready without a cluster unreachable at start after the bounded wait, and takes it in when it answers', async () => {
    const [east, west] = await Promise.all([FakeApiServer.start(), FakeApiServer.start()]);
    east.create('endpointslices', slice('web', ['10.1.0.1']));
    west.create('endpointslices', slice('web', ['10.2.0.1']));
    west.create('endpointslices', slice('only-west', ['10.2.1.1']));
    await west.stopListening();
    const started = performance.now();
    const t = await startMulticlusterEndpointd(
      [
        { name: 'east', api: east },
        { name: 'west', api: west },
      ],
      { settings: { readyTimeoutMs: 1500 }, waitForSync: false },
    );
    try {
      const before = await readiness(t.url);
      assert.equal(before.status, 503, 'not ready during the wait');
      await t.endpointd.synced;
      const waited = performance.now() - started;
      assert.ok(waited >= 1400, `ready after the wait, not before (${waited.toFixed(0)} ms)`);
      const after = await readiness(t.url);
      assert.equal(after.status, 200);
      assert.deepEqual(clusterEntry(after.detail, 'west')?.cluster, {
        name: 'west',
        listed: false,
        stale: true,
      });
      assert.equal(clusterEntry(after.detail, 'west')?.synced, true, 'counted as synced: the wait is over');
      assert.match(clusterEntry(after.detail, 'west')?.error ?? '', /ECONNREFUSED/);
      assert.equal(await metricValue(t.url, 'endpointd_cluster_listed{cluster="west"}'), 0);
      assert.deepEqual(taggedAddresses(await t.lookup(NS, 'web')), ['east 10.1.0.1']);
      assert.equal(await t.lookup(NS, 'only-west'), undefined);
      await west.resumeListening();
      const joined = await t.until(NS, 'web', (b) => taggedAddresses(b).length === 2);
      assert.deepEqual(taggedAddresses(joined), ['east 10.1.0.1', 'west 10.2.0.1']);
      await t.until(NS, 'only-west', (b) => b?.clusters?.[0]?.stale === false);
      await eventually(async () => {
        const { detail } = await readiness(t.url);
        return clusterEntry(detail, 'west')?.cluster?.listed === true ? true : undefined;
      }, 5000);
    } finally {
      await t.stop();
      await Promise.all([east.close(), west.close()]);
    }
  });

  it('ends right after a cluster flaps, with every change of the other cluster served', async () => {
    const [east, west] = await Promise.all([FakeApiServer.start(), FakeApiServer.start()]);
    east.create('endpointslices', slice('web', ['10.1.0.1']));
    west.create('endpointslices', slice('web', ['10.2.0.1']));
    west.create('endpointslices', slice('brief', ['10.2.3.1']));
    const t = await startMulticlusterEndpointd([
      { name: 'east', api: east },
      { name: 'west', api: west },
    ]);
    try {
      for (let round = 1; round <= 6; round += 1) {
        await west.stopListening();
        east.update('endpointslices', slice('web', [`10.1.0.${round + 1}`]));
        if (round === 3) west.delete('endpointslices', NS, 'brief-a'); // deleted while west is down
        west.update('endpointslices', slice('web', [`10.2.0.${round + 1}`]));
        await sleep(60 + round * 40);
        await west.resumeListening();
        await sleep(round % 2 === 0 ? 20 : 300);
      }
      const final = await t.until(
        NS,
        'web',
        (b) =>
          taggedAddresses(b).join() === 'east 10.1.0.7,west 10.2.0.7' &&
          b?.clusters?.every((c) => !c.stale) === true,
      );
      assert.deepEqual(final?.clusters, [
        { name: 'east', stale: false },
        { name: 'west', stale: false },
      ]);
      await t.until(NS, 'brief', (b) => b === undefined);
    } finally {
      await t.stop();
      await Promise.all([east.close(), west.close()]);
    }
  });
});
