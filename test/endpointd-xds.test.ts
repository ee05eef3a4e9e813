// End to end through the composition root: EndpointSlice manifests on disk → the file source → the store → xDS,
// and a real @grpc/grpc-js-xds client configured with the bootstrap endpointd itself hands out.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { register } from '@grpc/grpc-js-xds';
import './support/xds-client-timers.ts';
import { startTestEndpointd, type TestEndpointd } from './support/endpointd.ts';
import { get } from './support/http.ts';
import { startBackends, who, type Backend } from './support/xds-harness.ts';

register();

/** A slice of Service shop/echo whose endpoints are the given backends, on port `grpc`. */
function echoSlice(backends: readonly Backend[]): string {
  const port = backends[0]?.port ?? 1;
  return `apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: echo-abcde
  namespace: shop
  labels: { kubernetes.io/service-name: echo }
addressType: IPv4
ports: [{ name: grpc, port: ${port}, protocol: TCP, appProtocol: kubernetes.io/h2c }]
endpoints:
${backends.map((b) => `  - addresses: ["${b.address}"]\n    conditions: { ready: true }\n`).join('')}`;
}

async function servedBy(client: grpc.Client, calls: number): Promise<string[]> {
  const ids = new Set<string>();
  for (let i = 0; i < calls; i += 1) ids.add(await who(client));
  return [...ids].sort();
}

describe('endpointd as an xDS control plane, from manifests to a grpc-js-xds client', () => {
  let backends: Backend[];
  let t: TestEndpointd;
  let client: grpc.Client;

  before(async () => {
    backends = await startBackends(3, 'echo');
    t = await startTestEndpointd({ 'echo.yaml': echoSlice(backends) });
  });
  after(async () => {
    client.close();
    await t.stop();
    await Promise.all(backends.map((b) => b.stop()));
  });

  it('hands out a bootstrap that works as is, and the client reaches every backend', async () => {
    const answer = await get(`${t.url}/v1/xds/bootstrap?id=e2e-client`);
    assert.equal(answer.status, 200);
    const bootstrap = answer.json<{ xds_servers: Array<{ server_uri: string }>; node: { id: string } }>();
    assert.equal(bootstrap.xds_servers[0]?.server_uri, `127.0.0.1:${t.endpointd.grpcPort}`);
    assert.equal(bootstrap.node.id, 'e2e-client');
    const port = backends[0]?.port ?? 0;
    client = new grpc.Client(`xds:///echo.shop:${port}`, grpc.credentials.createInsecure(), {
      'grpc.TEST_ONLY_DO_NOT_USE_IN_PROD.xds_bootstrap_config': answer.text,
    });
    assert.deepEqual(await servedBy(client, 12), ['echo1', 'echo2', 'echo3']);
  });

  it('follows an edit of the manifest: the removed backends stop being called', async () => {
    const started = Date.now();
    await t.write('echo.yaml', echoSlice(backends.slice(0, 1)));
    for (;;) {
      const ids = await servedBy(client, 6);
      if (ids.join() === 'echo1') break;
      // A generous bound (latency is the benchmark's business): the change must arrive, not arrive fast.
      assert.ok(
        Date.now() - started < 20_000,
        `still served by ${ids.join()} after ${Date.now() - started} ms`,
      );
    }
  });
});
