// Tests of the fake kube-apiserver itself, over raw HTTP and through the real @kubernetes/client-node, so that
// tests built on it can trust it to behave like a kube-apiserver.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, DiscoveryV1Api, KubeConfig, makeInformer, Watch } from '@kubernetes/client-node';
import type { V1EndpointSlice } from '@kubernetes/client-node';
import {
  ANNOTATION_OVER_CAPACITY,
  dualStackSlices,
  endpoints,
  endpointSlice,
  externalNameService,
  FakeApiServer,
  headlessService,
  LABEL_HEADLESS,
  LABEL_SERVICE_NAME,
  podIPv4,
  podIPv6,
  rawGet,
  RawStream,
  service,
  StoreError,
  TOKEN_REVIEWS_PATH,
  truncatedEndpoints,
} from './support/fake-apiserver/index.ts';
import type { KubeObject, RawWatchEvent } from './support/fake-apiserver/index.ts';

const SLICES = '/apis/discovery.k8s.io/v1/endpointslices';
const ENDPOINTS = '/api/v1/endpoints';
const SERVICES = '/api/v1/services';

interface ListBody {
  kind: string;
  apiVersion: string;
  metadata: { resourceVersion: string; continue?: string; remainingItemCount?: number };
  items: KubeObject[];
}

interface StatusBody {
  kind: string;
  apiVersion: string;
  metadata: object;
  status: string;
  message: string;
  reason: string;
  code: number;
  details?: Record<string, unknown>;
}

function names(items: { metadata?: { name?: string } }[]): (string | undefined)[] {
  return items.map((o) => o.metadata?.name);
}

function summary(events: RawWatchEvent[]): string[] {
  return events.map((e) => `${e.type} ${e.object.metadata?.name ?? e.object.reason ?? ''}`.trim());
}

function slice(
  serviceName: string,
  name: string,
  namespace = 'default',
  labels: Record<string, string> = {},
) {
  return endpointSlice({ service: serviceName, name, namespace, labels });
}

