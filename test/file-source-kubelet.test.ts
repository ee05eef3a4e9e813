// The file source on the layout kubelet gives ConfigMap / Secret / projected volumes: visible symlinks into
// `..data`, `..data` a symlink to a timestamped directory, updates by an atomic rename of `..data`. Real endpointd,
// real REST watch stream on loopback; the volume written step by step as kubelet's atomic writer does.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ServiceBody } from '../src/api/rest/wire.ts';
import { startEndpointd, type Endpointd } from '../src/main.ts';
import { createLogger } from '../src/observability/logger.ts';
import type { ReadinessDetail } from '../src/observability/readiness.ts';
import { sliceManifest, TEST_CONFIG } from './support/endpointd.ts';
import { EventStream, eventually, get, listedServiceNames } from './support/http.ts';
import { KubeletVolume } from './support/kubelet-volume.ts';
import { LogLines } from './support/log-lines.ts';

const slice = (service: string, ips: string[], sliceName = `${service}-a`): string =>
  sliceManifest('shop', service, ips, { sliceName });
const addresses = (body: ServiceBody): string[] => body.endpoints.map((e) => e.addresses[0] ?? '');

async function start(root: string, logs: LogLines): Promise<{ endpointd: Endpointd; url: string }> {
  const endpointd = await startEndpointd(
    { ...TEST_CONFIG, sources: [{ kind: 'file', path: root }] },
    createLogger('info', logs),
  );
  await endpointd.synced;
  return { endpointd, url: `http://127.0.0.1:${endpointd.httpAddress.port}` };
}

describe("file source on kubelet's volume layout", () => {
  let dir: string;
  let volume: KubeletVolume;
  let endpointd: Endpointd;
  let url: string;
  const logs = new LogLines();
  const first = {
    'web.yaml': slice('web', ['10.0.0.1']),
    'cart.yaml': slice('cart', ['10.0.1.1']),
    'old-name.yaml': slice('moved', ['10.0.2.1']),
    'conf/nested.yml': slice('nested', ['10.0.3.1']),
    'notes.txt': 'not a manifest',
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'endpointd-kubelet-'));
    // kubelet's writer moves fast; 60 ms between its steps makes the file source see each in-between state.
    volume = new KubeletVolume(join(dir, 'static'), { stepDelayMs: 60 });
    await volume.write(first);
    ({ endpointd, url } = await start(volume.dir, logs));
  });
  after(async () => {
    await endpointd.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('serves every key on the initial load, each file counted once', async () => {
    assert.deepEqual(await listedServiceNames(url, 'shop'), ['cart', 'moved', 'nested', 'web']);
    const web = (await get(`${url}/v1/namespaces/shop/services/web`)).json<ServiceBody>();
    assert.deepEqual(addresses(web), ['10.0.0.1']);
    const loaded = logs.withMessage('manifests loaded')[0] as { files?: { served?: number } } | undefined;
    assert.equal(loaded?.files?.served, 4, 'four manifests, read through their visible names only');
    assert.deepEqual(logs.withMessage(/defined more than once/), []);
    const readyz = (await get(`${url}/readyz`)).json<ReadinessDetail>();
    assert.equal(readyz.sources[0]?.problemCount, 0);
  });

  it('applies an update made as kubelet makes it within 1 s: MODIFIED, never DELETED/ADDED, never a 404', async () => {
    const stream = await EventStream.open(`${url}/v1/watch?namespace=shop`);
    try {
      await stream.until('SYNCED');
      // Lookups of every Service the update keeps, polled for as long as the update takes.
      let polling = true;
      const statuses: Array<{ name: string; status: number }> = [];
      const poller = (async () => {
        while (polling) {
          for (const name of ['web', 'cart', 'moved', 'nested']) {
            const answer = await get(`${url}/v1/namespaces/shop/services/${name}`);
            statuses.push({ name, status: answer.status });
          }
        }
      })();
      await volume.write({
        'web.yaml': slice('web', ['10.0.0.1', '10.0.0.2']), // changed
        'cart.yaml': slice('cart', ['10.0.1.1']), // the same
        'new-name.yaml': slice('moved', ['10.0.2.1', '10.0.2.2']), // key renamed and content changed
        'conf/nested.yml': slice('nested', ['10.0.3.1']),
        'added.json': JSON.stringify({
          apiVersion: 'v1',
          kind: 'Endpoints',
          metadata: { name: 'added', namespace: 'shop' },
          subsets: [{ addresses: [{ ip: '10.0.4.1' }], ports: [{ port: 80 }] }],
        }),
      });
      const events: Array<{ type: string; name: unknown; at: number }> = [];
      const record = async (until: (e: { type: string; name: unknown }) => boolean): Promise<void> => {
        for (;;) {
          const { data } = await stream.next(5000);
          if (data.type === 'HEARTBEAT') continue;
          events.push({ type: data.type, name: data.name, at: Date.now() - volume.swappedAt });
          if (until({ type: data.type, name: data.name })) return;
        }
      };
      await record((e) => e.name === 'web' && e.type === 'MODIFIED');
      // The marker: a later update's new Service; anything the first update sent wrongly arrives before it.
      await volume.write({
        'web.yaml': slice('web', ['10.0.0.1', '10.0.0.2']),
        'cart.yaml': slice('cart', ['10.0.1.1']),
        'new-name.yaml': slice('moved', ['10.0.2.1', '10.0.2.2']),
        'conf/nested.yml': slice('nested', ['10.0.3.1']),
        'added.json': JSON.stringify({
          apiVersion: 'v1',
          kind: 'Endpoints',
          metadata: { name: 'added', namespace: 'shop' },
          subsets: [{ addresses: [{ ip: '10.0.4.1' }], ports: [{ port: 80 }] }],
        }),
        'marker.yaml': slice('marker', ['10.0.9.1']),
      });
      await record((e) => e.name === 'marker');
      polling = false;
      await poller;

      // Within 1 s of the moment kubelet's update takes effect (the rename of ..data).
      const webModified = events.find((e) => e.name === 'web');
      assert.ok(webModified !== undefined && webModified.at < 1000, JSON.stringify(events));
      assert.deepEqual(
        events.map((e) => `${e.type} ${String(e.name)}`).sort(),
        ['ADDED added', 'ADDED marker', 'MODIFIED moved', 'MODIFIED web'],
        JSON.stringify(events),
      );
      assert.ok(statuses.length > 8, `polled ${statuses.length} times`);
      assert.deepEqual(
        statuses.filter((s) => s.status !== 200),
        [],
        'no lookup of a Service the update keeps answers anything but 200',
      );
      const moved = (await get(`${url}/v1/namespaces/shop/services/moved`)).json<ServiceBody>();
      assert.deepEqual(addresses(moved), ['10.0.2.1', '10.0.2.2']);
    } finally {
      stream.close();
    }
  });

  it('removes the Services of keys the ConfigMap no longer has', async () => {
    await volume.write({ 'web.yaml': slice('web', ['10.0.0.1']) });
    await eventually(async () =>
      (await get(`${url}/v1/namespaces/shop/services/cart`)).status === 404 ? true : undefined,
    );
    assert.deepEqual(await listedServiceNames(url, 'shop'), ['web']);
  });
});

