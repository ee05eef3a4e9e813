import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ServiceBody } from '../src/api/rest/wire.ts';
import { createLogger } from '../src/observability/logger.ts';
import { FileSource } from '../src/sources/file/file-source.ts';
import { EndpointStore } from '../src/store/endpoint-store.ts';
import { sliceManifest, startTestEndpointd, type TestEndpointd } from './support/endpointd.ts';
import { eventually, get } from './support/http.ts';
import { LogLines, type LogLine } from './support/log-lines.ts';

const addresses = (body: ServiceBody): string[] => body.endpoints.map((e) => e.addresses[0] ?? '');

/** Polls the REST API until the service shows `expected` (or is gone, for null), and returns how long it took. */
async function timeUntil(
  t: TestEndpointd,
  path: string,
  expected: string[] | null,
  since: number,
): Promise<number> {
  await eventually(async () => {
    const answer = await get(`${t.url}/v1/namespaces/${path}`);
    if (expected === null) return answer.status === 404 ? true : undefined;
    if (answer.status !== 200) return undefined;
    return JSON.stringify(addresses(answer.json<ServiceBody>())) === JSON.stringify(expected)
      ? true
      : undefined;
  }, 1000);
  return Date.now() - since;
}

/** The file source's error in /readyz (it names the files it refuses), or null. */
async function sourceError(t: TestEndpointd): Promise<string | null> {
  const readyz = (await get(`${t.url}/readyz`)).json<{ sources: Array<{ error: string | null }> }>();
  return readyz.sources[0]?.error ?? null;
}

/** Waits until the source reports an error about `file`: the write was read and refused. */
async function refused(t: TestEndpointd, file: string): Promise<void> {
  await eventually(async () => ((await sourceError(t))?.includes(file) === true ? true : undefined), 10_000);
}

/**
 * The end of a negative check on the file source: a marker file written after the edit under test. Once its
 * Service is served, the source has read everything written before it.
 */
async function marker(t: TestEndpointd): Promise<void> {
  const status = async () => (await get(`${t.url}/v1/namespaces/shop/services/marker`)).status;
  await t.write('marker.yaml', sliceManifest('shop', 'marker', ['10.9.9.9']));
  await eventually(async () => ((await status()) === 200 ? true : undefined), 10_000);
  await t.remove('marker.yaml');
  await eventually(async () => ((await status()) === 404 ? true : undefined), 10_000);
}

