// Property: every file kubelet can produce in a ConfigMap / projected volume is read, and after every update the
// Services served are exactly those the payload's manifests define. Payloads and update sequences are generated
// (key names as the API server allows them, nested item paths, YAML and JSON, non-manifest keys); each is written
// through kubelet's atomic-writer procedure (test/support/kubelet-volume.ts) and compared with the store.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { createLogger } from '../src/observability/logger.ts';
import { FileSource } from '../src/sources/file/file-source.ts';
import { EndpointStore } from '../src/store/endpoint-store.ts';
import { eventually } from './support/http.ts';
import { KubeletVolume } from './support/kubelet-volume.ts';

interface KeyContent {
  readonly service: string;
  readonly ips: readonly string[];
}

/** ConfigMap keys: [-._a-zA-Z0-9]+, not `.` nor starting with `..`; items may give a nested path. */
const keyPath = fc
  .tuple(
    fc.option(fc.constantFrom('sub', 'sub/deeper', 'other.d'), { nil: undefined }),
    fc.stringMatching(/^[-._a-zA-Z0-9]{1,10}$/).filter((k) => !k.startsWith('..') && k !== '.'),
    fc.constantFrom('.yaml', '.yml', '.json', '.YAML', '.txt'),
  )
  .map(([dir, stem, ext]) => (dir === undefined ? `${stem}${ext}` : `${dir}/${stem}${ext}`));

const content: fc.Arbitrary<KeyContent> = fc.record({
  service: fc.constantFrom('alpha', 'beta', 'gamma'),
  ips: fc.uniqueArray(
    fc.integer({ min: 1, max: 6 }).map((n) => `10.7.0.${n}`),
    { minLength: 1, maxLength: 3 },
  ),
});

/** A payload whose paths do not clash (no key is also another key's directory). */
const payload = fc.dictionary(keyPath, content, { minKeys: 0, maxKeys: 6 }).map((keys) => {
  const paths = Object.keys(keys);
  return Object.fromEntries(
    Object.entries(keys).filter(([path]) => !paths.some((other) => other.startsWith(`${path}/`))),
  );
});

function sliceName(path: string): string {
  let hash = 2166136261;
  for (const c of path) hash = Math.imul(hash ^ c.charCodeAt(0), 16777619) >>> 0;
  return `s-${hash.toString(16)}`;
}

function render(path: string, key: KeyContent): string {
  const object = {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      name: sliceName(path),
      namespace: 'prop',
      labels: { 'kubernetes.io/service-name': key.service },
    },
    addressType: 'IPv4',
    ports: [{ name: 'http', port: 80 }],
    endpoints: key.ips.map((ip) => ({ addresses: [ip] })),
  };
  if (path.endsWith('.txt')) return 'not: [a manifest'; // must never be read: it would be a problem if it were
  if (path.endsWith('.json')) return JSON.stringify(object);
  return `# key ${path}\n${JSON.stringify(object, null, 2).replace(/^/gm, '')}\n`;
}

/** service → sorted addresses, from the manifests of the payload. */
function expected(keys: Readonly<Record<string, KeyContent>>): Record<string, string[]> {
  const out: Record<string, Set<string>> = {};
  for (const [path, key] of Object.entries(keys)) {
    if (path.endsWith('.txt')) continue;
    const set = (out[key.service] ??= new Set());
    for (const ip of key.ips) set.add(ip);
  }
  return Object.fromEntries(Object.entries(out).map(([s, ips]) => [s, [...ips].sort()]));
}

function served(store: EndpointStore): Record<string, string[]> {
  return Object.fromEntries(
    store
      .list()
      .map((s) => [s.name, s.endpoints.map((e) => e.addresses[0] ?? '').sort()] as const)
      .sort(([a], [b]) => (a < b ? -1 : 1)),
  );
}

describe('file source on kubelet volumes, property', () => {
  it('serves exactly the manifests of every payload kubelet writes, at start and after each update', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(payload, { minLength: 1, maxLength: 4 }), async (steps) => {
        const dir = await mkdtemp(join(tmpdir(), 'endpointd-prop-'));
        const volume = new KubeletVolume(join(dir, 'vol'));
        const store = new EndpointStore({ encodedCacheBytes: 1 << 20 });
        const source = new FileSource({ path: volume.dir, store, logger: createLogger('silent') });
        try {
          const [initial, ...updates] = steps;
          await volume.write(renderAll(initial ?? {}));
          await source.start();
          assert.deepEqual(served(store), sortKeys(expected(initial ?? {})), 'initial load');
          assert.equal(source.status().problemCount, 0, JSON.stringify(source.status().problems));
          for (const step of updates) {
            await volume.write(renderAll(step));
            const want = JSON.stringify(sortKeys(expected(step)));
            await eventually(() => (JSON.stringify(served(store)) === want ? true : undefined), 3000).catch(
              () => assert.deepEqual(served(store), sortKeys(expected(step)), 'after an update'),
            );
            assert.equal(source.status().problemCount, 0, JSON.stringify(source.status().problems));
          }
        } finally {
          await source.stop();
          await rm(dir, { recursive: true, force: true });
        }
      }),
      { numRuns: 40 },
    );
  });
});

function renderAll(keys: Readonly<Record<string, KeyContent>>): Record<string, string> {
  return Object.fromEntries(Object.entries(keys).map(([path, key]) => [path, render(path, key)]));
}

function sortKeys<T>(record: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => (a < b ? -1 : 1)));
}
