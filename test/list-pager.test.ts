// The paged list of the Kubernetes reflector, with the real KubeClient against the fake kube-apiserver: every item
// goes through the transform once, page by page as the pages arrive, while the next page is already requested; an
// expired continue token restarts the list once from a fresh snapshot; and the reflector's default transform keeps of
// EndpointSlices what validation keeps, and of anything else all but managedFields.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { KubeConfig } from '@kubernetes/client-node';
import { createLogger } from '../src/observability/logger.ts';
import { KubeClient } from '../src/kube/kube-client.ts';
import { listAllPages, withoutManagedFields } from '../src/sources/kubernetes/list-pager.ts';
import { Reflector } from '../src/sources/kubernetes/reflector.ts';
import { endpoints, endpointSlice, FakeApiServer, type KubeObject } from './support/fake-apiserver/index.ts';
import { parseEndpointSlice } from '../src/kube/objects.ts';

const SLICES = '/apis/discovery.k8s.io/v1/endpointslices';

/** The real client, counting its list calls, and able to run something just before one of them. */
class ObservedKubeClient extends KubeClient {
  lists = 0;
  beforeList: ((call: number) => void) | undefined;
  override list(...args: Parameters<KubeClient['list']>): ReturnType<KubeClient['list']> {
    this.lists += 1;
    this.beforeList?.(this.lists);
    return super.list(...args);
  }
}

const apis: FakeApiServer[] = [];
after(async () => {
  await Promise.all(apis.map((api) => api.close()));
});

async function apiWith(count: number): Promise<{ api: FakeApiServer; client: ObservedKubeClient }> {
  const api = await FakeApiServer.start();
  apis.push(api);
  for (let i = 0; i < count; i++)
    api.create('endpointslices', endpointSlice({ service: `s${i}`, name: `s${i}-x` }));
  const config = new KubeConfig();
  config.loadFromString(api.kubeconfigYaml());
  return { api, client: new ObservedKubeClient(config) };
}

const nameOf = (item: unknown): string => String((item as KubeObject).metadata?.name);

describe('listAllPages', () => {
  it('transforms every item once, in list order, each page while the next one is already requested', async () => {
    const { api, client } = await apiWith(7);
    const requestedWhenTransformed: number[] = [];
    const listed = await listAllPages({
      client,
      path: SLICES,
      pageSize: 2,
      transform: (item) => {
        requestedWhenTransformed.push(client.lists);
        return nameOf(item);
      },
      signal: new AbortController().signal,
    });
    const names = Array.from({ length: 7 }, (_, i) => `s${i}-x`).sort();
    assert.deepEqual(listed.items, names);
    assert.ok(Number(listed.resourceVersion) > 0, 'the snapshot’s resourceVersion, to watch from');
    assert.equal(api.requests.filter((r) => r.verb === 'list').length, 4);
    // Pages of 2: items 0–1 are transformed while page 2 is requested, …, item 6 (the last page) with none ahead.
    assert.deepEqual(requestedWhenTransformed, [2, 2, 3, 3, 4, 4, 4]);
    assert.equal(client.lists, 4);
  });

  it('starts over once from a fresh snapshot when a continue token expires between pages, keeping no stale item', async () => {
    const { api, client } = await apiWith(5);
    client.beforeList = (call) => {
      // Before the second page is asked for: a new slice arrives and history is compacted (the token is now 410).
      if (call === 2) {
        api.create('endpointslices', endpointSlice({ service: 'late', name: 'late-x' }));
        api.compact();
      }
    };
    let transformed = 0;
    const listed = await listAllPages({
      client,
      path: SLICES,
      pageSize: 2,
      transform: (item) => {
        transformed += 1;
        return nameOf(item);
      },
      signal: new AbortController().signal,
    });
    assert.deepEqual(listed.items, ['late-x', 's0-x', 's1-x', 's2-x', 's3-x', 's4-x']);
    assert.equal(transformed, 2 + 6, 'the first page, then the whole fresh list');
    const statuses = api.requests.filter((r) => r.verb === 'list').map((r) => r.status);
    assert.deepEqual(statuses, [200, 410, 200, 200, 200]);
  });

  it('fails with the 410 when the fresh list expires too, rather than looping', async () => {
    const { api, client } = await apiWith(5);
    client.beforeList = (call) => {
      if (call >= 2) api.compact();
    };
    await assert.rejects(
      listAllPages({
        client,
        path: SLICES,
        pageSize: 2,
        transform: nameOf,
        signal: new AbortController().signal,
      }),
      (error: Error & { status?: number }) => error.status === 410,
    );
  });
});

describe('the reflector’s default transform', () => {
  const managedFields = [
    { manager: 'kube-controller-manager', operation: 'Update', fieldsV1: { 'f:x': {} } },
  ];

  /** What a reflector on `path` hands its handler after its first list. */
  async function listedBy(api: FakeApiServer, client: KubeClient, path: string): Promise<readonly unknown[]> {
    let replaced: readonly unknown[] = [];
    const reflector = new Reflector({
      client,
      path,
      logger: createLogger('silent'),
      handler: { replace: (items) => (replaced = items), apply: () => undefined },
    });
    try {
      await reflector.start();
    } finally {
      await reflector.stop();
    }
    return replaced;
  }

  /** A list item as the API server sends it (without kind and apiVersion), minus managedFields. */
  function asListed(created: KubeObject): Record<string, unknown> {
    const expected: Record<string, unknown> = { ...created, metadata: { ...created.metadata } };
    delete expected['kind'];
    delete expected['apiVersion'];
    delete (expected['metadata'] as Record<string, unknown>)['managedFields'];
    return expected;
  }

  it('keeps of an EndpointSlice what validation keeps, built as its page arrives, and an invalid one without managedFields', async () => {
    const { api, client } = await apiWith(0);
    const slice = endpointSlice({ service: 'web', name: 'web-x' });
    const created = api.create('endpointslices', {
      ...slice,
      metadata: { ...slice.metadata, managedFields },
      somethingNew: { endpointd: 'does not read it' },
    });
    assert.deepEqual(api.get('endpointslices', 'default', 'web-x')?.metadata?.managedFields, managedFields);
    const bad = api.create('endpointslices', {
      ...endpointSlice({ service: 'web', name: 'web-y' }),
      addressType: 'IPX',
      metadata: { name: 'web-y', namespace: 'default', managedFields },
    });
    const [kept, invalid] = await listedBy(api, client, SLICES);
    const validated = parseEndpointSlice(asListed(created));
    assert.ok(validated.ok);
    assert.deepStrictEqual(kept, validated.value);
    assert.equal((kept as Record<string, unknown>)['somethingNew'], undefined);
    assert.deepEqual(invalid, asListed(bad));
  });

  it('keeps of another collection every field but managedFields', async () => {
    const { api, client } = await apiWith(0);
    const object = endpoints({ service: 'db', ready: [{ ip: '10.0.0.1' }], ports: [{ port: 5432 }] });
    const created = api.create('endpoints', {
      ...object,
      metadata: { ...object.metadata, managedFields },
    });
    const [kept] = await listedBy(api, client, '/api/v1/endpoints');
    assert.deepEqual(kept, asListed(created));
  });

  it('hands back an object without managedFields as it is', () => {
    const item = { metadata: { name: 'x', labels: { a: 'b' } }, endpoints: [] };
    assert.equal(withoutManagedFields(item), item);
    assert.equal(withoutManagedFields(null), null);
    assert.equal(withoutManagedFields('text'), 'text');
  });
});
