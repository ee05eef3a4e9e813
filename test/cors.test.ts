// CORS on the REST door, spoken to as browsers speak it: preflights (OPTIONS, without credentials) answered before
// authentication, exact origins echoed with credentials allowed, `*` for any origin without them, other origins
// given no CORS headers — and the flag's values checked at start.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseCommandLine } from '../src/config/index.ts';
import { sliceManifest, startTestEndpointd, TEST_CONFIG, type TestEndpointd } from './support/endpointd.ts';

const PAGE = 'http://127.0.0.1:3000';
const FILES = { 'web.yaml': sliceManifest('shop', 'web', ['10.0.0.1']) };

function preflight(url: string, origin: string, headers = 'authorization, last-event-id'): Promise<Response> {
  return fetch(url, {
    method: 'OPTIONS',
    headers: {
      Origin: origin,
      'Access-Control-Request-Method': 'GET',
      'Access-Control-Request-Headers': headers,
    },
  });
}

describe('CORS with exact origins and authentication on', () => {
  let t: TestEndpointd;
  let dir: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'endpointd-cors-'));
    const tokensFile = join(dir, 'tokens');
    await writeFile(tokensFile, 'page-token\n');
    t = await startTestEndpointd(FILES, {
      cors: { allowOrigins: [PAGE, 'https://dash.example.com'] },
      security: { ...TEST_CONFIG.security, auth: { ...TEST_CONFIG.security.auth, tokensFile } },
    });
  });
  after(async () => {
    await t.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('answers a preflight without credentials with 204 and what the page may send, on every API path', async () => {
    for (const path of [
      '/v1/services',
      '/v1/namespaces/shop/services/web/watch',
      '/v1/watch?namespace=shop',
      '/readyz',
    ]) {
      const answer = await preflight(`${t.url}${path}`, PAGE);
      assert.equal(answer.status, 204, path);
      assert.equal(answer.headers.get('access-control-allow-origin'), PAGE);
      assert.equal(answer.headers.get('access-control-allow-credentials'), 'true');
      const allowed = (answer.headers.get('access-control-allow-headers') ?? '').toLowerCase().split(/,\s*/);
      for (const header of ['authorization', 'last-event-id', 'if-none-match'])
        assert.ok(allowed.includes(header));
      assert.match(answer.headers.get('access-control-allow-methods') ?? '', /GET/);
      assert.match(answer.headers.get('vary') ?? '', /Origin/);
    }
  });

  it('puts the CORS headers on real answers, refusals included, so the page can read a 401 and ask for a token', async () => {
    const refused = await fetch(`${t.url}/v1/services`, { headers: { Origin: PAGE } });
    assert.equal(refused.status, 401);
    assert.equal(refused.headers.get('access-control-allow-origin'), PAGE);
    assert.match(refused.headers.get('access-control-expose-headers') ?? '', /WWW-Authenticate/);

    const lookup = await fetch(`${t.url}/v1/namespaces/shop/services/web`, {
      headers: { Origin: 'https://dash.example.com', Authorization: 'Bearer page-token' },
    });
    assert.equal(lookup.status, 200);
    assert.equal(lookup.headers.get('access-control-allow-origin'), 'https://dash.example.com');
    assert.match(lookup.headers.get('access-control-expose-headers') ?? '', /ETag/);
  });

  it('gives other origins no CORS headers, and refuses their preflights with a 403 that says why', async () => {
    for (const origin of [
      'http://127.0.0.1:3001',
      'https://dash.example.com.evil.test',
      'null',
      'HTTP://127.0.0.1:3000',
    ]) {
      const answer = await preflight(`${t.url}/v1/services`, origin);
      assert.equal(answer.status, 403, origin);
      assert.equal(answer.headers.get('access-control-allow-origin'), null);
      assert.match(((await answer.json()) as { detail: string }).detail, /not one of --cors-allow-origin/);
      const real = await fetch(`${t.url}/v1/services`, {
        headers: { Origin: origin, Authorization: 'Bearer page-token' },
      });
      assert.equal(real.status, 200, 'answered: the browser, not the server, keeps it from the page');
      assert.equal(real.headers.get('access-control-allow-origin'), null);
    }
  });

  it('leaves requests without Origin (curl, servers) exactly as before, and OPTIONS without a preflight to the gate', async () => {
    const plain = await fetch(`${t.url}/v1/services`, { headers: { Authorization: 'Bearer page-token' } });
    assert.equal(plain.status, 200);
    assert.equal(plain.headers.get('access-control-allow-origin'), null);
    const options = await fetch(`${t.url}/v1/services`, { method: 'OPTIONS' });
    assert.equal(options.status, 401, 'not a preflight: authentication applies');
  });
});

