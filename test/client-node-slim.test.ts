// src/kube/client-node.ts loads client-node's KubeConfig without the package's generated API: these check that the
// generated classes and models stay unloaded, that KubeConfig still authenticates requests as client-node does, and
// that the slim stand-in exports every name KubeConfig's module imports from the generated index.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import * as slim from '../src/kube/client-node-generated-slim.ts';
import { GENERATED_INDEX_SPECIFIER } from '../src/kube/client-node.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CONFIG_JS = createRequire(import.meta.url)
  .resolve('@kubernetes/client-node/package.json')
  .replace(/package\.json$/, 'dist/config.js');

describe("client-node's KubeConfig without its generated API", () => {
  it('loads no generated API class or model, and KubeConfig authenticates a request with the kubeconfig user', () => {
    // A child process records every module URL it resolves (a hook registered before endpointd's module loads).
    const script = `
      import { registerHooks } from 'node:module';
      const urls = [];
      registerHooks({ resolve(s, c, next) { const r = next(s, c); urls.push(r.url); return r; } });
      const { loadKubeConfig } = await import('./src/kube/kubeconfig.ts');
      const { HttpMethod, RequestContext } = await import('./src/kube/client-node.ts');
      const { writeFileSync, mkdtempSync } = await import('node:fs');
      const dir = mkdtempSync('/tmp/endpointd-slim-');
      writeFileSync(dir + '/kubeconfig', [
        'apiVersion: v1', 'kind: Config', 'current-context: x',
        'clusters: [{name: c, cluster: {server: "https://127.0.0.1:6443/", insecure-skip-tls-verify: true}}]',
        'users: [{name: u, user: {token: s3cret}}]',
        'contexts: [{name: x, context: {cluster: c, user: u, namespace: shop}}]',
      ].join('\\n'));
      const { config } = loadKubeConfig({ kubeconfig: dir + '/kubeconfig' });
      const context = new RequestContext('https://127.0.0.1:6443/api/v1/services', HttpMethod.GET);
      await config.applySecurityAuthentication(context);
      console.log(JSON.stringify({
        urls: urls.filter((u) => u.includes('/@kubernetes/client-node/')),
        headers: context.getHeaders(),
        server: config.getCurrentCluster().server,
        namespace: config.getContextObject('x').namespace,
      }));
    `;
    const ran = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      cwd: ROOT,
      encoding: 'utf8',
    });
    assert.equal(ran.status, 0, ran.stderr);
    assert.equal(ran.stderr, '', 'no warning either');
    const seen = JSON.parse(ran.stdout) as {
      urls: string[];
      headers: Record<string, string>;
      server: string;
      namespace: string;
    };
    assert.ok(
      seen.urls.some((u) => u.endsWith('/dist/config.js')),
      'KubeConfig comes from client-node itself',
    );
    const generated = seen.urls.filter((u) =>
      /\/dist\/gen\/(models|apis|types)\/|\/dist\/gen\/index\.js$/.test(u),
    );
    assert.deepEqual(generated, []);
    assert.equal(seen.headers['Authorization'], 'Bearer s3cret');
    assert.equal(seen.server, 'https://127.0.0.1:6443');
    assert.equal(seen.namespace, 'shop');
  });

  it("exports every name KubeConfig's module imports from the generated index", () => {
    const source = readFileSync(CONFIG_JS, 'utf8');
    const imports = [...source.matchAll(/import\s*\{([^}]*)\}\s*from\s*['"]([^'"]+)['"]/g)].filter(
      ([, , from]) => from === GENERATED_INDEX_SPECIFIER,
    );
    assert.equal(imports.length, 1, `one import of ${GENERATED_INDEX_SPECIFIER} in ${CONFIG_JS}`);
    const names = (imports[0]?.[1] ?? '')
      .split(',')
      .map((name) => name.trim().split(/\s+as\s+/)[0] ?? '')
      .filter((name) => name !== '');
    assert.ok(names.length > 0);
    for (const name of names) assert.equal(typeof (slim as Record<string, unknown>)[name], 'function', name);
    assert.equal(
      source.match(/from\s*['"][^'"]*gen\/index\.js['"]/g)?.length,
      1,
      'no other import of the index',
    );
  });
});
