// GET /v1/xds/bootstrap: a bootstrap grpc-js-xds accepts as is, pointing at the host the caller used.
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
    const response = await fetch(`${base}/v1/xds/bootstrap?node=checkout-7`);
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
    const bad = await fetch(`${base}/v1/xds/bootstrap?node=${encodeURIComponent('a b')}`);
    assert.equal(bad.status, 400);
    assert.match(bad.headers.get('content-type') ?? '', /application\/problem\+json/);
    assert.equal((await fetch(`${base}/v1/xds/bootstrap?nod=x`)).status, 400);
  });
});