describe('lists over raw HTTP', () => {
  let api: FakeApiServer;
  before(async () => {
    api = await FakeApiServer.start();
    api.create('endpointslices', slice('web', 'web-b2c4d', 'prod', { tier: 'front', track: 'stable' }));
    api.create('endpointslices', slice('web', 'web-a1b2c', 'prod', { tier: 'front', track: 'canary' }));
    api.create('endpointslices', slice('db', 'db-x9z8w', 'prod', { tier: 'back' }));
    api.create('endpointslices', slice('web', 'web-q5r6s', 'default', { tier: 'front' }));
    api.create('endpointslices', slice('cache', 'cache-k3l4m', 'default', {}));
    api.create('services', service({ name: 'web', namespace: 'prod' }));
    api.create('endpoints', endpoints({ service: 'web', namespace: 'prod', ready: [{ ip: podIPv4(1) }] }));
  });
  after(() => api.close());

  it('answers a typed list whose items carry no kind or apiVersion, sorted by namespace then name', async () => {
    const res = await rawGet(api, SLICES);
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-type'], 'application/json');
    const list = res.json as ListBody;
    assert.equal(list.kind, 'EndpointSliceList');
    assert.equal(list.apiVersion, 'discovery.k8s.io/v1');
    assert.equal(list.metadata.resourceVersion, String(api.resourceVersion));
    assert.equal(list.metadata.continue, undefined, 'an unpaged list has no continue token (omitempty)');
    assert.deepEqual(names(list.items), ['cache-k3l4m', 'web-q5r6s', 'db-x9z8w', 'web-a1b2c', 'web-b2c4d']);
    for (const item of list.items) {
      assert.equal(item.kind, undefined);
      assert.equal(item.apiVersion, undefined);
      assert.match(item.metadata.resourceVersion ?? '', /^\d+$/);
      assert.match(item.metadata.uid ?? '', /^[0-9a-f-]{36}$/);
    }
    const services = (await rawGet(api, SERVICES)).json as ListBody;
    assert.equal(services.kind, 'ServiceList');
    assert.equal(services.apiVersion, 'v1');
    const eps = (await rawGet(api, ENDPOINTS)).json as ListBody;
    assert.equal(eps.kind, 'EndpointsList');
  });

  it('pages one consistent snapshot with limit and continue even when objects change between pages', async () => {
    const first = (await rawGet(api, `${SLICES}?limit=2`)).json as ListBody;
    const rv = first.metadata.resourceVersion;
    assert.deepEqual(names(first.items), ['cache-k3l4m', 'web-q5r6s']);
    assert.equal(first.metadata.remainingItemCount, 3);
    assert.ok(first.metadata.continue);

    const created = api.create('endpointslices', slice('web', 'web-a0000', 'prod'));
    api.delete('endpointslices', 'prod', 'web-b2c4d');

    const second = (
      await rawGet(api, `${SLICES}?limit=2&continue=${encodeURIComponent(first.metadata.continue)}`)
    ).json as ListBody;
    assert.equal(second.metadata.resourceVersion, rv, 'every page reports the snapshot RV');
    assert.deepEqual(names(second.items), ['db-x9z8w', 'web-a1b2c']);
    assert.ok(second.metadata.continue);
    const third = (
      await rawGet(api, `${SLICES}?limit=2&continue=${encodeURIComponent(second.metadata.continue)}`)
    ).json as ListBody;
    assert.equal(third.metadata.resourceVersion, rv);
    assert.deepEqual(names(third.items), ['web-b2c4d'], 'the deleted object is still in the snapshot');
    assert.equal(third.metadata.continue, undefined);

    const fresh = (await rawGet(api, SLICES)).json as ListBody;
    assert.ok(names(fresh.items).includes('web-a0000'));
    assert.ok(!names(fresh.items).includes('web-b2c4d'));
    api.delete('endpointslices', 'prod', created.metadata.name ?? '');
    api.create('endpointslices', slice('web', 'web-b2c4d', 'prod', { tier: 'front', track: 'stable' }));
  });

  it('answers 410 Expired for a continue token older than the compaction floor and 400 for a garbled one', async () => {
    const first = (await rawGet(api, `${SLICES}?limit=1`)).json as ListBody;
    api.compact();
    const expired = await rawGet(
      api,
      `${SLICES}?limit=1&continue=${encodeURIComponent(first.metadata.continue ?? '')}`,
    );
    assert.equal(expired.status, 410);
    const status = expired.json as StatusBody;
    assert.equal(status.kind, 'Status');
    assert.equal(status.reason, 'Expired');
    assert.equal(status.code, 410);
    assert.match(status.message, /continue parameter is too old/);

    const garbled = await rawGet(api, `${SLICES}?limit=1&continue=not-a-token`);
    assert.equal(garbled.status, 400);
    assert.equal((garbled.json as StatusBody).reason, 'BadRequest');
  });

  it('filters by every label selector operator, with a comma meaning AND', async () => {
    const cases: [string, string[]][] = [
      ['tier', ['web-q5r6s', 'db-x9z8w', 'web-a1b2c', 'web-b2c4d']],
      ['!tier', ['cache-k3l4m']],
      ['tier=front', ['web-q5r6s', 'web-a1b2c', 'web-b2c4d']],
      ['tier==back', ['db-x9z8w']],
      ['tier!=front', ['cache-k3l4m', 'db-x9z8w']],
      ['track in (canary, stable)', ['web-a1b2c', 'web-b2c4d']],
      ['track notin (canary)', ['cache-k3l4m', 'web-q5r6s', 'db-x9z8w', 'web-b2c4d']],
      ['tier=front,track', ['web-a1b2c', 'web-b2c4d']],
      ['tier=front,!track', ['web-q5r6s']],
      [`${LABEL_SERVICE_NAME}=web,track!=canary`, ['web-q5r6s', 'web-b2c4d']],
    ];
    for (const [selector, expected] of cases) {
      const res = await rawGet(api, `${SLICES}?labelSelector=${encodeURIComponent(selector)}`);
      assert.equal(res.status, 200, selector);
      assert.deepEqual(names((res.json as ListBody).items), expected, selector);
    }
  });

  it('filters by metadata.name and metadata.namespace field selectors and rejects bad selectors with 400', async () => {
    const cases: [string, string[]][] = [
      ['metadata.namespace=default', ['cache-k3l4m', 'web-q5r6s']],
      ['metadata.name==db-x9z8w', ['db-x9z8w']],
      ['metadata.namespace!=prod,metadata.name!=cache-k3l4m', ['web-q5r6s']],
    ];
    for (const [selector, expected] of cases) {
      const res = await rawGet(api, `${SLICES}?fieldSelector=${encodeURIComponent(selector)}`);
      assert.deepEqual(names((res.json as ListBody).items), expected, selector);
    }
    for (const query of [
      'labelSelector=' + encodeURIComponent('tier in (a'),
      'labelSelector=' + encodeURIComponent('!tier=x'),
      'labelSelector=' + encodeURIComponent('-bad-key'),
      'fieldSelector=' + encodeURIComponent('spec.nodeName=n1'),
      'fieldSelector=' + encodeURIComponent('metadata.name'),
    ]) {
      const res = await rawGet(api, `${SLICES}?${query}`);
      assert.equal(res.status, 400, query);
      const status = res.json as StatusBody;
      assert.equal(status.kind, 'Status', query);
      assert.equal(status.reason, 'BadRequest', query);
      assert.equal(status.code, 400, query);
    }
  });

  it('lists one namespace on the per-namespace path and GETs a single object with kind, or 404 NotFound', async () => {
    const ns = (await rawGet(api, '/apis/discovery.k8s.io/v1/namespaces/default/endpointslices'))
      .json as ListBody;
    assert.deepEqual(names(ns.items), ['cache-k3l4m', 'web-q5r6s']);
    const svc = (await rawGet(api, '/api/v1/namespaces/prod/services')).json as ListBody;
    assert.deepEqual(names(svc.items), ['web']);

    const one = await rawGet(api, '/apis/discovery.k8s.io/v1/namespaces/prod/endpointslices/db-x9z8w');
    assert.equal(one.status, 200);
    const obj = one.json as KubeObject;
    assert.equal(obj.kind, 'EndpointSlice');
    assert.equal(obj.apiVersion, 'discovery.k8s.io/v1');
    assert.equal(obj.metadata.name, 'db-x9z8w');

    const missing = await rawGet(api, '/apis/discovery.k8s.io/v1/namespaces/prod/endpointslices/nope');
    assert.equal(missing.status, 404);
    assert.deepEqual(missing.json, {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'endpointslices.discovery.k8s.io "nope" not found',
      reason: 'NotFound',
      details: { name: 'nope', group: 'discovery.k8s.io', kind: 'endpointslices' },
      code: 404,
    });
  });

  it('answers unknown paths with a 404 Status and serves minimal /version and discovery documents', async () => {
    for (const path of ['/apis/apps/v1/deployments', '/api/v1/pods', '/nope']) {
      const res = await rawGet(api, path);
      assert.equal(res.status, 404, path);
      const status = res.json as StatusBody;
      assert.equal(status.kind, 'Status');
      assert.equal(status.reason, 'NotFound');
    }
    const version = (await rawGet(api, '/version')).json as {
      major: string;
      minor: string;
      gitVersion: string;
    };
    assert.equal(version.major, '1');
    const groups = (await rawGet(api, '/apis')).json as { kind: string; groups: { name: string }[] };
    assert.equal(groups.kind, 'APIGroupList');
    assert.deepEqual(
      groups.groups.map((g) => g.name),
      ['discovery.k8s.io', 'multicluster.x-k8s.io'],
    );
    const core = (await rawGet(api, '/api/v1')).json as { resources: { name: string }[] };
    assert.deepEqual(
      core.resources.map((r) => r.name),
      ['endpoints', 'services'],
    );
  });

  it('adds the v1.33 deprecation Warning header to core/v1 Endpoints reads only', async () => {
    const warning = '299 - "v1 Endpoints is deprecated in v1.33+; use discovery.k8s.io/v1 EndpointSlice"';
    assert.equal((await rawGet(api, ENDPOINTS)).headers['warning'], warning);
    assert.equal((await rawGet(api, '/api/v1/namespaces/prod/endpoints/web')).headers['warning'], warning);
    const watch = await RawStream.open(api, `${ENDPOINTS}?watch=true`);
    assert.equal(watch.headers['warning'], warning);
    watch.close();
    assert.equal((await rawGet(api, SLICES)).headers['warning'], undefined);
    assert.equal((await rawGet(api, SERVICES)).headers['warning'], undefined);
  });
});

