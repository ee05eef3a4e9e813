// One bounded cache holds every door's encoded forms (src/store/encoded-cache.ts): REST bodies, endpointd.v1
// messages and xDS resources all count against --encoded-cache-size and in endpointd_encoded_cache_{bytes,entries}.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { TYPE_URL } from '../src/api/xds/wire.ts';
import { EncodedCache } from '../src/store/encoded-cache.ts';
import { TestClient } from './support/grpc-discovery.ts';
import { sliceManifest, startTestEndpointd, type TestEndpointd } from './support/endpointd.ts';
import { metricValue } from './support/http.ts';
import { rawSotw, type RawResponse } from './support/xds-harness.ts';

const BOUND = 24 * 1024;

function manifests(count: number): Record<string, string> {
  const files: Record<string, string> = {};
  for (let i = 0; i < count; i += 1) {
    const ips = Array.from({ length: 20 }, (_, j) => `10.${i}.0.${j + 1}`);
    files[`svc-${i}.yaml`] = sliceManifest('shop', `svc-${i}`, ips);
  }
  return files;
}

describe('the encoded-form cache', () => {
  it('never holds more than its bound, whatever forms of whatever sizes are asked for', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1024, max: 64 * 1024 }),
        fc.array(
          fc.record({
            service: fc.integer({ min: 0, max: 20 }),
            version: fc.constantFrom('v1', 'v2', ''),
            form: fc.constantFrom(
              'rest:routable:',
              'grpc:resolve:all:',
              'xds:i:e:web.shop:80',
              'xds:i:c:web.shop:80',
            ),
          }),
          { maxLength: 200 },
        ),
        // An encoding is a function of (service, version, form): its size too.
        fc.func(fc.integer({ min: 0, max: 80 * 1024 })),
        (bound, asks, sizeOf) => {
          const cache = new EncodedCache(bound);
          for (const ask of asks) {
            const state = { namespace: 'shop', name: `svc-${ask.service}`, version: ask.version };
            const size = sizeOf(ask.service, ask.version, ask.form);
            const value = cache.get(state, ask.form, () => Buffer.alloc(size));
            assert.equal(value.byteLength, size, 'the caller always gets that encoding');
            assert.ok(cache.stats().bytes <= bound, `${cache.stats().bytes} bytes held over ${bound}`);
          }
        },
      ),
    );
  });

  describe('in endpointd, shared by REST, gRPC and xDS', () => {
    let e: TestEndpointd;
    let grpc: TestClient;
    before(async () => {
      e = await startTestEndpointd(manifests(12), { encodedCacheBytes: BOUND });
      grpc = new TestClient(`127.0.0.1:${e.endpointd.grpcPort}`);
    });
    after(async () => {
      grpc.client.close();
      await e.stop();
    });

    const held = async (): Promise<{ bytes: number; entries: number }> => ({
      bytes: (await metricValue(e.url, 'endpointd_encoded_cache_bytes')) ?? -1,
      entries: (await metricValue(e.url, 'endpointd_encoded_cache_entries')) ?? -1,
    });

    it('counts xDS resources in the metric, next to the other doors', async () => {
      const start = await held();
      const ads = rawSotw(e.endpointd.grpcPort);
      try {
        ads.send({ type_url: TYPE_URL.endpoint, resource_names: ['svc-0.shop:8080', 'svc-0.shop:http'] });
        await ads.next(5000);
      } finally {
        ads.close();
      }
      const afterXds = await held();
      assert.equal(afterXds.entries, start.entries + 2, 'one entry per assignment encoded');
      assert.ok(afterXds.bytes > start.bytes, 'and their bytes');
      await fetch(`${e.url}/v1/namespaces/shop/services/svc-0`).then((r) => r.arrayBuffer());
      assert.equal((await held()).entries, afterXds.entries + 1, 'a REST body is one more');
      await grpc.resolve({ namespace: 'shop', name: 'svc-0' });
      assert.equal((await held()).entries, afterXds.entries + 2, 'and a Resolve answer one more');
    });

    it('keeps every form of every door under --encoded-cache-size together', async () => {
      const ads = rawSotw(e.endpointd.grpcPort);
      let last: RawResponse | undefined;
      try {
        for (let i = 0; i < 12; i += 1) {
          await fetch(`${e.url}/v1/namespaces/shop/services/svc-${i}?endpoints=all&port=http`).then((r) =>
            r.arrayBuffer(),
          );
          await grpc.resolve({ namespace: 'shop', name: `svc-${i}`, endpoints: 'ENDPOINT_SET_ALL' });
          // Each request quotes the last response (an ACK that adds a name), or it would be stale and ignored.
          ads.send({
            type_url: TYPE_URL.cluster,
            resource_names: Array.from({ length: i + 1 }, (_, j) => `svc-${j}.shop:http`),
            ...(last === undefined ? {} : { version_info: last.version_info, response_nonce: last.nonce }),
          });
          last = await ads.next(5000);
          assert.equal(last.resources.length, i + 1);
          const now = await held();
          assert.ok(now.bytes <= BOUND, `${now.bytes} bytes held after service ${i}, over ${BOUND}`);
          assert.ok(now.bytes > 0 && now.entries > 0);
        }
      } finally {
        ads.close();
      }
      // Evicted forms are made again on demand: every door still answers in full.
      const body = (await (await fetch(`${e.url}/v1/namespaces/shop/services/svc-0?port=http`)).json()) as {
        targets: unknown[];
      };
      assert.equal(body.targets.length, 20);
    });
  });
});