describe('file source, live', () => {
  let t: TestEndpointd;
  before(async () => {
    t = await startTestEndpointd({
      'web.yaml': sliceManifest('shop', 'web', ['10.0.0.1']),
      'nested/deeper/db.json': JSON.stringify({
        apiVersion: 'v1',
        kind: 'Endpoints',
        metadata: { name: 'db', namespace: 'data' },
        subsets: [{ addresses: [{ ip: '10.9.0.1' }], ports: [{ name: 'pg', port: 5432 }] }],
      }),
      'README.txt': 'not a manifest: ignored',
    });
  });
  after(() => t.stop());

  it('serves manifests from nested directories, YAML and JSON alike', async () => {
    assert.deepEqual(addresses((await get(`${t.url}/v1/namespaces/data/services/db`)).json<ServiceBody>()), [
      '10.9.0.1',
    ]);
    assert.deepEqual(addresses((await get(`${t.url}/v1/namespaces/shop/services/web`)).json<ServiceBody>()), [
      '10.0.0.1',
    ]);
  });

  it('applies an edit within 1 s', async () => {
    const started = Date.now();
    await t.write('web.yaml', sliceManifest('shop', 'web', ['10.0.0.1', '10.0.0.2']));
    assert.ok((await timeUntil(t, 'shop/services/web', ['10.0.0.1', '10.0.0.2'], started)) < 1000);
  });

  it('applies a new file within 1 s, also in a new directory', async () => {
    const started = Date.now();
    await t.write('new/dir/cart.yml', sliceManifest('shop', 'cart', ['10.0.1.1']));
    assert.ok((await timeUntil(t, 'shop/services/cart', ['10.0.1.1'], started)) < 1000);
  });

  it('applies a removed file within 1 s: its services are deleted', async () => {
    await t.write('gone.yaml', sliceManifest('shop', 'gone', ['10.0.2.1']));
    await timeUntil(t, 'shop/services/gone', ['10.0.2.1'], Date.now());
    const started = Date.now();
    await t.remove('gone.yaml');
    assert.ok((await timeUntil(t, 'shop/services/gone', null, started)) < 1000);
  });

  it('follows an editor that saves by renaming a temp file over the manifest', async () => {
    const temp = join(t.dir, '.web.yaml.swp');
    await writeFile(temp, sliceManifest('shop', 'web', ['10.0.0.7']));
    const started = Date.now();
    await rename(temp, join(t.dir, 'web.yaml'));
    assert.ok((await timeUntil(t, 'shop/services/web', ['10.0.0.7'], started)) < 1000);
  });

  it('keeps the last good state of a file whose new content is broken, and recovers when fixed', async () => {
    await t.write('web.yaml', sliceManifest('shop', 'web', ['10.0.0.1']));
    await timeUntil(t, 'shop/services/web', ['10.0.0.1'], Date.now());
    await t.write('web.yaml', 'kind: EndpointSlice\nmetadata: [broken\n');
    // Not a timed silence: the source has read the broken file once it reports it.
    await refused(t, 'web.yaml');
    assert.deepEqual(addresses((await get(`${t.url}/v1/namespaces/shop/services/web`)).json<ServiceBody>()), [
      '10.0.0.1',
    ]);
    await t.write(
      'web.yaml',
      `${sliceManifest('shop', 'web', ['10.0.0.5'])}---\n${sliceManifest('shop', 'web', ['10.0.0.300'], { sliceName: 'web-b' })}`,
    );
    await marker(t);
    assert.deepEqual(
      addresses((await get(`${t.url}/v1/namespaces/shop/services/web`)).json<ServiceBody>()),
      ['10.0.0.1'],
      'one bad document keeps the whole file at its last good state',
    );
    const started = Date.now();
    await t.write('web.yaml', sliceManifest('shop', 'web', ['10.0.0.5']));
    assert.ok((await timeUntil(t, 'shop/services/web', ['10.0.0.5'], started)) < 1000);
  });

  it('merges the slices of one Service spread over several files', async () => {
    await t.write('split-a.yaml', sliceManifest('shop', 'split', ['10.0.3.1'], { sliceName: 'split-a' }));
    await t.write('split-b.yaml', sliceManifest('shop', 'split', ['10.0.3.2'], { sliceName: 'split-b' }));
    await timeUntil(t, 'shop/services/split', ['10.0.3.1', '10.0.3.2'], Date.now());
    await t.remove('split-a.yaml');
    await timeUntil(t, 'shop/services/split', ['10.0.3.2'], Date.now());
  });
});