describe('file source and symlinks elsewhere', () => {
  it('follows symlinked files and directories, reports loops, counts a file reached twice once', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'endpointd-links-'));
    const root = join(dir, 'root');
    const elsewhere = join(dir, 'elsewhere');
    await mkdir(join(elsewhere, 'dir'), { recursive: true });
    await mkdir(join(root, 'sub'), { recursive: true });
    await writeFile(join(elsewhere, 'linked.yaml'), slice('linked-file', ['10.1.0.1']));
    await writeFile(join(elsewhere, 'dir', 'in-dir.yaml'), slice('linked-dir', ['10.1.1.1']));
    await writeFile(join(root, 'plain.yaml'), slice('plain', ['10.1.2.1']));
    await symlink(join(elsewhere, 'linked.yaml'), join(root, 'file-link.yaml'));
    await symlink(join(elsewhere, 'dir'), join(root, 'dir-link'));
    await symlink('plain.yaml', join(root, 'second-name.yaml')); // the same file under two names
    await symlink('..', join(root, 'sub', 'up')); // a directory loop: sub/up → root
    await symlink('loop-b.yaml', join(root, 'loop-a.yaml')); // a link loop
    await symlink('loop-a.yaml', join(root, 'loop-b.yaml'));
    const logs = new LogLines();
    const { endpointd, url } = await start(root, logs);
    try {
      assert.deepEqual(await listedServiceNames(url, 'shop'), ['linked-dir', 'linked-file', 'plain']);
      assert.deepEqual(logs.withMessage(/defined more than once/), [], 'plain.yaml counted once');
      const readyz = (await get(`${url}/readyz`)).json<ReadinessDetail>();
      const problems = readyz.sources[0]?.problems ?? [];
      assert.deepEqual(problems.map((p) => p.file).sort(), [
        join(root, 'loop-a.yaml'),
        join(root, 'loop-b.yaml'),
        join(root, 'sub', 'up'),
      ]);
      assert.ok(
        problems.every((p) => /symlink loop/.test(p.message)),
        JSON.stringify(problems),
      );
      assert.match(readyz.sources[0]?.error ?? '', /3 problem/);
      const logged = logs.withMessage('invalid manifest: keeping the last good state of this file');
      assert.deepEqual(logged.map((l) => l.file).sort(), problems.map((p) => p.file).sort());

      // An edit of a symlink's target outside the tree is seen.
      await writeFile(join(elsewhere, 'linked.yaml'), slice('linked-file', ['10.1.0.2']));
      await eventually(async () => {
        const body = (await get(`${url}/v1/namespaces/shop/services/linked-file`)).json<ServiceBody>();
        return addresses(body)[0] === '10.1.0.2' ? true : undefined;
      }, 1000);
    } finally {
      await endpointd.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
