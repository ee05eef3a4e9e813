// TLS on both doors (REST https, gRPC and xDS on the TLS port), certificate rotation without a restart, and
// client certificates (mTLS) accepted, required, or refused.
import assert from 'node:assert/strict';
import { copyFile, rename, writeFile } from 'node:fs/promises';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { status } from '@grpc/grpc-js';
import { fetchWith, GrpcCaller, servedCertificateCn } from './support/auth-clients.ts';
import { eventually } from './support/http.ts';
import { sliceManifest, startTestEndpointd, TEST_CONFIG, type TestEndpointd } from './support/endpointd.ts';
import { generatePki, type TestPki } from './support/tls-pki.ts';
import { tlsMaterialProblem, type TlsConfig } from '../src/security/tls.ts';

const WEB = sliceManifest('demo', 'web', ['10.0.0.1']);

function withTls(tls: TlsConfig, tokensFile?: string): Partial<typeof TEST_CONFIG> {
  return {
    security: {
      ...TEST_CONFIG.security,
      tls,
      auth: { ...TEST_CONFIG.security.auth, tokensFile },
      reloadIntervalMs: 100,
    },
  };
}

let pki: TestPki;
before(async () => {
  pki = await generatePki();
});
after(() => pki.remove());

describe('TLS on both doors', () => {
  let e: TestEndpointd;
  let certFile: string;
  let keyFile: string;
  before(async () => {
    // Files of their own, so that the rotation test can replace them.
    certFile = join(pki.dir, 'serving.crt');
    keyFile = join(pki.dir, 'serving.key');
    await copyFile(pki.server1.certFile, certFile);
    await copyFile(pki.server1.keyFile, keyFile);
    e = await startTestEndpointd(
      { 'web.yaml': WEB },
      withTls({ certFile, keyFile, clientCaFile: undefined, clientAuth: 'require' }),
    );
  });
  after(() => e.stop());

  it('serves REST over https to a client trusting the CA, and refuses plain http and untrusting clients', async () => {
    const port = e.endpointd.httpAddress.port;
    const answer = await fetchWith(`https://127.0.0.1:${port}/v1/namespaces/demo/services/web`, {
      ca: pki.ca,
    });
    assert.equal(answer.status, 200);
    await assert.rejects(
      fetchWith(`https://127.0.0.1:${port}/healthz`),
      /self-signed|unable to verify|certificate/i,
    );
    await assert.rejects(fetchWith(`http://127.0.0.1:${port}/healthz`));
  });

  it('serves gRPC and ADS over TLS to a client with the CA as root, and not to a plaintext client', async () => {
    const secure = new GrpcCaller(e.endpointd.grpcPort, { ca: pki.ca });
    const plain = new GrpcCaller(e.endpointd.grpcPort);
    try {
      assert.equal((await secure.resolve('demo', 'web')).service.name, 'web');
      assert.equal(await secure.adsStatus(300), 'open', 'ADS is served on the TLS port');
      await assert.rejects(plain.resolve('demo', 'web'), (error: { code: number }) => {
        assert.equal(error.code, status.UNAVAILABLE);
        return true;
      });
    } finally {
      secure.close();
      plain.close();
    }
  });

  it('picks up a replaced certificate for new connections while open streams go on', async () => {
    const httpPort = e.endpointd.httpAddress.port;
    const grpcPort = e.endpointd.grpcPort;
    assert.equal(await servedCertificateCn(httpPort, pki.ca), 'endpointd-1');
    assert.equal(await servedCertificateCn(grpcPort, pki.ca, 'h2'), 'endpointd-1');
    const caller = new GrpcCaller(grpcPort, { ca: pki.ca });
    const watch = caller.watch();
    await watch.first;
    const https = await openHttpsStream(`https://127.0.0.1:${httpPort}/v1/watch`, pki.ca);

    // Rotate the way a Secret volume does: new files moved into place.
    await copyFile(pki.server2.certFile, `${certFile}.new`);
    await copyFile(pki.server2.keyFile, `${keyFile}.new`);
    await rename(`${keyFile}.new`, keyFile);
    await rename(`${certFile}.new`, certFile);
    // A poll between the two renames sees a mismatched pair: it is skipped, and the next poll applies the new one.
    const served = (port: number, alpn?: string) => () =>
      servedCertificateCn(port, pki.ca, alpn).then(
        (cn) => (cn === 'endpointd-2' ? true : undefined),
        () => undefined,
      );
    await eventually(served(httpPort), 5000);
    await eventually(served(grpcPort, 'h2'), 5000);

    const before = { grpc: watch.messages.length, rest: https.text().length };
    await e.write('api.yaml', sliceManifest('demo', 'api', ['10.0.0.9']));
    await eventually(() => (watch.messages.length > before.grpc ? true : undefined));
    await eventually(() => (https.text().slice(before.rest).includes('api') ? true : undefined));
    watch.cancel();
    https.close();
    caller.close();
  });
});

