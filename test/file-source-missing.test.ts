// A source directory that goes away, or is not there yet at start, is read again without a restart. While it is
// missing, /readyz shows the source's error, and its Services are gone exactly as if its files had been removed
// (DELETED on watch streams, 404 on lookups); once it is back they return (ADDED).
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { startEndpointd } from '../src/main.ts';
import { createLogger } from '../src/observability/logger.ts';
import type { ReadinessDetail } from '../src/observability/readiness.ts';
import { FileSource } from '../src/sources/file/file-source.ts';
import { EndpointStore } from '../src/store/endpoint-store.ts';
import { sliceManifest, TEST_CONFIG } from './support/endpointd.ts';
import { EventStream, eventually, get } from './support/http.ts';

const status = async (url: string, name: string): Promise<number> =>
  (await get(`${url}/v1/namespaces/shop/services/${name}`)).status;

describe('file source, a directory that goes away', () => {
  it('is read again when deleted and recreated; meanwhile its Services are removed and /readyz shows the error', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'endpointd-gone-'));
    const root = join(dir, 'static');
    await mkdir(root);
    await writeFile(join(root, 'web.yaml'), sliceManifest('shop', 'web', ['10.0.0.1']));
    await writeFile(join(root, 'other.yaml'), sliceManifest('shop', 'other', ['10.0.0.2']));
    const endpointd = await startEndpointd(
      { ...TEST_CONFIG, sources: [{ kind: 'file', path: root }] },
      createLogger('silent'),
    );
    await endpointd.synced;
    const url = `http://127.0.0.1:${endpointd.httpAddress.port}`;
    const stream = await EventStream.open(`${url}/v1/watch?namespace=shop`);
    try {
      await stream.until('SYNCED');
      await rm(root, { recursive: true });
      const removed = [(await stream.next()).data, (await stream.next()).data];
      assert.deepEqual(
        removed.map((e) => `${e.type} ${String(e.name)}`).sort(),
        ['DELETED other', 'DELETED web'],
        'the same as removing its files',
      );
      assert.equal(await status(url, 'web'), 404);
      const readyz = (await get(`${url}/readyz`)).json<ReadinessDetail>();
      assert.match(readyz.sources[0]?.error ?? '', /static: no such file or directory; waiting for it/);
      assert.equal(readyz.ready, true, 'no state is still a known state: the replica stays ready');

      // Recreated (here as an operator would: built aside, then renamed into place).
      const staging = join(dir, 'staging');
      await mkdir(staging);
      await writeFile(join(staging, 'web.yaml'), sliceManifest('shop', 'web', ['10.0.0.9']));
      const started = Date.now();
      await rename(staging, root);
      const back = (await stream.next(3000)).data;
      assert.equal(`${back.type} ${String(back.name)}`, 'ADDED web');
      assert.ok(Date.now() - started < 1500, `read again after ${Date.now() - started} ms`);
      const cleared = (await get(`${url}/readyz`)).json<ReadinessDetail>();
      assert.equal(cleared.sources[0]?.error, null);

      // Watched again: an edit in the new directory is applied.
      await writeFile(join(root, 'other.yaml'), sliceManifest('shop', 'other', ['10.0.0.3']));
      const added = (await stream.next(3000)).data;
      assert.equal(`${added.type} ${String(added.name)}`, 'ADDED other');
    } finally {
      stream.close();
      await endpointd.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('starts when the path does not exist yet (not even its parent), and reads it once it appears', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'endpointd-later-'));
    const root = join(dir, 'not', 'yet');
    const store = new EndpointStore({ encodedCacheBytes: 1 << 20 });
    const source = new FileSource({ path: root, store, logger: createLogger('silent'), missingPollMs: 100 });
    try {
      await source.start();
      assert.equal(source.status().synced, true);
      assert.match(source.status().error ?? '', /no such file or directory/);
      await mkdir(root, { recursive: true });
      await writeFile(join(root, 'web.yaml'), sliceManifest('shop', 'web', ['10.0.0.1']));
      await eventually(() => store.get({ namespace: 'shop', name: 'web' }), 3000);
      assert.equal(source.status().error, undefined);
    } finally {
      await source.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('also for a single-file source: removed, then written again', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'endpointd-onefile-'));
    const file = join(dir, 'only.yaml');
    const store = new EndpointStore({ encodedCacheBytes: 1 << 20 });
    const source = new FileSource({ path: file, store, logger: createLogger('silent') });
    try {
      await source.start();
      assert.match(source.status().error ?? '', /only\.yaml: no such file or directory/);
      await writeFile(file, sliceManifest('shop', 'only', ['10.0.0.1']));
      await eventually(() => store.get({ namespace: 'shop', name: 'only' }), 3000);
      await rm(file);
      await eventually(() =>
        store.get({ namespace: 'shop', name: 'only' }) === undefined ? true : undefined,
      );
      await writeFile(file, sliceManifest('shop', 'only', ['10.0.0.2']));
      await eventually(
        () =>
          store.get({ namespace: 'shop', name: 'only' })?.endpoints[0]?.addresses[0] === '10.0.0.2'
            ? true
            : undefined,
        3000,
      );
    } finally {
      await source.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
