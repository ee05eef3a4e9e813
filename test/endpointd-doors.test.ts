// The composition root wires every door to the same store: what REST answers, gRPC answers too, with the same
// content version; and stopping it ends the streams of both doors.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ServiceBody } from '../src/api/rest/wire.ts';
import { sliceManifest, startTestEndpointd } from './support/endpointd.ts';
import { status } from '@grpc/grpc-js';
import { TestClient, type DecodedService } from './support/grpc-discovery.ts';
import { EventStream, get } from './support/http.ts';

describe('endpointd, every door', () => {
  it('serves one state over REST and gRPC with the same version, and ends the open watches of both on stop', async () => {
    const t = await startTestEndpointd({
      'web.yaml': sliceManifest('shop', 'web', ['10.0.0.1', '10.0.0.2']),
    });
    const client = new TestClient(`127.0.0.1:${t.endpointd.grpcPort}`);
    try {
      const rest = (await get(`${t.url}/v1/namespaces/shop/services/web`)).json<ServiceBody>();
      const grpc = await client.unary<{ service: DecodedService }>('endpointd.v1.Discovery', 'Resolve', {
        namespace: 'shop',
        name: 'web',
      });
      assert.equal(grpc.service.version, rest.version);
      assert.deepEqual(
        grpc.service.endpoints.map((e) => e.addresses[0]),
        rest.endpoints.map((e) => e.addresses[0]),
      );
      const health = await client.unary<{ status: string }>('grpc.health.v1.Health', 'Check', {
        service: '',
      });
      assert.equal(health.status, 'SERVING');

      // A watch open on each door, both past their first snapshot: stop() must end them, not wait for them.
      const restWatch = await EventStream.open(`${t.url}/v1/watch`);
      await restWatch.until('SYNCED');
      const grpcWatch = client.watch({ services: [{ namespace: 'shop', name: 'web' }] });
      await grpcWatch.until((m) => m.event === 'synced');
      await t.stop();
      await assert.rejects(restWatch.next(10_000), /stream ended/, 'the REST watch was ended');
      assert.equal(await grpcWatch.ended(10_000), status.UNAVAILABLE, 'the gRPC watch ended UNAVAILABLE');
    } finally {
      client.client.close();
      await t.stop();
    }
  });
});