describe('watches over raw HTTP', () => {
  let api: FakeApiServer;
  before(async () => {
    api = await FakeApiServer.start({ bookmarkIntervalMs: 40, defaultWatchTimeoutSeconds: 1 });
  });
  after(() => api.close());

  it('flushes 200 chunked application/json headers before any event exists', async () => {
    const watch = await RawStream.open(
      api,
      '/apis/discovery.k8s.io/v1/namespaces/empty/endpointslices?watch=true',
    );
    assert.equal(watch.status, 200);
    assert.equal(watch.headers['content-type'], 'application/json');
    assert.equal(watch.headers['transfer-encoding'], 'chunked');
    assert.deepEqual(watch.events, []);
    assert.equal(api.openWatches, 1);
    watch.close();
    await api.waitFor(() => api.openWatches === 0);
  });

  it('starts with synthetic ADDED events for the current state when the RV is unset or 0, then streams changes', async () => {
    api.create('endpointslices', slice('web', 'web-aaaaa'));
    api.create('endpointslices', slice('web', 'web-bbbbb'));
    for (const query of ['watch=true', 'watch=1&resourceVersion=0']) {
      const watch = await RawStream.open(api, `${SLICES}?${query}`);
      await watch.waitForEvents(2);
      assert.deepEqual(summary(watch.events), ['ADDED web-aaaaa', 'ADDED web-bbbbb'], query);
      for (const e of watch.events) {
        assert.equal(e.object.kind, 'EndpointSlice', 'watch objects carry kind');
        assert.equal(e.object.apiVersion, 'discovery.k8s.io/v1');
      }
      watch.close();
    }

    const watch = await RawStream.open(api, `${SLICES}?watch=true`);
    await watch.waitForEvents(2);
    const current = api.get('endpointslices', 'default', 'web-aaaaa');
    assert.ok(current);
    const updated = api.update('endpointslices', { ...current, endpoints: null });
    const deleted = api.delete('endpointslices', 'default', 'web-bbbbb');
    const events = await watch.waitForEvents(4);
    assert.deepEqual(summary(events.slice(2)), ['MODIFIED web-aaaaa', 'DELETED web-bbbbb']);
    assert.equal(events[2]?.object.metadata?.resourceVersion, updated.metadata.resourceVersion);
    assert.equal(events[2]?.object['endpoints'], null);
    assert.equal(events[3]?.object.metadata?.resourceVersion, String(api.resourceVersion));
    assert.equal(
      deleted.metadata.resourceVersion,
      String(api.resourceVersion),
      'DELETED carries the deletion RV',
    );
    assert.deepEqual(events[3]?.object['endpoints'], deleted['endpoints'], 'DELETED carries the last state');
    watch.close();
  });

  it('replays only the changes after a given resourceVersion, then continues live', async () => {
    const from = api.resourceVersion;
    api.create('endpointslices', slice('api', 'api-11111'));
    api.create('services', service({ name: 'api' }));
    const mid = api.create('endpointslices', slice('api', 'api-22222'));
    api.delete('endpointslices', 'default', 'api-11111');

    const watch = await RawStream.open(api, `${SLICES}?watch=true&resourceVersion=${from}`);
    await watch.waitForEvents(3);
    assert.deepEqual(summary(watch.events), ['ADDED api-11111', 'ADDED api-22222', 'DELETED api-11111']);
    watch.close();

    const later = await RawStream.open(
      api,
      `${SLICES}?watch=true&resourceVersion=${mid.metadata.resourceVersion}`,
    );
    await later.waitForEvents(1);
    api.create('endpointslices', slice('api', 'api-33333'));
    await later.waitForEvents(2);
    assert.deepEqual(summary(later.events), ['DELETED api-11111', 'ADDED api-33333']);
    later.close();
  });

  it('answers a watch from a compacted resourceVersion with HTTP 200, one 410 Expired ERROR event and the end', async () => {
    const old = api.resourceVersion;
    api.create('endpointslices', slice('old', 'old-aaaaa'));
    api.compact();
    const watch = await RawStream.open(api, `${SLICES}?watch=true&resourceVersion=${old}`);
    assert.equal(watch.status, 200);
    assert.equal(await watch.ended, 'end');
    assert.equal(watch.events.length, 1);
    assert.equal(watch.events[0]?.type, 'ERROR');
    assert.deepEqual(watch.events[0]?.object, {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: `too old resource version: ${old} (${api.compactionFloor})`,
      reason: 'Expired',
      code: 410,
    });

    const atFloor = await RawStream.open(api, `${SLICES}?watch=true&resourceVersion=${api.compactionFloor}`);
    api.create('endpointslices', slice('old', 'old-bbbbb'));
    await atFloor.waitForEvents(1);
    assert.deepEqual(summary(atFloor.events), ['ADDED old-bbbbb'], 'the floor itself is still watchable');
    atFloor.close();
  });

  it('turns a label selector into enter/leave events: ADDED when an object starts matching, DELETED when it stops', async () => {
    const watch = await RawStream.open(
      api,
      `/apis/discovery.k8s.io/v1/namespaces/sel/endpointslices?watch=true&labelSelector=${encodeURIComponent('color=blue')}`,
    );
    const obj = api.create('endpointslices', slice('paint', 'paint-aaaaa', 'sel', { color: 'red' }));
    api.create('endpointslices', slice('paint', 'paint-other', 'elsewhere', { color: 'blue' }));
    const blue = api.update('endpointslices', {
      ...obj,
      metadata: { ...obj.metadata, labels: { color: 'blue' } },
    });
    const blueAgain = api.update('endpointslices', { ...blue, addressType: 'IPv4', endpoints: null });
    const green = api.update('endpointslices', {
      ...blueAgain,
      metadata: { ...blue.metadata, labels: { color: 'green' } },
    });
    api.delete('endpointslices', 'sel', 'paint-aaaaa');
    // The marker: an object that matches, created after everything above. Nothing may arrive between.
    api.create('endpointslices', slice('paint', 'paint-marker', 'sel', { color: 'blue' }));
    const events = await watch.waitForEvents(4);
    assert.deepEqual(summary(watch.events), [
      'ADDED paint-aaaaa',
      'MODIFIED paint-aaaaa',
      'DELETED paint-aaaaa',
      'ADDED paint-marker',
    ]);
    // The real API server's watch cache sends the previous object (the last state that matched), with the
    // resourceVersion of the change that made it leave; the deletion afterwards is not sent at all.
    const leave = events[2]?.object;
    assert.equal(leave?.metadata?.labels?.['color'], 'blue', 'the leave event carries the previous labels');
    assert.equal(leave?.['endpoints'], null, 'and the previous content');
    assert.equal(
      leave?.metadata?.resourceVersion,
      green.metadata.resourceVersion,
      'with the new resourceVersion',
    );
    watch.close();
  });

  it('sends BOOKMARK events with the current resourceVersion at the set interval only when asked', async () => {
    const withBookmarks = await RawStream.open(api, `${SERVICES}?watch=true&allowWatchBookmarks=true`);
    const without = await RawStream.open(api, `${SERVICES}?watch=true&allowWatchBookmarks=false`);
    const bookmark = await withBookmarks.waitForEvent((e) => e.type === 'BOOKMARK');
    assert.deepEqual(bookmark.object, {
      kind: 'Service',
      apiVersion: 'v1',
      metadata: { resourceVersion: String(api.resourceVersion) },
    });
    const bookmarks = () => withBookmarks.events.filter((e) => e.type === 'BOOKMARK').length;
    await withBookmarks.waitForEvent(() => bookmarks() >= 2);
    // Both streams opened together: by now the one that did not ask would have had bookmarks too. A Service
    // created now is the marker: it arrives after anything the stream was sent before.
    api.create('services', service({ name: 'bookmark-marker', namespace: 'marker' }));
    await without.waitForEvent((e) => e.object.metadata?.name === 'bookmark-marker');
    assert.deepEqual(
      without.events.filter((e) => e.type !== 'ADDED'),
      [],
      'no BOOKMARK before the marker',
    );
    api.delete('services', 'marker', 'bookmark-marker');
    withBookmarks.close();
    without.close();
  });

  it('ends a watch cleanly after timeoutSeconds, and after the server default without it, with no ERROR event', async () => {
    const started = Date.now();
    const timed = await RawStream.open(api, `/api/v1/namespaces/none/services?watch=true&timeoutSeconds=1`);
    const untimed = await RawStream.open(api, `/api/v1/namespaces/none/endpoints?watch=true`);
    assert.equal(await timed.ended, 'end');
    assert.equal(await untimed.ended, 'end');
    const took = Date.now() - started;
    // Not before the second asked for; the upper bound is only a generous one (a loaded machine is slow).
    assert.ok(took >= 900 && took < 15_000, `ended after ${took} ms`);
    assert.deepEqual(timed.events, []);
    assert.deepEqual(untimed.events, []);
  });

  it('streams initial events then an initial-events-end bookmark for sendInitialEvents=true', async () => {
    const watch = await RawStream.open(
      api,
      `/api/v1/namespaces/default/services?watch=true&sendInitialEvents=true&allowWatchBookmarks=true&resourceVersionMatch=NotOlderThan`,
    );
    await watch.waitForEvent((e) => e.type === 'BOOKMARK');
    const types = watch.events.map((e) => e.type);
    assert.equal(types[0], 'ADDED');
    assert.equal(
      watch.events.find((e) => e.type === 'BOOKMARK')?.object.metadata?.annotations?.[
        'k8s.io/initial-events-end'
      ],
      'true',
    );
    watch.close();
  });
});