describe('file source, errors', () => {
  it('reports each bad document with file, document and field, and serves the good files', async () => {
    const sink = new LogLines();
    const lines = sink.lines;
    const store = new EndpointStore({ encodedCacheBytes: 1 << 20 });
    const again = await startTestEndpointd({});
    await again.write('good.yaml', sliceManifest('shop', 'web', ['10.0.0.1']));
    await again.write(
      'bad.yaml',
      `${sliceManifest('shop', 'cart', ['10.0.1.1'])}---\n${sliceManifest('shop', 'cart', ['10.0.1.x'], { sliceName: 'cart-b' })}`,
    );
    const source = new FileSource({ path: again.dir, store, logger: createLogger('info', sink) });
    try {
      await source.start();
      assert.deepEqual(
        store.list().map((s) => s.name),
        ['web'],
      );
      const problem = lines.find(
        (l) => l.msg === 'invalid manifest: keeping the last good state of this file',
      );
      assert.ok(problem, JSON.stringify(lines));
      assert.equal(problem.file, join(again.dir, 'bad.yaml'));
      assert.equal(problem.document, 2);
      assert.equal(problem.field, 'endpoints.0.addresses.0');
      assert.match(String(problem.problem), /not an IPv4 address/);
      assert.equal(source.status().synced, true);
      assert.match(source.status().error ?? '', /bad\.yaml/);
    } finally {
      await source.stop();
      await again.stop();
    }
  });

  it('says which objects one file defines twice, serving the last definition, at load and when an edit adds one', async () => {
    const sink = new LogLines();
    const repeatedLines = (): LogLine[] => sink.withMessage(/defined in more than one document of this file/);
    const store = new EndpointStore({ encodedCacheBytes: 1 << 20 });
    const t = await startTestEndpointd({});
    await t.write(
      'twice.yaml',
      [
        sliceManifest('shop', 'cart', ['10.0.1.1']),
        sliceManifest('shop', 'web', ['10.0.2.1']),
        sliceManifest('shop', 'cart', ['10.0.1.2']),
      ].join('---\n'),
    );
    await t.write('once.yaml', sliceManifest('shop', 'once', ['10.0.3.1']));
    const source = new FileSource({ path: t.dir, store, logger: createLogger('info', sink) });
    try {
      await source.start();
      assert.deepEqual(
        store.get({ namespace: 'shop', name: 'cart' })?.endpoints.map((e) => e.addresses[0]),
        ['10.0.1.2'],
      );
      const [atLoad, ...more] = repeatedLines();
      assert.equal(more.length, 0, JSON.stringify(repeatedLines()));
      assert.equal(atLoad?.level, 40);
      assert.equal(atLoad?.file, join(t.dir, 'twice.yaml'));
      assert.deepEqual(atLoad?.objects, ['EndpointSlice shop/cart-abcde']);
      assert.equal(atLoad?.objectCount, 1);
      // A file that defined each object once gets a second copy of one by an edit.
      await t.write(
        'once.yaml',
        `${sliceManifest('shop', 'once', ['10.0.3.1'])}---\n${sliceManifest('shop', 'once', ['10.0.3.2'])}`,
      );
      // Seen by the watch (or the rescan): a line for the edited file.
      await eventually(() => (repeatedLines().length === 2 ? true : undefined), 10_000);
      assert.equal(repeatedLines()[1]?.file, join(t.dir, 'once.yaml'));
      assert.deepEqual(
        store.get({ namespace: 'shop', name: 'once' })?.endpoints.map((e) => e.addresses[0]),
        ['10.0.3.2'],
      );
    } finally {
      await source.stop();
      await t.stop();
    }
  });

  it('fails to start on a path that is neither a file nor a directory, saying which', async () => {
    const store = new EndpointStore({ encodedCacheBytes: 1 << 20 });
    const source = new FileSource({ path: '/dev/null', store, logger: createLogger('silent') });
    await assert.rejects(source.start(), /\/dev\/null: not a file or a directory/);
  });

  it('serves a single file given as the source', async () => {
    const t = await startTestEndpointd({ 'only.yaml': sliceManifest('shop', 'only', ['10.0.0.1']) });
    const store = new EndpointStore({ encodedCacheBytes: 1 << 20 });
    const source = new FileSource({ path: join(t.dir, 'only.yaml'), store, logger: createLogger('silent') });
    try {
      await source.start();
      assert.deepEqual(
        store.list().map((s) => s.name),
        ['only'],
      );
      await t.write('only.yaml', sliceManifest('shop', 'only', ['10.0.0.2']));
      await eventually(
        () =>
          store.get({ namespace: 'shop', name: 'only' })?.endpoints[0]?.addresses[0] === '10.0.0.2'
            ? true
            : undefined,
        1000,
      );
    } finally {
      await source.stop();
      await t.stop();
    }
  });
});
