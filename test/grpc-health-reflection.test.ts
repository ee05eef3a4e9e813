// The standard services on the gRPC port: grpc.health.v1.Health follows readiness (and drops on shutdown), server
// reflection describes endpointd.v1.Discovery, and Watch streams carry heartbeats with the current versions.
import assert from 'node:assert/strict';
import { status } from '@grpc/grpc-js';
import { describe, it } from 'node:test';
import { eventually } from './support/http.ts';
import { sliceManifest, startTestEndpointd } from './support/endpointd.ts';
import { startTestGrpc, statusOf, TestClient, type DecodedWatchResponse } from './support/grpc-discovery.ts';
import { service } from './support/services.ts';

describe('gRPC health', () => {
  it('is NOT_SERVING until the first sync, SERVING then, and NOT_SERVING from shutdown on; watchers are told', async () => {
    const t = await startTestGrpc({ healthPollMs: 20 });
    const client = new TestClient(t.address);
    try {
      t.source.synced = false;
      assert.deepEqual(await client.healthCheck(''), { status: 'NOT_SERVING' });
      assert.deepEqual(await client.healthCheck('endpointd.v1.Discovery'), { status: 'NOT_SERVING' });
      const watcher = client.healthWatch('endpointd.v1.Discovery');
      assert.deepEqual(await watcher.next(), { status: 'NOT_SERVING' });

      t.source.synced = true;
      assert.deepEqual(await client.healthCheck(''), { status: 'SERVING' });
      assert.deepEqual(await watcher.next(), { status: 'SERVING' });

      t.readiness.beginShutdown();
      assert.deepEqual(await client.healthCheck('endpointd.v1.Discovery'), { status: 'NOT_SERVING' });
      assert.deepEqual(await watcher.next(), { status: 'NOT_SERVING' });
      await t.grpc.shutdown(1000);
      assert.equal(await watcher.ended(), status.UNAVAILABLE);
    } finally {
      client.close();
      await t.stop();
    }
  });

  it('answers NOT_FOUND for a service it does not report on, and reports services added by others', async () => {
    const t = await startTestGrpc();
    t.grpc.health.addService('envoy.service.discovery.v3.AggregatedDiscoveryService');
    const client = new TestClient(t.address);
    try {
      assert.equal((await statusOf(client.healthCheck('no.such.Service'))).code, status.NOT_FOUND);
      assert.deepEqual(await client.healthCheck('envoy.service.discovery.v3.AggregatedDiscoveryService'), {
        status: 'SERVING',
      });
      const unknown = client.healthWatch('no.such.Service');
      assert.deepEqual(await unknown.next(), { status: 'SERVICE_UNKNOWN' });
      unknown.cancel();
    } finally {
      client.close();
      await t.stop();
    }
  });
});

describe('gRPC server reflection', () => {
  it('lists the Discovery and Health services and describes Discovery without the proto file', async () => {
    const t = await startTestGrpc();
    const client = new TestClient(t.address);
    try {
      const listed = await client.reflect({ listServices: '*' });
      const names = listed.listServicesResponse?.service.map((s) => s.name) ?? [];
      assert.ok(names.includes('endpointd.v1.Discovery'), names.join(', '));
      assert.ok(names.includes('grpc.health.v1.Health'), names.join(', '));
      const described = await client.reflect({ fileContainingSymbol: 'endpointd.v1.Discovery' });
      const files = described.fileDescriptorResponse?.fileDescriptorProto ?? [];
      assert.ok(files.length > 0, 'a file descriptor came back');
      assert.ok(files.some((f) => f.includes('WatchResponse')));
    } finally {
      client.close();
      await t.stop();
    }
  });
});

describe('gRPC server reflection of the whole endpointd', () => {
  it('lists the xDS ADS service beside Discovery and Health, and describes it and the resources it carries', async () => {
    const t = await startTestEndpointd({ 'web.yaml': sliceManifest('shop', 'web', ['10.0.0.1']) });
    const client = new TestClient(`127.0.0.1:${t.endpointd.grpcPort}`);
    try {
      const listed = await client.reflect({ listServices: '*' });
      const names = (listed.listServicesResponse?.service.map((s) => s.name) ?? []).sort();
      assert.deepEqual(names, [
        'endpointd.v1.Discovery',
        'envoy.service.discovery.v3.AggregatedDiscoveryService',
        'grpc.health.v1.Health',
      ]);
      const ads = await client.reflect({
        fileContainingSymbol: 'envoy.service.discovery.v3.AggregatedDiscoveryService',
      });
      const adsFiles = ads.fileDescriptorResponse?.fileDescriptorProto ?? [];
      assert.ok(
        adsFiles.some((f) => f.includes('DeltaAggregatedResources')),
        'the ADS file is described',
      );
      // grpcurl decodes the Any resources of a response only if reflection can describe their types too.
      for (const symbol of [
        'envoy.config.endpoint.v3.ClusterLoadAssignment',
        'envoy.config.cluster.v3.Cluster',
        'envoy.config.listener.v3.Listener',
        'envoy.config.route.v3.RouteConfiguration',
      ]) {
        const described = await client.reflect({ fileContainingSymbol: symbol });
        assert.ok((described.fileDescriptorResponse?.fileDescriptorProto ?? []).length > 0, symbol);
      }
    } finally {
      client.close();
      await t.stop();
    }
  });
});

describe('gRPC Watch heartbeats', () => {
  it('carry the current versions of what is watched ("" for a service that does not exist)', async () => {
    const t = await startTestGrpc({ heartbeatMs: 100 });
    const client = new TestClient(t.address);
    t.store.upsert('test', service('shop', 'web', ['10.0.0.1']));
    const named = client.watch({
      services: [
        { namespace: 'shop', name: 'web' },
        { namespace: 'shop', name: 'ghost' },
      ],
    });
    const namespace = client.watch({ namespace: 'shop' });
    try {
      const isHeartbeat = (m: DecodedWatchResponse): boolean => m.event === 'heartbeat';
      const version = t.store.get({ namespace: 'shop', name: 'web' })?.version;
      const beat = (await named.until(isHeartbeat)).at(-1);
      assert.ok(beat?.event === 'heartbeat');
      assert.deepEqual(beat.heartbeat.versions, [
        { namespace: 'shop', name: 'web', version },
        { namespace: 'shop', name: 'ghost', version: '' },
      ]);
      const nsBeat = (await namespace.until(isHeartbeat)).at(-1);
      assert.ok(nsBeat?.event === 'heartbeat');
      assert.deepEqual(nsBeat.heartbeat.versions, [{ namespace: 'shop', name: 'web', version }]);

      t.store.upsert('test', service('shop', 'web', ['10.0.0.2']));
      const newer = t.store.get({ namespace: 'shop', name: 'web' })?.version;
      const after = await eventually(async () => {
        const m = await named.next();
        return m.event === 'heartbeat' ? m : undefined;
      });
      assert.equal(after.heartbeat.versions[0]?.version, newer, 'the heartbeat follows the change');
    } finally {
      named.cancel();
      namespace.cancel();
      client.close();
      await t.stop();
    }
  });
});
