import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ProblemBody, ServiceBody, ServiceListBody } from '../src/api/rest/wire.ts';
import { sliceManifest, startTestEndpointd, type TestEndpointd } from './support/endpointd.ts';
import { EventStream, eventually, get, metricValue, subscribersReach } from './support/http.ts';

describe('REST API', () => {
  let t: TestEndpointd;

  before(async () => {
    t = await startTestEndpointd({
      'web.yaml': sliceManifest('shop', 'web', ['10.0.0.1', '10.0.0.2'], {
        notReady: ['10.0.0.3'],
        terminating: ['10.0.0.4'],
      }),
      'cart.yaml': sliceManifest('shop', 'cart', ['10.0.1.1']),
      'empty.yaml': sliceManifest('shop', 'idle', []),
      'billing/api.yaml': sliceManifest('billing', 'api', ['10.0.2.1']),
    });
  });
  after(() => t.stop());

  describe('GET /v1/services', () => {
    it('lists every service with its version and endpoint counts, sorted', async () => {
      const answer = await get(`${t.url}/v1/services`);
      assert.equal(answer.status, 200);
      assert.match(answer.headers['content-type'] ?? '', /application\/json/);
      const body = answer.json<ServiceListBody>();
      assert.deepEqual(
        body.services.map((s) => [`${s.namespace}/${s.name}`, s.endpoints, s.ready]),
        [
          ['billing/api', 1, 1],
          ['shop/cart', 1, 1],
          ['shop/idle', 0, 0],
          ['shop/web', 4, 2],
        ],
      );
      const web = await get(`${t.url}/v1/namespaces/shop/services/web`);
      assert.equal(body.services[3]?.version, web.json<ServiceBody>().version);
    });

    it('filters by namespace', async () => {
      const body = (await get(`${t.url}/v1/services?namespace=billing`)).json<ServiceListBody>();
      assert.deepEqual(
        body.services.map((s) => s.name),
        ['api'],
      );
    });

    it('refuses a namespace that is not a valid name', async () => {
      const answer = await get(`${t.url}/v1/services?namespace=Not_Valid`);
      assert.equal(answer.status, 400);
      assert.equal(answer.headers['content-type'], 'application/problem+json; charset=utf-8');
      assert.deepEqual(
        answer.json<ProblemBody>().invalidParams?.map((p) => p.name),
        ['namespace'],
      );
    });
  });

  describe('GET /v1/namespaces/{ns}/services/{name}', () => {
    it('answers the routable endpoints with every field, the version as ETag', async () => {
      const answer = await get(`${t.url}/v1/namespaces/shop/services/web`);
      assert.equal(answer.status, 200);
      const body = answer.json<ServiceBody>();
      assert.equal(answer.headers.etag, `"${body.version}"`);
      assert.deepEqual(
        body.endpoints.map((e) => e.addresses[0]),
        ['10.0.0.1', '10.0.0.2'],
      );
      assert.deepEqual(body.endpoints[0], {
        addresses: ['10.0.0.1'],
        addressType: 'IPv4',
        ports: [
          { name: 'http', port: 8080, protocol: 'TCP' },
          { name: 'metrics', port: 9100, protocol: 'TCP' },
        ],
        ready: true,
        serving: true,
        terminating: false,
        hostname: null,
        nodeName: 'node-1',
        zone: 'zone-a',
        targetRef: null,
        hints: null,
      });
      assert.deepEqual(
        body.ports.map((p) => p.name),
        ['http', 'metrics'],
      );
      assert.equal(body.targets, undefined);
    });

    it('answers every endpoint with its conditions on endpoints=all', async () => {
      const body = (await get(`${t.url}/v1/namespaces/shop/services/web?endpoints=all`)).json<ServiceBody>();
      assert.deepEqual(
        body.endpoints.map((e) => [e.addresses[0], e.ready, e.serving, e.terminating]),
        [
          ['10.0.0.1', true, true, false],
          ['10.0.0.2', true, true, false],
          ['10.0.0.3', false, false, false],
          ['10.0.0.4', false, true, true],
        ],
      );
    });

    it('adds ready-to-dial targets for a port given by name or by number', async () => {
      const byName = (await get(`${t.url}/v1/namespaces/shop/services/web?port=metrics`)).json<ServiceBody>();
      assert.deepEqual(byName.targets, [
        { address: '10.0.0.1', port: 9100 },
        { address: '10.0.0.2', port: 9100 },
      ]);
      const byNumber = (await get(`${t.url}/v1/namespaces/shop/services/web?port=8080`)).json<ServiceBody>();
      assert.deepEqual(byNumber.targets, [
        { address: '10.0.0.1', port: 8080 },
        { address: '10.0.0.2', port: 8080 },
      ]);
    });

    it('answers 404 naming the ports the service has for a port it does not have, by name or by number', async () => {
      for (const port of ['grpc', '9999']) {
        const answer = await get(`${t.url}/v1/namespaces/shop/services/web?port=${port}`);
        assert.equal(answer.status, 404, port);
        assert.equal(answer.headers['content-type'], 'application/problem+json; charset=utf-8');
        assert.match(
          answer.json<ProblemBody>().detail,
          /^service shop\/web has no (port named grpc|target port 9999); its ports: http \(8080\), metrics \(9100\)$/,
        );
      }
      // A long-poll for such a port would only end in the same answer: it comes at once.
      const version = (await get(`${t.url}/v1/namespaces/shop/services/web`)).json<ServiceBody>().version;
      const started = Date.now();
      const polled = await get(
        `${t.url}/v1/namespaces/shop/services/web?port=grpc&wait=30s&version=${version}`,
      );
      assert.equal(polled.status, 404);
      assert.ok(Date.now() - started < 10_000, 'answered without waiting');
      // A service that knows no port at all (no endpoints, no Service object) has nothing to contradict.
      const idle = await get(`${t.url}/v1/namespaces/shop/services/idle?port=http`);
      assert.equal(idle.status, 200);
      assert.deepEqual(idle.json<ServiceBody>().targets, []);
    });

    it('answers 304 when If-None-Match holds the current version', async () => {
      const first = await get(`${t.url}/v1/namespaces/shop/services/web`);
      const etag = first.headers.etag ?? '';
      const again = await get(`${t.url}/v1/namespaces/shop/services/web`, { 'If-None-Match': etag });
      assert.equal(again.status, 304);
      assert.equal(again.text, '');
      const weakInList = await get(`${t.url}/v1/namespaces/shop/services/web`, {
        'If-None-Match': `"other", W/${etag}`,
      });
      assert.equal(weakInList.status, 304);
      const stale = await get(`${t.url}/v1/namespaces/shop/services/web`, { 'If-None-Match': '"stale"' });
      assert.equal(stale.status, 200);
    });

    // Mutation: delete `if (header.trim() === '*') return true;` in etagMatches (src/api/rest/app.ts).
    it('answers 304 to If-None-Match: * for a service that exists, and 404 for one that does not', async () => {
      for (const star of ['*', ' * ']) {
        const any = await get(`${t.url}/v1/namespaces/shop/services/web`, { 'If-None-Match': star });
        assert.equal(any.status, 304, `If-None-Match: '${star}'`);
        assert.equal(any.text, '');
        assert.match(any.headers.etag ?? '', /^"[A-Za-z0-9_-]+"$/);
      }
      const unknown = await get(`${t.url}/v1/namespaces/shop/services/nothing`, { 'If-None-Match': '*' });
      assert.equal(unknown.status, 404);
    });

    it('answers an empty list for a service with zero endpoints, and 404 for an unknown one', async () => {
      const idle = await get(`${t.url}/v1/namespaces/shop/services/idle`);
      assert.equal(idle.status, 200);
      assert.deepEqual(idle.json<ServiceBody>().endpoints, []);
      const unknown = await get(`${t.url}/v1/namespaces/shop/services/nothing`);
      assert.equal(unknown.status, 404);
      assert.equal(unknown.headers['content-type'], 'application/problem+json; charset=utf-8');
      const problem = unknown.json<ProblemBody>();
      assert.equal(problem.status, 404);
      assert.match(problem.detail, /shop\/nothing is not known/);
    });

    it('refuses invalid names and bad parameters with 400, naming each', async () => {
      const answer = await get(
        `${t.url}/v1/namespaces/UPPER/services/-web-?endpoints=some&port=99999&wait=forever&colour=blue`,
      );
      assert.equal(answer.status, 400);
      const problem = answer.json<ProblemBody>();
      assert.equal(problem.status, 400);
      assert.deepEqual(problem.invalidParams?.map((p) => p.name).sort(), [
        'colour',
        'endpoints',
        'name',
        'namespace',
        'port',
        'wait',
      ]);
      for (const param of problem.invalidParams ?? []) assert.ok(param.reason.length > 10, param.name);
    });

    it('takes a port number only in its decimal form, as the xDS names do', async () => {
      const padded = await get(`${t.url}/v1/namespaces/shop/services/web?port=08080`);
      assert.equal(padded.status, 400);
      const [problem] = padded.json<ProblemBody>().invalidParams ?? [];
      assert.equal(problem?.name, 'port');
      assert.match(problem?.reason ?? '', /without leading zeros: 8080, not 08080/);
      assert.notEqual((await get(`${t.url}/v1/namespaces/shop/services/web?port=8080`)).status, 400);
    });

    it('refuses a parameter given twice, a wait over five minutes and an over-long name', async () => {
      const twice = await get(`${t.url}/v1/namespaces/shop/services/web?port=http&port=metrics`);
      assert.equal(twice.status, 400);
      assert.match(twice.json<ProblemBody>().detail, /port: must be given once/);
      const long = await get(`${t.url}/v1/namespaces/shop/services/web?wait=6m`);
      assert.equal(long.status, 400);
      const name = await get(`${t.url}/v1/namespaces/shop/services/${'a'.repeat(64)}`);
      assert.equal(name.status, 400);
      assert.match(name.json<ProblemBody>().detail, /no more than 63 characters/);
    });

    it('answers unknown routes with a 404 problem', async () => {
      const answer = await get(`${t.url}/v2/anything`);
      assert.equal(answer.status, 404);
      assert.equal(answer.json<ProblemBody>().title, 'Not Found');
    });
  });

  describe('long-poll', () => {
    it('answers without waiting when the version differs from the one given', async () => {
      const started = Date.now();
      const answer = await get(`${t.url}/v1/namespaces/shop/services/cart?wait=60s&version=old`);
      assert.equal(answer.status, 200);
      assert.equal(answer.json<ServiceBody>().name, 'cart');
      // A generous bound: well under the 60 s a poll that waited would take, whatever the machine's load.
      assert.ok(Date.now() - started < 30_000, 'answered long before the wait ended');
    });

    it('holds the poll open until the service changes, then answers the new state', async () => {
      const current = (await get(`${t.url}/v1/namespaces/shop/services/cart`)).json<ServiceBody>();
      const polling = get(`${t.url}/v1/namespaces/shop/services/cart?wait=30s&version=${current.version}`);
      // The poll is pending (counted as a subscriber) before anything changes: an answer now would be the old state.
      await subscribersReach(t.url, 'rest', 1);
      await t.write('cart.yaml', sliceManifest('shop', 'cart', ['10.0.1.1', '10.0.1.2']));
      const answer = await polling;
      assert.equal(answer.status, 200);
      const body = answer.json<ServiceBody>();
      assert.notEqual(body.version, current.version);
      assert.deepEqual(
        body.endpoints.map((e) => e.addresses[0]),
        ['10.0.1.1', '10.0.1.2'],
      );
      assert.equal(answer.headers.etag, `"${body.version}"`);
      await subscribersReach(t.url, 'rest', 0);
    });

    it('holds the poll open for the whole wait, then answers the unchanged state', async () => {
      const current = (await get(`${t.url}/v1/namespaces/billing/services/api`)).json<ServiceBody>();
      const started = performance.now();
      const polling = get(`${t.url}/v1/namespaces/billing/services/api?wait=1s&version=${current.version}`);
      await subscribersReach(t.url, 'rest', 1);
      const answer = await polling;
      // A lower bound only (load can only make it later): the server did not answer before the wait ended.
      assert.ok(performance.now() - started >= 990, 'not answered before the wait ended');
      assert.equal(await metricValue(t.url, 'endpointd_subscribers{door="rest"}'), 0);
      assert.equal(answer.status, 200);
      assert.equal(answer.json<ServiceBody>().version, current.version);
    });

    it('without a version, waits for an unknown service to appear', async () => {
      const polling = get(`${t.url}/v1/namespaces/shop/services/later?wait=30s`);
      await subscribersReach(t.url, 'rest', 1);
      await t.write('later.yaml', sliceManifest('shop', 'later', ['10.0.9.1']));
      const answer = await polling;
      assert.equal(answer.status, 200);
      assert.equal(answer.json<ServiceBody>().name, 'later');
      await t.remove('later.yaml');
    });

    it('answers 404 when the service is deleted while waiting', async () => {
      await t.write('doomed.yaml', sliceManifest('shop', 'doomed', ['10.0.8.1']));
      const body = await waitForService(t, 'shop', 'doomed');
      const polling = get(`${t.url}/v1/namespaces/shop/services/doomed?wait=30s&version=${body.version}`);
      await subscribersReach(t.url, 'rest', 1);
      await t.remove('doomed.yaml');
      assert.equal((await polling).status, 404);
    });
  });

  describe('watch streams', () => {
    it('streams NDJSON: the current state, SYNCED, then each change and the deletion', async () => {
      await t.write('stream.yaml', sliceManifest('shop', 'stream', ['10.0.5.1']));
      await waitForService(t, 'shop', 'stream');
      const stream = await EventStream.open(`${t.url}/v1/namespaces/shop/services/stream/watch`);
      try {
        assert.equal(stream.response.headers['content-type'], 'application/x-ndjson');
        const first = await stream.next();
        assert.equal(first.data.type, 'ADDED');
        assert.deepEqual(
          (first.data.service as ServiceBody).endpoints.map((e) => e.addresses[0]),
          ['10.0.5.1'],
        );
        assert.equal((await stream.next()).data.type, 'SYNCED');
        await t.write('stream.yaml', sliceManifest('shop', 'stream', ['10.0.5.1', '10.0.5.2']));
        const modified = await stream.next();
        assert.equal(modified.data.type, 'MODIFIED');
        assert.deepEqual(
          (modified.data.service as ServiceBody).endpoints.map((e) => e.addresses[0]),
          ['10.0.5.1', '10.0.5.2'],
        );
        assert.equal(modified.data.version, (modified.data.service as ServiceBody).version);
        await t.remove('stream.yaml');
        assert.deepEqual((await stream.next()).data, { type: 'DELETED', namespace: 'shop', name: 'stream' });
      } finally {
        stream.close();
      }
    });

    it('reports a service that does not exist yet as ABSENT, and waits for it', async () => {
      const stream = await EventStream.open(`${t.url}/v1/namespaces/shop/services/future/watch`);
      try {
        assert.deepEqual((await stream.next()).data, { type: 'ABSENT', namespace: 'shop', name: 'future' });
        assert.equal((await stream.next()).data.type, 'SYNCED');
        await t.write('future.yaml', sliceManifest('shop', 'future', ['10.0.6.1']));
        const added = await stream.next();
        assert.equal(added.data.type, 'ADDED');
        assert.equal(added.data.name, 'future');
      } finally {
        stream.close();
        await t.remove('future.yaml');
      }
    });

    it('streams SSE with the version as event id, and resumes from Last-Event-ID without resending', async () => {
      await t.write('sse.yaml', sliceManifest('shop', 'sse', ['10.0.7.1']));
      const current = await waitForService(t, 'shop', 'sse');
      const stream = await EventStream.open(`${t.url}/v1/namespaces/shop/services/sse/watch`, {
        Accept: 'text/event-stream',
      });
      try {
        assert.match(stream.response.headers['content-type'] ?? '', /^text\/event-stream/);
        const first = await stream.next();
        assert.equal(first.data.type, 'ADDED');
        assert.equal(first.id, current.version);
      } finally {
        stream.close();
      }
      const resumed = await EventStream.open(`${t.url}/v1/namespaces/shop/services/sse/watch`, {
        Accept: 'text/event-stream',
        'Last-Event-ID': current.version,
      });
      try {
        assert.equal((await resumed.next()).data.type, 'SYNCED', 'nothing resent when nothing changed');
        await t.write('sse.yaml', sliceManifest('shop', 'sse', ['10.0.7.2']));
        const modified = await resumed.next();
        assert.equal(modified.data.type, 'MODIFIED');
        assert.notEqual(modified.id, current.version);
        assert.equal(modified.id, modified.data.version);
      } finally {
        resumed.close();
      }
      const stale = await EventStream.open(
        `${t.url}/v1/namespaces/shop/services/sse/watch?version=${current.version}`,
      );
      try {
        assert.equal((await stale.next()).data.type, 'ADDED', 'a client behind is sent the current state');
      } finally {
        stale.close();
        await t.remove('sse.yaml');
      }
    });

    it('watches a namespace: every service first, SYNCED, then changes of that namespace only', async () => {
      const stream = await EventStream.open(`${t.url}/v1/watch?namespace=billing`);
      try {
        const initial = await stream.until('SYNCED');
        assert.deepEqual(
          initial.map((e) => [e.data.type, e.data.name]),
          [
            ['ADDED', 'api'],
            ['SYNCED', undefined],
          ],
        );
        await t.write('shop-noise.yaml', sliceManifest('shop', 'noise', ['10.0.3.1']));
        await t.write('billing/worker.yaml', sliceManifest('billing', 'worker', ['10.0.4.1']));
        const next = await stream.next();
        assert.deepEqual(
          [next.data.type, next.data.namespace, next.data.name],
          ['ADDED', 'billing', 'worker'],
        );
      } finally {
        stream.close();
        await t.remove('shop-noise.yaml');
        await t.remove('billing/worker.yaml');
      }
    });

    it('watches everything as SSE, with targets for the port asked', async () => {
      const stream = await EventStream.open(`${t.url}/v1/watch?port=http`, { Accept: 'text/event-stream' });
      try {
        const initial = await stream.until('SYNCED');
        const names = initial
          .filter((e) => e.data.type === 'ADDED')
          .map((e) => `${String(e.data.namespace)}/${String(e.data.name)}`);
        assert.ok(names.includes('shop/web') && names.includes('billing/api'), names.join());
        const web = initial.find((e) => e.data.name === 'web');
        assert.deepEqual((web?.data.service as ServiceBody).targets?.length, 2);
        assert.equal(web?.id, undefined, 'multi-service streams carry no event id');
      } finally {
        stream.close();
      }
    });

    it('refuses a watch with bad parameters before streaming', async () => {
      const answer = await get(`${t.url}/v1/watch?namespace=-bad-&endpoints=x`);
      assert.equal(answer.status, 400);
      assert.deepEqual(
        answer
          .json<ProblemBody>()
          .invalidParams?.map((p) => p.name)
          .sort(),
        ['endpoints', 'namespace'],
      );
    });
  });

  describe('metrics', () => {
    it('serves Prometheus metrics: store sizes, source state, requests by route pattern, rejections', async () => {
      await get(`${t.url}/v1/namespaces/shop/services/web`);
      await get(`${t.url}/v1/namespaces/shop/services/web?port=-`);
      const answer = await get(`${t.url}/metrics`);
      assert.equal(answer.status, 200);
      assert.match(answer.headers['content-type'] ?? '', /text\/plain/);
      const value = (pattern: RegExp): number => Number(pattern.exec(answer.text)?.[1]);
      assert.ok(value(/^endpointd_services (\d+)$/m) >= 4);
      assert.ok(value(/^endpointd_endpoints (\d+)$/m) >= 6);
      assert.equal(value(/^endpointd_source_synced\{source="file:[^"]+"\} (\d+)$/m), 1);
      assert.ok(
        value(
          /^endpointd_http_requests_total\{route="\/v1\/namespaces\/:namespace\/services\/:name",method="GET",code="200"\} (\d+)$/m,
        ) >= 1,
      );
      assert.ok(value(/^endpointd_rejected_requests_total\{door="rest",reason="bad_request"\} (\d+)$/m) >= 1);
      assert.match(answer.text, /^endpointd_source_seconds_since_sync\{source="file:/m);
    });
  });

  describe('health', () => {
    it('answers /healthz and /readyz with the sources detail', async () => {
      assert.equal((await get(`${t.url}/healthz`)).status, 200);
      const ready = await get(`${t.url}/readyz`);
      assert.equal(ready.status, 200);
      const detail = ready.json<{ ready: boolean; sources: Array<{ name: string; synced: boolean }> }>();
      assert.equal(detail.ready, true);
      assert.equal(detail.sources[0]?.synced, true);
      assert.match(detail.sources[0]?.name ?? '', /^file:/);
    });
  });
});

describe('REST API heartbeats', () => {
  it('sends a heartbeat carrying the current version on a quiet one-service stream', async () => {
    const t = await startTestEndpointd(
      { 'web.yaml': sliceManifest('shop', 'web', ['10.0.0.1']) },
      { heartbeatIntervalMs: 150 },
    );
    try {
      const stream = await EventStream.open(`${t.url}/v1/namespaces/shop/services/web/watch`);
      const [added] = await stream.until('SYNCED');
      const heartbeat = await stream.next(1000);
      assert.deepEqual(heartbeat.data, { type: 'HEARTBEAT', version: added?.data.version });
      stream.close();
      const all = await EventStream.open(`${t.url}/v1/watch`, { Accept: 'text/event-stream' });
      await all.until('SYNCED');
      assert.deepEqual((await all.next(1000)).data, { type: 'HEARTBEAT' });
      all.close();
    } finally {
      await t.stop();
    }
  });
});

function waitForService(t: TestEndpointd, namespace: string, name: string): Promise<ServiceBody> {
  return eventually(async () => {
    const answer = await get(`${t.url}/v1/namespaces/${namespace}/services/${name}`);
    return answer.status === 200 ? answer.json<ServiceBody>() : undefined;
  });
}
