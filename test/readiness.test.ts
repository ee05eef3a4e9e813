// Before the first sync endpointd must not answer lookups from a half-read state: clients get 503 and retry.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { createRestApi } from '../src/api/rest/app.ts';
import type { ProblemBody } from '../src/api/rest/wire.ts';
import { createLogger } from '../src/observability/logger.ts';
import { Readiness } from '../src/observability/readiness.ts';
import { EndpointStore } from '../src/store/endpoint-store.ts';
import { get } from './support/http.ts';
import { ManualSource } from './support/manual-source.ts';
import { service } from './support/services.ts';

/** The REST API over a store holding shop/web, its one source synced or not yet. */
async function restWithOneService(synced: boolean) {
  const store = new EndpointStore({ encodedCacheBytes: 1 << 20 });
  const source = new ManualSource(synced);
  const readiness = new Readiness([source]);
  const rest = createRestApi({ store, readiness, logger: createLogger('silent'), heartbeatMs: 15_000 });
  const server = createServer(rest.app).listen(0, '127.0.0.1');
  await once(server, 'listening');
  store.upsert('manual', service('shop', 'web', ['10.0.0.1']));
  return { source, readiness, server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

describe('readiness', () => {
  it('answers 503 with Retry-After until every source has synced, then serves; /readyz follows, and drops on shutdown', async () => {
    const { source, readiness, url, server } = await restWithOneService(false);
    try {
      for (const path of ['/v1/services', '/v1/namespaces/shop/services/web', '/v1/watch']) {
        const answer = await get(`${url}${path}`);
        assert.equal(answer.status, 503, path);
        assert.equal(answer.headers['retry-after'], '1');
        assert.match(answer.json<ProblemBody>().detail, /first sync/);
      }
      assert.equal((await get(`${url}/readyz`)).status, 503);
      assert.equal((await get(`${url}/healthz`)).status, 200, 'alive while not ready');

      source.synced = true;
      assert.equal((await get(`${url}/v1/namespaces/shop/services/web`)).status, 200);
      assert.equal((await get(`${url}/readyz`)).status, 200);

      readiness.beginShutdown();
      const draining = await get(`${url}/readyz`);
      assert.equal(draining.status, 503);
      assert.equal(draining.json<{ shuttingDown: boolean }>().shuttingDown, true);
      assert.equal((await get(`${url}/v1/namespaces/shop/services/web`)).status, 200, 'lookups still answer');
    } finally {
      server.close();
    }
  });

  it('a hold keeps /readyz at 503 once synced too, while lookups answer; released, it is 200', async () => {
    const { readiness, url, server } = await restWithOneService(true);
    const release = readiness.hold();
    try {
      const held = await get(`${url}/readyz`);
      assert.equal(held.status, 503);
      assert.equal(held.json<{ ready: boolean; synced: boolean }>().ready, false);
      assert.equal(held.json<{ ready: boolean; synced: boolean }>().synced, true);
      assert.equal(
        (await get(`${url}/v1/namespaces/shop/services/web`)).status,
        200,
        'synced: lookups answer',
      );
      release();
      assert.equal((await get(`${url}/readyz`)).status, 200);
    } finally {
      server.close();
    }
  });
});