describe('CORS with * and with none', () => {
  it('with *: any origin, and never the credentials header', async () => {
    const t = await startTestEndpointd(FILES, { cors: { allowOrigins: ['*'] } });
    try {
      const answer = await preflight(`${t.url}/v1/services`, 'https://anywhere.example');
      assert.equal(answer.status, 204);
      assert.equal(answer.headers.get('access-control-allow-origin'), '*');
      assert.equal(answer.headers.get('access-control-allow-credentials'), null);
      const real = await fetch(`${t.url}/v1/services`, { headers: { Origin: 'https://anywhere.example' } });
      assert.equal(real.headers.get('access-control-allow-origin'), '*');
    } finally {
      await t.stop();
    }
  });

  it('with none (the default): preflights get a 403 naming the flag to set', async () => {
    const t = await startTestEndpointd(FILES);
    try {
      const answer = await preflight(`${t.url}/v1/services`, PAGE);
      assert.equal(answer.status, 403);
      assert.match(
        ((await answer.json()) as { detail: string }).detail,
        /start endpointd with --cors-allow-origin http:\/\/127\.0\.0\.1:3000/,
      );
    } finally {
      await t.stop();
    }
  });
});

describe('--cors-allow-origin', () => {
  const parse = (args: string[], env: Record<string, string> = {}): ReturnType<typeof parseCommandLine> =>
    parseCommandLine(args, env);

  it('takes exact origins, repeated or comma-separated in ENDPOINTD_CORS_ALLOW_ORIGIN', () => {
    const flags = parse(['--cors-allow-origin', PAGE, '--cors-allow-origin', 'https://[::1]:8443']);
    assert.equal(flags.kind, 'run');
    assert.deepEqual(flags.kind === 'run' && flags.config.cors, {
      allowOrigins: [PAGE, 'https://[::1]:8443'],
    });
    const env = parse([], { ENDPOINTD_CORS_ALLOW_ORIGIN: `${PAGE}, https://dash.example.com` });
    assert.deepEqual(env.kind === 'run' && env.config.cors, {
      allowOrigins: [PAGE, 'https://dash.example.com'],
    });
    const none = parse([]);
    assert.deepEqual(none.kind === 'run' && none.config.cors, { allowOrigins: [] });
  });

  it('refuses what a browser would never send as an origin, naming the value', () => {
    for (const [value, reason] of [
      ['http://127.0.0.1:3000/', /no path, no trailing slash/],
      ['https://dash.example.com/ui', /no path/],
      ['https://Dash.example.com', /lower-case/],
      ['https://dash.example.com:443', /no default port/],
      ['dash.example.com', /must be an origin such as/],
      ['ftp://files.example.com', /http: or https:/],
    ] as const) {
      const parsed = parse(['--cors-allow-origin', value]);
      assert.equal(parsed.kind, 'invalid', value);
      assert.match(parsed.kind === 'invalid' ? parsed.problems.join('\n') : '', reason);
      assert.match(parsed.kind === 'invalid' ? parsed.problems.join('\n') : '', /--cors-allow-origin/);
    }
  });

  it('refuses * beside other origins, and * with client certificates (browsers send those only to listed origins)', () => {
    const mixed = parse(['--cors-allow-origin', '*', '--cors-allow-origin', PAGE]);
    assert.match(mixed.kind === 'invalid' ? mixed.problems.join('\n') : '', /either \* or a list/);
    const mtls = parse([
      '--cors-allow-origin',
      '*',
      '--tls-cert-file',
      'c.pem',
      '--tls-key-file',
      'k.pem',
      '--tls-client-ca-file',
      'ca.pem',
    ]);
    assert.match(
      mtls.kind === 'invalid' ? mtls.problems.join('\n') : '',
      /cannot be \* with --tls-client-ca-file/,
    );
  });
});