describe('client certificates (mTLS)', () => {
  let required: TestEndpointd;
  let optional: TestEndpointd;
  before(async () => {
    const tls = (clientAuth: 'require' | 'optional'): TlsConfig => ({
      certFile: pki.server1.certFile,
      keyFile: pki.server1.keyFile,
      clientCaFile: pki.caFile,
      clientAuth,
    });
    required = await startTestEndpointd({ 'web.yaml': WEB }, withTls(tls('require')));
    const tokens = join(pki.dir, 'mtls-tokens');
    await writeFile(tokens, 'good-token,ci\n');
    optional = await startTestEndpointd({ 'web.yaml': WEB }, withTls(tls('optional'), tokens));
  });
  after(() => Promise.all([required.stop(), optional.stop()]));

  it('require: accepts a certificate of the client CA on both doors and refuses none or a foreign one', async () => {
    const url = `https://127.0.0.1:${required.endpointd.httpAddress.port}/v1/namespaces/demo/services/web`;
    assert.equal((await fetchWith(url, { ca: pki.ca, client: pki.client })).status, 200);
    await assert.rejects(fetchWith(url, { ca: pki.ca }));
    await assert.rejects(fetchWith(url, { ca: pki.ca, client: pki.foreignClient }));

    const port = required.endpointd.grpcPort;
    const good = new GrpcCaller(port, { ca: pki.ca, client: pki.client });
    const none = new GrpcCaller(port, { ca: pki.ca });
    const foreign = new GrpcCaller(port, { ca: pki.ca, client: pki.foreignClient });
    try {
      assert.equal((await good.resolve('demo', 'web')).service.name, 'web');
      for (const bad of [none, foreign]) {
        await assert.rejects(bad.resolve('demo', 'web'), (error: { code: number }) => {
          assert.equal(error.code, status.UNAVAILABLE);
          return true;
        });
      }
    } finally {
      for (const c of [good, none, foreign]) c.close();
    }
  });

  it('optional: a verified certificate or a token authenticates; neither, or a foreign certificate alone, is 401', async () => {
    const url = `https://127.0.0.1:${optional.endpointd.httpAddress.port}/v1/namespaces/demo/services/web`;
    assert.equal((await fetchWith(url, { ca: pki.ca, client: pki.client })).status, 200);
    assert.equal((await fetchWith(url, { ca: pki.ca, token: 'good-token' })).status, 200);
    const none = await fetchWith(url, { ca: pki.ca });
    assert.equal(none.status, 401);
    assert.equal(none.headers['www-authenticate'], 'Bearer realm="endpointd"');
    assert.equal((await fetchWith(url, { ca: pki.ca, client: pki.foreignClient })).status, 401);

    const port = optional.endpointd.grpcPort;
    const cert = new GrpcCaller(port, { ca: pki.ca, client: pki.client });
    const token = new GrpcCaller(port, { ca: pki.ca, token: 'good-token' });
    const neither = new GrpcCaller(port, { ca: pki.ca, client: pki.foreignClient });
    try {
      assert.equal((await cert.resolve('demo', 'web')).service.name, 'web');
      assert.equal((await token.resolve('demo', 'web')).service.name, 'web');
      await assert.rejects(neither.resolve('demo', 'web'), (error: { code: number }) => {
        assert.equal(error.code, status.UNAUTHENTICATED);
        return true;
      });
    } finally {
      for (const c of [cert, token, neither]) c.close();
    }
  });
});

describe('TLS files read while they are being written', () => {
  // Every prefix of a file a copy or an agent can leave behind when the reload reads it mid-write: an unfinished
  // PEM block, or none, must never be applied (createSecureContext takes an empty or cut CA without complaint).
  it('refuses every cut of the certificate chain or the client CA that leaves a block unfinished or none', () => {
    const { cert, key } = pki.server1;
    const bundle = Buffer.concat([pki.ca, pki.client.cert]);
    assert.equal(tlsMaterialProblem({ cert, key, ca: bundle }), undefined, 'the whole files serve');
    // A cut that leaves whole blocks and nothing of the next one is a shorter bundle, and does serve.
    const END = '-----END CERTIFICATE-----';
    const firstEnd = bundle.indexOf(END) + END.length;
    const secondBegin = bundle.indexOf('-----BEGIN', firstEnd);
    const secondEnd = bundle.indexOf(END, secondBegin) + END.length;
    let refused = 0;
    for (let cut = 0; cut < bundle.length; cut++) {
      const problem = tlsMaterialProblem({ cert, key, ca: bundle.subarray(0, cut) });
      if ((cut >= firstEnd && cut <= secondBegin) || cut >= secondEnd) {
        assert.equal(
          problem,
          undefined,
          `cut at ${String(cut)}: a whole bundle was refused: ${problem ?? ''}`,
        );
      } else {
        assert.notEqual(
          problem,
          undefined,
          `the client CA cut at ${String(cut)} of ${String(bundle.length)} was taken`,
        );
        refused += 1;
      }
    }
    assert.ok(refused > bundle.length / 2);
    for (let cut = 0; cut < cert.indexOf(END) + END.length; cut += 7) {
      assert.notEqual(
        tlsMaterialProblem({ cert: cert.subarray(0, cut), key, ca: undefined }),
        undefined,
        `cert cut at ${String(cut)}`,
      );
    }
  });
});

/** An https watch stream whose text accumulates. */
async function openHttpsStream(url: string, ca: Buffer): Promise<{ text: () => string; close: () => void }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(url, { ca, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      resolve({ text: () => text, close: () => req.destroy() });
    });
    req.on('error', reject);
    req.end();
  });
}