describe('fault hooks', () => {
  let api: FakeApiServer;
  before(async () => {
    api = await FakeApiServer.start();
    api.create('endpointslices', slice('web', 'web-aaaaa'));
  });
  after(() => api.close());

  it('endAllWatches ends every open watch cleanly', async () => {
    const a = await RawStream.open(api, `${SLICES}?watch=true`);
    const b = await RawStream.open(api, `${SERVICES}?watch=true`);
    await a.waitForEvents(1);
    api.endAllWatches();
    assert.equal(await a.ended, 'end');
    assert.equal(await b.ended, 'end');
    assert.ok(!a.events.some((e) => e.type === 'ERROR'));
    await api.waitFor(() => api.openWatches === 0);
  });

  it('sendExpiredOnWatches writes a 410 ERROR event but keeps the stream open', async () => {
    const watch = await RawStream.open(api, `${SLICES}?watch=true`);
    await watch.waitForEvents(1);
    api.sendExpiredOnWatches();
    const error = await watch.waitForEvent((e) => e.type === 'ERROR');
    assert.equal(error.object.code, 410);
    assert.equal(error.object.reason, 'Expired');
    assert.match(error.object.message ?? '', /^too old resource version: \d+ \(\d+\)$/);
    api.create('endpointslices', slice('web', 'web-after'));
    await watch.waitForEvent((e) => e.object.metadata?.name === 'web-after');
    assert.equal(api.openWatches, 1);
    watch.close();
    api.delete('endpointslices', 'default', 'web-after');
  });

  it('failNext answers the matching verb and resource with the status, a Status body and Retry-After for 429', async () => {
    const expected: Record<number, string> = {
      410: 'Expired',
      429: 'TooManyRequests',
      500: 'InternalError',
      503: 'ServiceUnavailable',
      504: 'Timeout',
      401: 'Unauthorized',
      403: 'Forbidden',
    };
    for (const code of [410, 429, 500, 503, 504, 401, 403] as const) {
      api.failNext({ verb: 'list', resource: 'endpointslices', status: code });
      assert.equal((await rawGet(api, SERVICES)).status, 200, 'another resource is unaffected');
      assert.equal(
        (await RawStream.open(api, `${SLICES}?watch=true&timeoutSeconds=1`)).status,
        200,
        'a watch too',
      );
      const res = await rawGet(api, SLICES);
      assert.equal(res.status, code);
      const status = res.json as StatusBody;
      assert.equal(status.kind, 'Status');
      assert.equal(status.apiVersion, 'v1');
      assert.equal(status.status, 'Failure');
      assert.equal(status.reason, expected[code]);
      assert.equal(status.code, code);
      assert.equal(typeof status.message, 'string');
      assert.equal(res.headers['retry-after'], code === 429 ? '1' : undefined);
      assert.equal((await rawGet(api, SLICES)).status, 200, 'only the next request fails');
    }
    api.endAllWatches();

    api.failNext({ verb: 'watch', status: 429, times: 2, retryAfterSeconds: 7 });
    for (let i = 0; i < 2; i++) {
      const res = await rawGet(api, `${SLICES}?watch=true`);
      assert.equal(res.status, 429);
      assert.equal(res.headers['retry-after'], '7');
      assert.equal((res.json as StatusBody).details?.['retryAfterSeconds'], 7);
    }
    const third = await RawStream.open(api, `${SLICES}?watch=true`);
    assert.equal(third.status, 200);
    third.close();
  });

  it('destroyWatchSockets drops the connection mid-stream without a clean end', async () => {
    const watch = await RawStream.open(api, `${SLICES}?watch=true`);
    await watch.waitForEvents(1);
    api.destroyWatchSockets();
    assert.equal(await watch.ended, 'aborted');
    await api.waitFor(() => api.openWatches === 0);
  });

  it('stall before-headers holds matching requests without a response until unstall', async () => {
    api.stall({ verb: 'list', phase: 'before-headers' });
    let answered = false;
    const pending = rawGet(api, SLICES).then((r) => {
      answered = true;
      return r;
    });
    // The list has arrived and is held (logged with no status yet) ...
    await api.waitFor(() => api.requests.some((r) => r.verb === 'list' && r.status === 0));
    // ... and stays unanswered while a request made after it (a watch: not a list) is answered.
    const watch = await RawStream.open(api, `${SLICES}?watch=true`);
    assert.equal(watch.status, 200, 'a watch is not a list');
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(answered, false);
    assert.equal(api.requests.filter((r) => r.verb === 'list' && r.status === 0).length, 1);
    api.unstall();
    assert.equal((await pending).status, 200);
    watch.close();
  });

  it('stall after-headers sends headers and then silence until unstall, on new and open watches', async () => {
    const open = await RawStream.open(api, `${SLICES}?watch=true&allowWatchBookmarks=true`);
    await open.waitForEvents(1);
    // The marker: a watch of Services, which the stall (of endpointslices watches) does not cover.
    const marker = await RawStream.open(api, `${SERVICES}?watch=true&resourceVersion=${api.resourceVersion}`);
    api.stall({ verb: 'watch', resource: 'endpointslices', phase: 'after-headers' });
    const fresh = await RawStream.open(api, `${SLICES}?watch=true`);
    assert.equal(fresh.status, 200);
    api.create('endpointslices', slice('web', 'web-stall'));
    api.create('services', service({ name: 'stall-marker', namespace: 'marker' }));
    await marker.waitForEvents(1);
    // Loopback delivers what was written before the marker by then; one more turn reads every socket.
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(open.events.length, 1);
    assert.equal(fresh.events.length, 0);
    marker.close();
    api.delete('services', 'marker', 'stall-marker');
    api.unstall();
    await open.waitForEvent((e) => e.object.metadata?.name === 'web-stall');
    await fresh.waitForEvents(2);
    open.close();
    fresh.close();

    api.stall({ verb: 'list', resource: 'endpointslices', phase: 'after-headers' });
    const list = new RawStream(api, SLICES);
    const res = await list.response;
    assert.equal(res.statusCode, 200);
    // The marker: a list of Services (not stalled), asked and answered after the stalled one's headers.
    assert.equal((await rawGet(api, SERVICES)).status, 200);
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(list.chunks, []);
    api.unstall();
    assert.equal(await list.ended, 'end');
    assert.equal((JSON.parse(list.chunks.join('')) as ListBody).kind, 'EndpointSliceList');
    api.delete('endpointslices', 'default', 'web-stall');
  });

  it('splitNextEvent writes one event across several chunks that still join into one event', async () => {
    const watch = await RawStream.open(api, `${SLICES}?watch=true&resourceVersion=${api.resourceVersion}`);
    api.splitNextEvent({ pieces: 3, delayMs: 30 });
    api.create('endpointslices', slice('web', 'web-split'));
    api.create('endpointslices', slice('web', 'web-next'));
    await watch.waitForEvents(2);
    assert.deepEqual(summary(watch.events), ['ADDED web-split', 'ADDED web-next']);
    assert.ok(watch.chunks.length >= 4, `got ${watch.chunks.length} chunks`);
    assert.ok(!(watch.chunks[0] ?? '').includes('\n'), 'the first chunk is only part of an event');
    watch.close();
    api.delete('endpointslices', 'default', 'web-split');
    api.delete('endpointslices', 'default', 'web-next');
  });

  it('stopListening refuses connections and drops open watches; resumeListening serves on the same port', async () => {
    const port = api.port;
    const watch = await RawStream.open(api, `${SLICES}?watch=true`);
    await api.stopListening();
    assert.equal(await watch.ended, 'aborted');
    await assert.rejects(rawGet(api, SLICES), (err: NodeJS.ErrnoException) => err.code === 'ECONNREFUSED');
    await api.resumeListening();
    assert.equal(api.port, port);
    assert.equal((await rawGet(api, SLICES)).status, 200);
  });
});

