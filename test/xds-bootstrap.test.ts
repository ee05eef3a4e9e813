// GET /v1/xds/bootstrap: a bootstrap grpc-js-xds accepts as is, pointing at the host the caller used, with the
// caller's locality (?zone=&node=&region=) in node.locality, checked as REST checks ?zone=/?node=.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import express from 'express';
import {
  buildBootstrap,
  createXdsBootstrapRouter,
  type XdsBootstrap,
} from '../src/api/xds/bootstrap-route.ts';

describe('GET /v1/xds/bootstrap', () => {
  let server: Server;
  let base: string;
  before(async () => {
    const app = express();
    app.use(createXdsBootstrapRouter({ grpcPort: () => 9090 }));
    server = createServer(app).listen(0, '127.0.0.1');
    await once(server, 'listening');
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('points at the host the caller used, with ignore_resource_deletion and a node locality', async () => {
    const response = await fetch(`${base}/v1/xds/bootstrap?id=checkout-7`);
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /application\/json/);
    const body = (await response.json()) as XdsBootstrap;
    assert.deepEqual(body, {
      xds_servers: [
        {
          server_uri: '127.0.0.1:9090',
          channel_creds: [{ type: 'insecure' }],
          server_features: ['xds_v3', 'ignore_resource_deletion'],
        },
      ],
      node: { id: 'checkout-7', locality: {} },
    });
  });

  it('asks for TLS channel credentials when the gRPC port serves TLS', () => {
    assert.deepEqual(buildBootstrap('endpointd.example', 9090, 'n', true).xds_servers[0]?.channel_creds, [
      { type: 'tls', config: {} },
    ]);
  });

  it('uses the Host header (IPv6 bracketed) and a default node id', async () => {
    const { request } = await import('node:http');
    const get = (host: string): Promise<XdsBootstrap> =>
      new Promise((resolve, reject) => {
        const req = request(`${base}/v1/xds/bootstrap`, { headers: { host } }, (res) => {
          let text = '';
          res.on('data', (chunk: Buffer) => (text += chunk.toString()));
          res.on('end', () => resolve(JSON.parse(text) as XdsBootstrap));
        });
        req.on('error', reject);
        req.end();
      });
    assert.equal(
      (await get('endpointd.tools.svc:8080')).xds_servers[0]?.server_uri,
      'endpointd.tools.svc:9090',
    );
    assert.equal((await get('[::1]:8080')).xds_servers[0]?.server_uri, '[::1]:9090');
    assert.equal((await get('endpointd.tools.svc')).node.id, 'endpointd-client');
  });

  it('refuses a bad node id and unknown parameters with a problem', async () => {
    const bad = await fetch(`${base}/v1/xds/bootstrap?id=${encodeURIComponent('a b')}`);
    assert.equal(bad.status, 400);
    assert.match(bad.headers.get('content-type') ?? '', /application\/problem\+json/);
    assert.equal((await fetch(`${base}/v1/xds/bootstrap?nod=x`)).status, 400);
  });

  it('fills node.locality from ?zone=, ?node= (sub_zone) and ?region=, each only when said', async () => {
    const locality = async (query: string): Promise<unknown> => {
      const response = await fetch(`${base}/v1/xds/bootstrap?${query}`);
      assert.equal(response.status, 200, query);
      return ((await response.json()) as XdsBootstrap).node.locality;
    };
    assert.deepEqual(await locality('zone=zone-a&node=node-1&region=eu-west1&id=app'), {
      zone: 'zone-a',
      sub_zone: 'node-1',
      region: 'eu-west1',
    });
    assert.deepEqual(await locality('zone=us-east-1a'), { zone: 'us-east-1a' });
    assert.deepEqual(await locality('node=ip-10-0-0-1.ec2.internal'), {
      sub_zone: 'ip-10-0-0-1.ec2.internal',
    });
    // An empty value is "not said", as on REST: grpc-js still gets the locality object it requires.
    assert.deepEqual(await locality('zone=&node=&region='), {});
    assert.deepEqual(await locality(''), {});
  });

  it('refuses zone, node and region values that are no label values, naming each, and repeated parameters', async () => {
    const problem = async (query: string): Promise<{ name: string; reason: string }[]> => {
      const response = await fetch(`${base}/v1/xds/bootstrap?${query}`);
      assert.equal(response.status, 400, query);
      assert.match(response.headers.get('content-type') ?? '', /application\/problem\+json/);
      return ((await response.json()) as { invalidParams: { name: string; reason: string }[] }).invalidParams;
    };
    const long = 'z'.repeat(64);
    const bad = await problem(`zone=${encodeURIComponent('zone a')}&node=-node&region=${long}`);
    assert.deepEqual(
      bad.map((p) => p.name),
      ['zone', 'node', 'region'],
    );
    assert.match(bad[0]?.reason ?? '', /"zone a" is not a valid zone name/);
    assert.match(bad[2]?.reason ?? '', /63 characters/);
    assert.deepEqual(
      (await problem('zone=a&zone=b')).map((p) => p.name),
      ['zone'],
    );
    assert.deepEqual(
      (await problem(`zone=${encodeURIComponent('a|r=x')}`)).map((p) => p.name),
      ['zone'],
    );
  });
});