describe('authentication, authorisation and the request log', () => {
  let api: FakeApiServer;
  before(async () => {
    api = await FakeApiServer.start({
      tokens: {
        admin: {},
        'slices-only': {
          user: 'system:serviceaccount:x:y',
          resources: ['endpointslices'],
          verbs: ['list', 'watch'],
        },
        'team-a': { user: 'system:serviceaccount:team-a:reader', namespaces: ['team-a'] },
      },
    });
    api.create('endpointslices', slice('web', 'web-aaaaa', 'team-a'));
  });
  after(() => api.close());

  it('answers a missing or unknown bearer token with 401 Unauthorized', async () => {
    for (const token of [undefined, 'wrong']) {
      const res = await rawGet(api, SLICES, token === undefined ? {} : { token });
      assert.equal(res.status, 401);
      assert.deepEqual(res.json, {
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message: 'Unauthorized',
        reason: 'Unauthorized',
        code: 401,
      });
    }
    assert.equal((await rawGet(api, '/version')).status, 200, '/version is public');
  });

  it('answers a token whose scope does not cover the request with 403 and the RBAC message', async () => {
    const cluster = await rawGet(api, SERVICES, { token: 'slices-only' });
    assert.equal(cluster.status, 403);
    assert.deepEqual(cluster.json, {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message:
        'services is forbidden: User "system:serviceaccount:x:y" cannot list resource "services" in API group "" at the cluster scope',
      reason: 'Forbidden',
      details: { group: '', kind: 'services' },
      code: 403,
    });
    const get = await rawGet(api, '/apis/discovery.k8s.io/v1/namespaces/team-a/endpointslices/web-aaaaa', {
      token: 'slices-only',
    });
    assert.equal(
      (get.json as StatusBody).message,
      'endpointslices.discovery.k8s.io "web-aaaaa" is forbidden: User "system:serviceaccount:x:y" cannot get ' +
        'resource "endpointslices" in API group "discovery.k8s.io" in the namespace "team-a"',
    );
    const namespaced = await rawGet(api, SLICES, { token: 'team-a' });
    assert.equal(namespaced.status, 403);
    assert.equal(
      (namespaced.json as StatusBody).message,
      'endpointslices.discovery.k8s.io is forbidden: User "system:serviceaccount:team-a:reader" cannot list ' +
        'resource "endpointslices" in API group "discovery.k8s.io" at the cluster scope',
    );
    const inNamespace = await rawGet(api, '/apis/discovery.k8s.io/v1/namespaces/team-a/endpointslices', {
      token: 'team-a',
    });
    assert.equal(inNamespace.status, 200);
    assert.equal((await rawGet(api, SLICES, { token: 'admin' })).status, 200);
  });

  it('lets a test change tokens at runtime to fix a 403', async () => {
    assert.equal((await rawGet(api, SERVICES, { token: 'slices-only' })).status, 403);
    api.setTokens({ 'slices-only': { resources: ['endpointslices', 'services'] } });
    assert.equal((await rawGet(api, SERVICES, { token: 'slices-only' })).status, 200);
    assert.equal((await rawGet(api, SERVICES, { token: 'admin' })).status, 401);
  });

  it('logs every request with method, path, query, verb, resource, status and token', async () => {
    api.clearRequests();
    api.setTokens({ admin: {} });
    await rawGet(api, `${SLICES}?labelSelector=a%3Db&limit=5`, { token: 'admin' });
    const watch = await RawStream.open(
      api,
      `/api/v1/namespaces/ns1/services?watch=true&resourceVersion=1000`,
      {
        token: 'admin',
      },
    );
    await rawGet(api, '/api/v1/namespaces/ns1/endpoints/web', { token: 'admin' });
    await rawGet(api, '/api/v1/namespaces/ns1/endpoints/web');
    watch.close();
    const log = api.requests.map((r) => ({
      method: r.method,
      path: r.path,
      verb: r.verb,
      resource: r.resource,
      namespace: r.namespace,
      name: r.name,
      status: r.status,
      token: r.token,
    }));
    assert.deepEqual(log, [
      {
        method: 'GET',
        path: SLICES,
        verb: 'list',
        resource: 'endpointslices',
        namespace: undefined,
        name: undefined,
        status: 200,
        token: 'admin',
      },
      {
        method: 'GET',
        path: '/api/v1/namespaces/ns1/services',
        verb: 'watch',
        resource: 'services',
        namespace: 'ns1',
        name: undefined,
        status: 200,
        token: 'admin',
      },
      {
        method: 'GET',
        path: '/api/v1/namespaces/ns1/endpoints/web',
        verb: 'get',
        resource: 'endpoints',
        namespace: 'ns1',
        name: 'web',
        status: 404,
        token: 'admin',
      },
      {
        method: 'GET',
        path: '/api/v1/namespaces/ns1/endpoints/web',
        verb: undefined,
        resource: 'endpoints',
        namespace: 'ns1',
        name: 'web',
        status: 401,
        token: undefined,
      },
    ]);
    assert.equal(api.requests[0]?.query.get('labelSelector'), 'a=b');
    assert.equal(api.requests[0]?.query.get('limit'), '5');
    assert.equal(api.requests[1]?.query.get('resourceVersion'), '1000');
  });
});

describe('mutations and fixtures', () => {
  let api: FakeApiServer;
  before(async () => {
    api = await FakeApiServer.start();
  });
  after(() => api.close());

  it('sets uid, resourceVersion, generation and creationTimestamp, bumping generation only when content changes', () => {
    const rv0 = api.resourceVersion;
    const created = api.create('endpointslices', endpointSlice({ service: 'web' }));
    assert.equal(created.metadata.resourceVersion, String(rv0 + 1));
    assert.equal(created.metadata.generation, 1);
    assert.match(created.metadata.creationTimestamp ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.match(created.metadata.name ?? '', /^web-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
    const relabelled = api.update('endpointslices', {
      ...created,
      metadata: { ...created.metadata, labels: { ...created.metadata.labels, extra: 'x' }, uid: 'ignored' },
    });
    assert.equal(relabelled.metadata.generation, 1);
    assert.equal(relabelled.metadata.uid, created.metadata.uid);
    assert.equal(relabelled.metadata.resourceVersion, String(rv0 + 2));
    const changed = api.update('endpointslices', { ...relabelled, endpoints: null });
    assert.equal(changed.metadata.generation, 2);
    const generated = api.create('services', {
      metadata: { generateName: 'gen-', namespace: 'x' },
      spec: {},
    });
    assert.match(generated.metadata.name ?? '', /^gen-.{5}$/);
    assert.throws(
      () => api.create('services', generated),
      (err: unknown) => err instanceof StoreError && err.code === 409,
    );
    assert.throws(
      () => api.delete('services', 'x', 'nope'),
      (err: unknown) => err instanceof StoreError && err.code === 404,
    );
  });

  it('builds controller-style slices, Endpoints and Services with the labels and shapes the controllers write', () => {
    const headless = endpointSlice({
      service: 'db',
      headless: true,
      addressType: 'IPv6',
      endpoints: [{ addresses: podIPv6(1), ready: false, terminating: true, hostname: 'db-0', pod: 'db-0' }],
      ports: [{ name: 'pg', port: 5432, appProtocol: 'postgresql' }],
    });
    assert.equal(headless.metadata.labels?.[LABEL_HEADLESS], '');
    assert.equal(
      headless.metadata.labels?.['endpointslice.kubernetes.io/managed-by'],
      'endpointslice-controller.k8s.io',
    );
    assert.equal(headless['addressType'], 'IPv6');
    assert.deepEqual(headless['ports'], [
      { name: 'pg', protocol: 'TCP', port: 5432, appProtocol: 'postgresql' },
    ]);
    const ep = (headless['endpoints'] as Record<string, unknown>[])[0];
    assert.deepEqual(ep?.['conditions'], { ready: false, serving: true, terminating: true });
    assert.deepEqual((ep?.['targetRef'] as Record<string, unknown>)['name'], 'db-0');
    assert.equal(endpointSlice({ service: 'empty', endpoints: null })['endpoints'], null);
    const [v4, v6] = dualStackSlices({ service: 'dual', endpoints: [{ addresses: podIPv4(3) }] }, [
      podIPv6(3),
    ]);
    const pod = (x: KubeObject) => (x['endpoints'] as { targetRef: { name: string } }[])[0]?.targetRef.name;
    assert.equal(pod(v4), pod(v6));
    assert.equal(v6['addressType'], 'IPv6');

    const truncated = truncatedEndpoints({ service: 'big', total: 1500 });
    assert.equal(truncated.metadata.annotations?.[ANNOTATION_OVER_CAPACITY], 'truncated');
    assert.equal(((truncated['subsets'] as { addresses: unknown[] }[])[0]?.addresses ?? []).length, 1000);
    const mixed = endpoints({ service: 'web', ready: [{ ip: '10.0.0.1' }], notReady: [{ ip: '10.0.0.2' }] });
    const subset = (mixed['subsets'] as Record<string, unknown>[])[0];
    assert.ok(subset?.['addresses'] && subset['notReadyAddresses'] && subset['ports']);

    assert.equal((headlessService({ name: 'db' })['spec'] as { clusterIP: string }).clusterIP, 'None');
    const ext = externalNameService({ name: 'ext', externalName: 'db.example.com' })['spec'] as Record<
      string,
      unknown
    >;
    assert.equal(ext['type'], 'ExternalName');
    assert.equal(ext['externalName'], 'db.example.com');
    assert.equal(ext['clusterIP'], undefined);
  });
});

describe('with the real @kubernetes/client-node', () => {
  let api: FakeApiServer;
  let kc: KubeConfig;
  before(async () => {
    api = await FakeApiServer.start({ bookmarkIntervalMs: 50 });
    kc = new KubeConfig();
    kc.loadFromString(api.kubeconfigYaml());
    api.create('endpointslices', endpointSlice({ service: 'web', name: 'web-aaaaa', namespace: 'prod' }));
    api.create(
      'services',
      service({
        name: 'web',
        namespace: 'prod',
        ports: [{ name: 'http', port: 80, targetPort: 'http', appProtocol: 'http' }],
      }),
    );
    api.create('services', headlessService({ name: 'db', namespace: 'prod' }));
    api.create(
      'services',
      externalNameService({ name: 'ext', namespace: 'prod', externalName: 'example.org' }),
    );
    api.create('endpoints', endpoints({ service: 'web', namespace: 'prod', ready: [{ ip: podIPv4(1) }] }));
  });
  after(() => api.close());

  it('lists EndpointSlices, Services and Endpoints through the typed API clients', async () => {
    const discovery = kc.makeApiClient(DiscoveryV1Api);
    const slices = await discovery.listEndpointSliceForAllNamespaces();
    assert.equal(slices.metadata?.resourceVersion, String(api.resourceVersion));
    assert.deepEqual(names(slices.items), ['web-aaaaa']);
    assert.equal(slices.items[0]?.endpoints?.[0]?.conditions?.ready, true);
    assert.ok(slices.items[0]?.metadata?.creationTimestamp instanceof Date);

    const paged = await discovery.listNamespacedEndpointSlice({ namespace: 'prod', limit: 1 });
    assert.equal(paged.items.length, 1);

    const core = kc.makeApiClient(CoreV1Api);
    const services = await core.listServiceForAllNamespaces();
    assert.deepEqual(names(services.items), ['db', 'ext', 'web']);
    assert.equal(services.items[0]?.spec?.clusterIP, 'None');
    assert.equal(services.items[1]?.spec?.externalName, 'example.org');
    assert.equal(services.items[2]?.spec?.ports?.[0]?.targetPort, 'http');
    const eps = await core.listEndpointsForAllNamespaces();
    assert.equal(eps.items[0]?.subsets?.[0]?.addresses?.[0]?.ip, podIPv4(1));
  });

  it('watches from a list resourceVersion and sees added, modified and deleted objects plus bookmarks', async () => {
    const list = await kc.makeApiClient(DiscoveryV1Api).listEndpointSliceForAllNamespaces();
    const seen: string[] = [];
    let doneErr: unknown = 'not called';
    const controller = await new Watch(kc).watch(
      SLICES,
      { allowWatchBookmarks: true, resourceVersion: list.metadata?.resourceVersion },
      (type: string, obj: { metadata?: { name?: string } }) =>
        seen.push(`${type} ${obj.metadata?.name ?? ''}`.trim()),
      (err: unknown) => {
        doneErr = err;
      },
    );
    await api.waitForOpenWatches(1);
    const created = api.create(
      'endpointslices',
      endpointSlice({ service: 'web', name: 'web-bbbbb', namespace: 'prod' }),
    );
    api.update('endpointslices', { ...created, endpoints: null });
    api.delete('endpointslices', 'prod', 'web-bbbbb');
    await api.waitFor(() => seen.includes('DELETED web-bbbbb') && seen.includes('BOOKMARK'), 3000, 'events');
    assert.deepEqual(
      seen.filter((s) => s !== 'BOOKMARK'),
      ['ADDED web-bbbbb', 'MODIFIED web-bbbbb', 'DELETED web-bbbbb'],
    );
    api.endAllWatches();
    await api.waitFor(() => doneErr !== 'not called', 3000, 'done');
    assert.equal(doneErr, null, 'a clean server-side end calls done(null)');
    controller.abort();
  });

  it('keeps an informer in step through creates, updates, deletes and an in-stream 410 relist', async () => {
    const discovery = kc.makeApiClient(DiscoveryV1Api);
    const informer = makeInformer<V1EndpointSlice>(kc, SLICES, () =>
      discovery.listEndpointSliceForAllNamespaces(),
    );
    const events: string[] = [];
    informer.on('add', (o) => events.push(`add ${o.metadata?.name ?? ''}`));
    informer.on('update', (o) => events.push(`update ${o.metadata?.name ?? ''}`));
    informer.on('delete', (o) => events.push(`delete ${o.metadata?.name ?? ''}`));
    informer.on('error', (err) => events.push(`error ${String(err)}`));
    await informer.start();
    await api.waitForOpenWatches(1);
    assert.deepEqual(events, ['add web-aaaaa']);

    const created = api.create(
      'endpointslices',
      endpointSlice({ service: 'api', name: 'api-aaaaa', namespace: 'prod' }),
    );
    api.update('endpointslices', { ...created, endpoints: null });
    await api.waitFor(() => events.includes('update api-aaaaa'), 3000, 'update');
    api.delete('endpointslices', 'prod', 'api-aaaaa');
    await api.waitFor(() => events.includes('delete api-aaaaa'), 3000, 'delete');

    const lists = () =>
      api.requests.filter((r) => r.verb === 'list' && r.resource === 'endpointslices').length;
    const watches = () =>
      api.requests.filter((r) => r.verb === 'watch' && r.resource === 'endpointslices').length;

    // An in-stream 410 makes client-node forget its RV; the relist happens when that watch ends.
    let listsBefore = lists();
    // The ERROR event is queued before the clean end, so client-node reads it first.
    api.sendExpiredOnWatches();
    api.endAllWatches();
    await api.waitFor(() => lists() === listsBefore + 1 && api.openWatches === 1, 3000, 'relist after ERROR');

    // A watch that resumes from an RV compacted while it was away gets the 410 ERROR event and relists;
    // the relist reports the object deleted in the meantime.
    api.create('endpointslices', endpointSlice({ service: 'gone', name: 'gone-aaaaa', namespace: 'prod' }));
    await api.waitFor(() => events.includes('add gone-aaaaa'), 3000, 'add gone');
    listsBefore = lists();
    const watchesBefore = watches();
    api.stall({ verb: 'watch', phase: 'before-headers' });
    api.endAllWatches();
    await api.waitFor(() => watches() === watchesBefore + 1, 3000, 'the resumed watch');
    api.delete('endpointslices', 'prod', 'gone-aaaaa');
    api.compact();
    api.unstall();
    await api.waitFor(() => events.includes('delete gone-aaaaa'), 3000, 'delete seen by relist');
    assert.equal(lists(), listsBefore + 1);
    await api.waitForOpenWatches(1);
    assert.deepEqual(
      informer.list().map((o) => o.metadata?.name),
      ['web-aaaaa'],
    );
    assert.ok(!events.some((e) => e.startsWith('error')), events.join(', '));
    await informer.stop();
  });

  it('surfaces 403 from a scoped token as an ApiException with code 403', async () => {
    api.setTokens({ reader: { resources: ['services'] } });
    const scoped = new KubeConfig();
    scoped.loadFromString(api.kubeconfigYaml('reader'));
    await assert.rejects(
      scoped.makeApiClient(DiscoveryV1Api).listEndpointSliceForAllNamespaces(),
      (err: { code?: number; body?: unknown }) => {
        assert.equal(err.code, 403);
        assert.match(String(err.body), /cannot list resource \\?"endpointslices\\?"/);
        return true;
      },
    );
    const services = await scoped.makeApiClient(CoreV1Api).listServiceForAllNamespaces();
    assert.equal(services.items.length, 3);
    assert.equal(api.requests.at(-1)?.token, 'reader');
    api.setTokens(undefined);
  });
});

describe('HTTPS with the generated CA', () => {
  let api: FakeApiServer;
  let dir: string;
  const saved = {
    host: process.env['KUBERNETES_SERVICE_HOST'],
    port: process.env['KUBERNETES_SERVICE_PORT'],
  };
  before(async () => {
    api = await FakeApiServer.start({
      tls: true,
      tokens: { 'sa-token': { user: 'system:serviceaccount:default:endpointd' } },
    });
    api.create('endpointslices', endpointSlice({ service: 'web', name: 'web-aaaaa' }));
    dir = await mkdtemp(join(tmpdir(), 'fake-apiserver-incluster-'));
  });
  after(async () => {
    for (const [key, value] of [
      ['KUBERNETES_SERVICE_HOST', saved.host],
      ['KUBERNETES_SERVICE_PORT', saved.port],
    ] as const) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
    await api.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('serves https and client-node trusts it through certificate-authority-data', async () => {
    assert.match(api.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    assert.match(api.caPem ?? '', /BEGIN CERTIFICATE/);
    const kc = new KubeConfig();
    kc.loadFromString(api.kubeconfigYaml('sa-token'));
    const list = await kc.makeApiClient(DiscoveryV1Api).listEndpointSliceForAllNamespaces();
    assert.deepEqual(names(list.items), ['web-aaaaa']);
    const seen: string[] = [];
    const controller = await new Watch(kc).watch(
      SLICES,
      {},
      (type: string) => seen.push(type),
      () => {},
    );
    await api.waitFor(() => seen.length === 1, 3000, 'a watch event over TLS');
    controller.abort();
  });

  it('is rejected by a client that does not trust the CA', async () => {
    await assert.rejects(
      rawGet({ url: api.url }, SLICES, { token: 'sa-token' }),
      (err: NodeJS.ErrnoException) => /certificate/i.test(`${err.code ?? ''} ${err.message}`),
    );
  });

  it('works as an in-cluster config via loadFromCluster(prefix) with the token file and ca.crt', async () => {
    const env = await api.writeInClusterFiles(dir, 'sa-token');
    process.env['KUBERNETES_SERVICE_HOST'] = env.KUBERNETES_SERVICE_HOST;
    process.env['KUBERNETES_SERVICE_PORT'] = env.KUBERNETES_SERVICE_PORT;
    const kc = new KubeConfig();
    kc.loadFromCluster(dir);
    assert.equal(kc.getCurrentCluster()?.server, api.url);
    assert.equal(kc.getContexts()[0]?.namespace, 'default');
    api.clearRequests();
    const list = await kc.makeApiClient(DiscoveryV1Api).listNamespacedEndpointSlice({ namespace: 'default' });
    assert.deepEqual(names(list.items), ['web-aaaaa']);
    assert.equal(api.requests[0]?.token, 'sa-token');
  });
});

describe('TokenReview', () => {
  let api: FakeApiServer;
  before(async () => {
    api = await FakeApiServer.start({
      tokens: {
        reviewer: { user: 'system:serviceaccount:endpointd:endpointd', tokenReviews: true, verbs: ['list'] },
        'slices-only': { user: 'system:serviceaccount:x:y', resources: ['endpointslices'] },
      },
      reviewedTokens: { 'client-token': { username: 'system:serviceaccount:apps:web', groups: ['team-a'] } },
    });
  });
  after(() => api.close());

  const review = async (bearer: string | undefined, token: string, method = 'POST') => {
    const res = await fetch(api.url + TOKEN_REVIEWS_PATH, {
      method,
      headers: {
        'Content-Type': 'application/json',
        ...(bearer === undefined ? {} : { Authorization: `Bearer ${bearer}` }),
      },
      ...(method === 'POST'
        ? {
            body: JSON.stringify({
              apiVersion: 'authentication.k8s.io/v1',
              kind: 'TokenReview',
              spec: { token },
            }),
          }
        : {}),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };

  it('answers 201 with the user of a known token and authenticated false with an error for another', async () => {
    const known = await review('reviewer', 'client-token');
    assert.equal(known.status, 201);
    assert.deepEqual(known.body.status, {
      authenticated: true,
      user: {
        username: 'system:serviceaccount:apps:web',
        uid: 'uid-system:serviceaccount:apps:web',
        groups: ['team-a', 'system:authenticated'],
      },
      audiences: [],
    });
    const unknown = await review('reviewer', 'forged');
    assert.equal(unknown.status, 201);
    assert.deepEqual(unknown.body.status, {
      authenticated: false,
      error: 'invalid bearer token, token lookup failed',
    });
    api.setReviewedTokens({ forged: { username: 'now-known' } });
    assert.equal(
      ((await review('reviewer', 'forged')).body.status as { user: { username: string } }).user.username,
      'now-known',
    );
  });

  it('requires the reviewer itself to be authenticated and allowed to create tokenreviews', async () => {
    assert.equal((await review(undefined, 'client-token')).status, 401);
    const forbidden = await review('slices-only', 'client-token');
    assert.equal(forbidden.status, 403);
    assert.match(String(forbidden.body.message), /cannot create resource "tokenreviews"/);
    assert.equal((await review('reviewer', '')).status, 400);
    assert.equal((await review('reviewer', 'x', 'GET')).status, 405);
    assert.equal(
      api.requests.filter((e) => e.path === TOKEN_REVIEWS_PATH).length,
      3 + 4,
      'every review is logged',
    );
  });
});
