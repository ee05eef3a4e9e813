// The `endpointd` command as a user runs it (bin/endpointd.cjs, a real process) against a real endpointd on
// loopback: get's kubectl-like tables and json/yaml, watch following changes and riding out a cut connection,
// bootstrap, TLS and tokens, the exit codes scripts rely on — and every entry point on a Node.js that is too old.
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { once } from 'node:events';
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import type { ServiceBody, WatchEventBody } from '../src/api/rest/wire.ts';
import { MINIMUM_NODE, nodeVersionProblem } from '../src/node-version.ts';
import {
  sliceManifest,
  startTestEndpointd,
  TEST_CONFIG,
  preferSameZoneManifest,
  TWO_ZONES,
  type TestEndpointd,
} from './support/endpointd.ts';
import { eventually, get } from './support/http.ts';
import { startTcpProxy } from './support/tcp-proxy.ts';
import { generatePki, type TestPki } from './support/tls-pki.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BIN = join(ROOT, 'bin', 'endpointd.cjs');

const FILES = {
  'web.yaml': sliceManifest('shop', 'web', ['10.0.0.1', '10.0.0.2'], {
    notReady: ['10.0.0.3'],
    terminating: ['10.0.0.4'],
  }),
  'cart.yaml': sliceManifest('shop', 'cart', ['10.0.1.1']),
  'idle.yaml': sliceManifest('shop', 'idle', []),
  'api.yaml': sliceManifest('billing', 'api', ['10.0.2.1']),
};

interface Ran {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `endpointd ARGS` to its end (with this test's Node, as npx would in a checkout). */
async function endpointd(args: string[], env: Record<string, string> = {}): Promise<Ran> {
  const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, ...env } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, stdout, stderr };
}

/** A long-running `endpointd watch …`, read line by line. */
class Running {
  readonly child: ChildProcessWithoutNullStreams;
  #stdout = '';
  stderr = '';
  readonly exit: Promise<number | null>;

  constructor(args: string[]) {
    this.child = spawn(process.execPath, [BIN, ...args]);
    this.child.stdout.on('data', (c: Buffer) => (this.#stdout += c.toString()));
    this.child.stderr.on('data', (c: Buffer) => (this.stderr += c.toString()));
    this.exit = once(this.child, 'exit').then(([code]) => code as number | null);
  }

  lines(): string[] {
    return this.#stdout.split('\n').filter((l) => l !== '');
  }

  async waitForLines(count: number, timeoutMs = 10_000): Promise<string[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.lines().length < count) {
      if (Date.now() > deadline) {
        throw new Error(`wanted ${count} lines, got:\n${this.lines().join('\n')}\nstderr:\n${this.stderr}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    return this.lines();
  }
}

/** Splits a table line into its cells (three or more spaces apart, as printed). */
const cells = (line: string): string[] => line.trim().split(/ {3,}/);

describe('endpointd get', () => {
  let t: TestEndpointd;
  before(async () => {
    t = await startTestEndpointd(FILES);
  });
  after(() => t.stop());

  it('prints every service as a kubectl-like table: NAMESPACE NAME ENDPOINTS AGE, the routable address:ports', async () => {
    const ran = await endpointd(['get', '--server', t.url]);
    assert.equal(ran.code, 0, ran.stderr);
    const lines = ran.stdout.trimEnd().split('\n');
    assert.deepEqual(cells(lines[0] ?? ''), ['NAMESPACE', 'NAME', 'ENDPOINTS', 'AGE']);
    assert.deepEqual(lines.slice(1).map(cells), [
      ['billing', 'api', '10.0.2.1:8080,10.0.2.1:9100', '<unknown>'],
      ['shop', 'cart', '10.0.1.1:8080,10.0.1.1:9100', '<unknown>'],
      ['shop', 'idle', '<none>', '<unknown>'],
      ['shop', 'web', '10.0.0.1:8080,10.0.0.1:9100,10.0.0.2:8080 + 1 more...', '<unknown>'],
    ]);
    // Columns line up: each header starts where its cells start.
    const at = (line: string, text: string): number => line.indexOf(text);
    assert.equal(at(lines[0] ?? '', 'ENDPOINTS'), at(lines[4] ?? '', '10.0.0.1'));
  });

  it('-n NS drops the NAMESPACE column; -o wide adds READY (of all), PORTS and VERSION', async () => {
    const ran = await endpointd(['get', '-n', 'shop', '-o', 'wide', '--server', t.url]);
    assert.equal(ran.code, 0, ran.stderr);
    const [header, ...rows] = ran.stdout.trimEnd().split('\n').map(cells);
    assert.deepEqual(header, ['NAME', 'ENDPOINTS', 'AGE', 'READY', 'PORTS', 'VERSION']);
    const web = rows.find((r) => r[0] === 'web');
    const version = (await get(`${t.url}/v1/namespaces/shop/services/web`)).json<ServiceBody>().version;
    assert.deepEqual(web?.slice(3), ['2/4', 'http:8080/TCP,metrics:9100/TCP', version]);
    assert.deepEqual(
      rows.map((r) => r[0]),
      ['cart', 'idle', 'web'],
    );
  });

  it('-o json and -o yaml print exactly what the REST API answers for the same view', async () => {
    for (const [args, query] of [
      [['shop/web'], ''],
      [['web', '-n', 'shop', '--all-endpoints'], '?endpoints=all'],
      [['shop/web', '--port', 'http'], '?port=http'],
    ] as const) {
      const rest = (await get(`${t.url}/v1/namespaces/shop/services/web${query}`)).json<ServiceBody>();
      const json = await endpointd(['get', ...args, '-o', 'json', '--server', t.url]);
      assert.equal(json.code, 0, json.stderr);
      const printed = JSON.parse(json.stdout) as ServiceBody;
      if (query !== '?port=http') assert.deepEqual(printed, rest, args.join(' '));
      else assert.deepEqual(printed.targets, rest.targets);
      const yaml = await endpointd(['get', ...args, '-o', 'yaml', '--server', t.url]);
      assert.deepEqual(parseYaml(yaml.stdout), printed);
    }
    const list = await endpointd(['get', '-n', 'billing', '-o', 'json', '--server', t.url]);
    const api = (await get(`${t.url}/v1/namespaces/billing/services/api`)).json<ServiceBody>();
    assert.deepEqual(JSON.parse(list.stdout), { services: [api] });
  });

  it('get SERVICE --port prints the ready-to-dial targets under the row', async () => {
    const ran = await endpointd(['get', 'shop/web', '--port', 'http', '--server', t.url]);
    assert.equal(ran.code, 0, ran.stderr);
    assert.match(ran.stdout, /^TARGETS \(http\) {3}10\.0\.0\.1:8080,10\.0\.0\.2:8080$/m);
  });

  it('exits 4 for an unknown service or port, naming it, and 0 with a message for an empty namespace', async () => {
    const service = await endpointd(['get', 'nope', '-n', 'shop', '--server', t.url]);
    assert.equal(service.code, 4);
    assert.equal(service.stderr, 'endpointd get: service shop/nope is not known\n');
    assert.equal(service.stdout, '');
    const port = await endpointd(['get', 'shop/web', '--port', 'grpc', '--server', t.url]);
    assert.equal(port.code, 4);
    assert.match(port.stderr, /has no port named grpc; its ports: http \(8080\), metrics \(9100\)/);
    const empty = await endpointd(['get', '-n', 'nothing-here', '--server', t.url]);
    assert.equal(empty.code, 0);
    assert.equal(empty.stderr, 'No services found in nothing-here namespace.\n');
  });

  it('exits 2 for bad usage before asking any server, and says how to get help', async () => {
    for (const args of [
      ['get', '--colour', 'blue'],
      ['get', 'Not_A_Name'],
      ['get', 'a/b/c'],
      ['get', '-o', 'table-ish'],
      ['get', 'web', '-A'],
      ['get', '--server', 'localhost:8080'],
      ['get', '--port', 'http'],
      ['get', 'x', 'y'],
      ['get', 'shop/web', '--zone', 'Not a zone'],
      ['watch', '--node=Bad_Node!'],
      ['get', '--sub-zone', 'node-1'],
      ['bootstrap', 'extra'],
    ]) {
      // A server that does not exist: usage errors must be found before connecting.
      const ran = await endpointd(
        args.includes('--server') ? args : [...args, '--server', 'http://127.0.0.1:1'],
      );
      assert.equal(ran.code, 2, `${args.join(' ')}: ${ran.stderr}`);
      assert.match(
        ran.stderr,
        /^endpointd (get|watch|bootstrap): usage: .*\nRun endpointd (get|watch|bootstrap) --help/,
      );
    }
    const unknown = await endpointd(['gett', 'web']);
    assert.equal(unknown.code, 2);
    assert.match(
      unknown.stderr,
      /^endpointd: unknown command "gett"; the commands are serve \(the default\), get, watch and bootstrap/,
    );
    const serveHelp = await endpointd(['serve', '--help']);
    assert.equal(serveHelp.code, 0);
    assert.match(serveHelp.stdout, /--cors-allow-origin ORIGIN/);
    const help = await endpointd(['get', '--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /Exit codes: 0 done · 1 server error · 2 bad usage · 3 server unreachable/);
  });

  it('exits 3 when the server cannot be reached, naming why', async () => {
    const port = await closedPort();
    for (const command of [['get'], ['get', 'shop/web'], ['watch'], ['bootstrap']]) {
      const ran = await endpointd([...command, '--server', `http://127.0.0.1:${port}`]);
      assert.equal(ran.code, 3, command.join(' '));
      assert.match(ran.stderr, new RegExp(`cannot reach http://127\\.0\\.0\\.1:${port}: .*ECONNREFUSED`));
    }
  });

  it('reads the server from ENDPOINTD_SERVER; bootstrap prints the xDS bootstrap for a node', async () => {
    const ran = await endpointd(['bootstrap', '--node', 'my-app'], { ENDPOINTD_SERVER: t.url });
    assert.equal(ran.code, 0, ran.stderr);
    const bootstrap = JSON.parse(ran.stdout) as {
      node: { id: string };
      xds_servers: Array<{ server_uri: string }>;
    };
    assert.equal(bootstrap.node.id, 'my-app');
    assert.equal(bootstrap.xds_servers[0]?.server_uri, `127.0.0.1:${t.endpointd.grpcPort}`);
  });

  it("bootstrap fills node.locality from --zone, --region and --sub-zone; a bad value is refused with the server's reason", async () => {
    const ran = await endpointd(
      ['bootstrap', '--node', 'my-app', '--zone', 'zone-a', '--region', 'east', '--sub-zone', 'node-1'],
      { ENDPOINTD_SERVER: t.url },
    );
    assert.equal(ran.code, 0, ran.stderr);
    const bootstrap = JSON.parse(ran.stdout) as { node: { id: string; locality?: Record<string, string> } };
    assert.equal(bootstrap.node.id, 'my-app');
    assert.deepEqual(bootstrap.node.locality, { zone: 'zone-a', region: 'east', sub_zone: 'node-1' });

    const bad = await endpointd(['bootstrap', '--zone', 'no spaces'], { ENDPOINTD_SERVER: t.url });
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /zone/);
    assert.equal(bad.stdout, '');

    // A region is a bootstrap's (a caller's cluster); get and watch take --zone and --node (below).
    const misplaced = await endpointd(['get', '--region', 'east'], { ENDPOINTD_SERVER: t.url });
    assert.equal(misplaced.code, 2);
    assert.match(misplaced.stderr, /--region goes with bootstrap/);
  });
});

/** A PreferSameZone Service of two zones, with the hints its slice controller writes (docs/topology.md). */
const near = (...without: string[]): string => preferSameZoneManifest(TWO_ZONES, without);
const NEAR = near();

describe('endpointd get and watch for a caller (--zone, --node)', () => {
  let t: TestEndpointd;
  before(async () => {
    t = await startTestEndpointd({ 'near.yaml': NEAR });
  });
  after(() => t.stop());

  it('get prints what the server answers a caller in that zone, in every format', async () => {
    const rest = (await get(`${t.url}/v1/namespaces/shop/services/near?zone=zone-a`)).json<ServiceBody>();
    assert.deepEqual(
      rest.endpoints.map((e) => e.addresses[0]),
      ['10.5.0.1', '10.5.0.2'],
    );
    const json = await endpointd(['get', 'shop/near', '--zone', 'zone-a', '-o', 'json', '--server', t.url]);
    assert.equal(json.code, 0, json.stderr);
    assert.deepEqual(JSON.parse(json.stdout), rest);
    // Every service as a table: the caller's endpoints; without --zone, every routable one.
    const table = await endpointd(['get', '-n', 'shop', '--zone', 'zone-b', '--server', t.url]);
    assert.equal(table.code, 0, table.stderr);
    assert.deepEqual(cells(table.stdout.trimEnd().split('\n')[1] ?? ''), [
      'near',
      '10.5.1.1:8080',
      '<unknown>',
    ]);
    const anywhere = await endpointd(['get', '-n', 'shop', '--server', t.url]);
    assert.match(anywhere.stdout, /near {3}10\.5\.0\.1:8080,10\.5\.0\.2:8080,10\.5\.1\.1:8080 /);
    // --node alone: PreferSameZone has no node rule, so the answer is everyone's, as the server says.
    const onNode = await endpointd([
      'get',
      'shop/near',
      '--node',
      'node-b1',
      '-o',
      'json',
      '--server',
      t.url,
    ]);
    const restOnNode = (
      await get(`${t.url}/v1/namespaces/shop/services/near?node=node-b1`)
    ).json<ServiceBody>();
    assert.deepEqual(JSON.parse(onNode.stdout), restOnNode);
  });

  it("watch follows the caller's view: a change in its zone is a row, one in another zone is not", async () => {
    const w = new Running(['watch', 'shop/near', '--zone', 'zone-a', '--server', t.url]);
    try {
      const start = await w.waitForLines(2);
      assert.deepEqual(cells(start[1] ?? ''), ['near', '10.5.0.1:8080,10.5.0.2:8080', '<unknown>']);
      // zone-b's endpoint goes: zone-a's caller receives nothing (its answer did not change).
      await t.write('near.yaml', near('10.5.1.1'));
      await eventually(async () => {
        const all = (await get(`${t.url}/v1/namespaces/shop/services/near`)).json<ServiceBody>();
        return all.endpoints.length === 2 ? true : undefined;
      }, 5000);
      // zone-a loses one: a row.
      await t.write('near.yaml', near('10.5.1.1', '10.5.0.2'));
      const lines = await w.waitForLines(3);
      assert.deepEqual(cells(lines[2] ?? ''), ['near', '10.5.0.1:8080', '0s']);
      assert.equal(w.lines().length, 3, w.lines().join('\n'));
      w.child.kill('SIGINT');
      assert.equal(await w.exit, 0);
    } finally {
      w.child.kill('SIGKILL');
      await t.write('near.yaml', NEAR);
    }
  });
});

describe('endpointd watch', () => {
  let t: TestEndpointd;
  before(async () => {
    t = await startTestEndpointd(FILES);
  });
  after(() => t.stop());

  it('prints the state, then a row per change and <deleted>, and ends with 0 on SIGINT', async () => {
    const w = new Running(['watch', '-n', 'shop', '--server', t.url]);
    try {
      const start = await w.waitForLines(4);
      assert.deepEqual(cells(start[0] ?? ''), ['NAME', 'ENDPOINTS', 'AGE']);
      assert.deepEqual(
        start.slice(1).map((l) => cells(l)[0]),
        ['cart', 'idle', 'web'],
      );
      await t.write('cart.yaml', sliceManifest('shop', 'cart', ['10.0.1.2']));
      assert.deepEqual(cells((await w.waitForLines(5))[4] ?? ''), [
        'cart',
        '10.0.1.2:8080,10.0.1.2:9100',
        '0s',
      ]);
      await t.remove('idle.yaml');
      assert.deepEqual(cells((await w.waitForLines(6))[5] ?? ''), ['idle', '<deleted>', '0s']);
      w.child.kill('SIGINT');
      assert.equal(await w.exit, 0);
    } finally {
      w.child.kill('SIGKILL');
      await t.write('cart.yaml', FILES['cart.yaml']);
      await t.write('idle.yaml', FILES['idle.yaml']);
    }
  });

  it('rides out a cut connection: resumes one service from its version, so nothing is printed twice', async () => {
    const proxy = await startTcpProxy(t.endpointd.httpAddress.port);
    const w = new Running(['watch', 'shop/cart', '-o', 'json', '--server', `http://127.0.0.1:${proxy.port}`]);
    try {
      const first = await w.waitForLines(2);
      const added = JSON.parse(first[0] ?? '') as WatchEventBody;
      assert.equal(added.type, 'ADDED');
      assert.deepEqual(JSON.parse(first[1] ?? ''), { type: 'SYNCED' });
      const version = added.type === 'ADDED' ? added.version : '';

      proxy.cutAll();
      // The reconnection says which version it has, and is sent only SYNCED again…
      const resumed = await w.waitForLines(3);
      assert.deepEqual(JSON.parse(resumed[2] ?? ''), { type: 'SYNCED' });
      assert.ok(proxy.requests.some((head) => head.includes(`watch?endpoints=all&version=${version} `)));
      assert.match(w.stderr, /was cut.*; reconnecting in 250 ms/);
      // …and the next change is the next line (the marker that nothing else came in between).
      await t.write('cart.yaml', sliceManifest('shop', 'cart', ['10.0.1.5']));
      const changed = JSON.parse((await w.waitForLines(4))[3] ?? '') as WatchEventBody;
      assert.equal(changed.type, 'MODIFIED');
      w.child.kill('SIGTERM');
      assert.equal(await w.exit, 0);
    } finally {
      w.child.kill('SIGKILL');
      await proxy.close();
      await t.write('cart.yaml', FILES['cart.yaml']);
    }
  });

  it('rides out a cut connection of a many-service watch: only what changed meanwhile is printed', async () => {
    const proxy = await startTcpProxy(t.endpointd.httpAddress.port);
    const w = new Running(['watch', '-n', 'billing', '--server', `http://127.0.0.1:${proxy.port}`]);
    try {
      await w.waitForLines(2);
      proxy.cutAll();
      await t.write('api.yaml', sliceManifest('billing', 'api', ['10.0.2.9']));
      const lines = await w.waitForLines(3);
      assert.deepEqual(cells(lines[2] ?? ''), ['api', '10.0.2.9:8080,10.0.2.9:9100', '0s']);
      await t.write('api.yaml', FILES['api.yaml']); // the marker: the next line must be this change
      assert.deepEqual(cells((await w.waitForLines(4))[3] ?? ''), [
        'api',
        '10.0.2.1:8080,10.0.2.1:9100',
        '0s',
      ]);
    } finally {
      w.child.kill('SIGKILL');
      await proxy.close();
    }
  });
});

describe('endpointd get over TLS with a token', () => {
  let pki: TestPki;
  let t: TestEndpointd;
  let dir: string;
  before(async () => {
    pki = await generatePki();
    dir = await mkdtemp(join(tmpdir(), 'endpointd-cli-'));
    await writeFile(join(dir, 'tokens'), 'cli-token,ci\n');
    await writeFile(join(dir, 'token'), 'cli-token\n');
    t = await startTestEndpointd(FILES, {
      security: {
        ...TEST_CONFIG.security,
        tls: {
          certFile: pki.server1.certFile,
          keyFile: pki.server1.keyFile,
          clientCaFile: undefined,
          clientAuth: 'require',
        },
        auth: { ...TEST_CONFIG.security.auth, tokensFile: join(dir, 'tokens') },
      },
    });
  });
  after(async () => {
    await t.stop();
    await pki.remove();
    await rm(dir, { recursive: true, force: true });
  });

  it('verifies the server with --ca-file, sends --token or --token-file, and exits 5 without one', async () => {
    const server = `https://127.0.0.1:${t.endpointd.httpAddress.port}`;
    const withToken = await endpointd([
      'get',
      'shop/cart',
      '--server',
      server,
      '--ca-file',
      pki.caFile,
      '--token',
      'cli-token',
    ]);
    assert.equal(withToken.code, 0, withToken.stderr);
    assert.match(withToken.stdout, /^cart {3}10\.0\.1\.1:8080/m);
    const fromFile = await endpointd(['get', '--server', server, '--token-file', join(dir, 'token')], {
      ENDPOINTD_CA_FILE: pki.caFile,
    });
    assert.equal(fromFile.code, 0, fromFile.stderr);

    const without = await endpointd(['get', '--server', server, '--ca-file', pki.caFile]);
    assert.equal(without.code, 5);
    assert.match(without.stderr, /refused the credentials \(401: .*\); give --token or --token-file/);
    const wrong = await endpointd(['watch', '--server', server, '--ca-file', pki.caFile, '--token', 'nope']);
    assert.equal(wrong.code, 5);

    const untrusted = await endpointd(['get', '--server', server, '--token', 'cli-token']);
    assert.equal(untrusted.code, 3);
    assert.match(
      untrusted.stderr,
      /cannot reach .*(self-signed|unable to verify|certificate).*\(is --ca-file right\?\)/i,
    );
    const missing = await endpointd(['get', '--server', server, '--ca-file', join(dir, 'no-such-ca.pem')]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /--ca-file .*no-such-ca\.pem: ENOENT/);
  });
});

describe('entry points on a Node.js older than required', () => {
  const oldNode = findOldNode();
  const skip = oldNode === undefined ? `no Node.js older than ${MINIMUM_NODE} on PATH` : false;

  it("package.json's engines and the runtime check agree on the version", () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
      engines: { node: string };
      bin: { endpointd: string };
      scripts: { start: string };
    };
    assert.equal(pkg.engines.node, `>=${MINIMUM_NODE}`);
    assert.equal(pkg.bin.endpointd, 'bin/endpointd.cjs');
    assert.match(pkg.scripts.start, /^node (--[\w-]+=\S+ )*bin\/endpointd\.cjs$/);
  });

  it(
    'the bin (and so npm start) without a Node 24 beside it: exits 1 with one line naming the version',
    { skip },
    async () => {
      // The launcher and package.json alone, as in an install whose node@24 devDependency is missing.
      const dir = await mkdtemp(join(tmpdir(), 'endpointd-old-node-'));
      try {
        await mkdir(join(dir, 'bin'));
        await copyFile(BIN, join(dir, 'bin', 'endpointd.cjs'));
        await copyFile(join(ROOT, 'package.json'), join(dir, 'package.json'));
        for (const args of [['--help'], ['get'], []]) {
          const ran = spawnSync(oldNode ?? '', [join(dir, 'bin', 'endpointd.cjs'), ...args], {
            encoding: 'utf8',
          });
          assert.equal(ran.status, 1);
          assert.equal(ran.stdout, '');
          assert.match(
            ran.stderr,
            new RegExp(
              `^endpointd needs Node\\.js >= ${MINIMUM_NODE}, but this is Node\\.js v[\\d.]+: [^\\n]+\\n$`,
            ),
          );
        }
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
  );

  it('the bin in a checkout hands over to the node@24 devDependency and works', { skip }, () => {
    const ran = spawnSync(oldNode ?? '', [BIN, '--version'], { encoding: 'utf8' });
    assert.equal(ran.status, 0, ran.stderr);
    assert.equal(ran.stdout, 'endpointd 0.1.0\n');
    const usage = spawnSync(oldNode ?? '', [BIN, 'get', '--colour'], { encoding: 'utf8' });
    assert.equal(usage.status, 2, 'exit codes pass through');
  });

  it('node dist/main.js (after npm run build): exits 1 with one line, never 0 in silence', { skip }, () => {
    const main = join(ROOT, 'dist', 'main.js');
    // CI builds before it tests; elsewhere, (re)build what the image runs when it is missing or older.
    const stale = (name: string): boolean =>
      !existsSync(join(ROOT, 'dist', `${name}.js`)) ||
      statSync(join(ROOT, 'dist', `${name}.js`)).mtimeMs < statSync(join(ROOT, 'src', `${name}.ts`)).mtimeMs;
    if (stale('main') || stale('node-version'))
      execFileSync(process.execPath, [
        join(ROOT, 'node_modules/typescript/bin/tsc'),
        '-p',
        join(ROOT, 'tsconfig.build.json'),
      ]);
    for (const args of [[], ['--help'], ['get']]) {
      const ran = spawnSync(oldNode ?? '', [main, ...args], { encoding: 'utf8' });
      assert.equal(ran.status, 1, args.join(' '));
      assert.equal(ran.stdout, '');
      assert.match(
        ran.stderr,
        new RegExp(
          `^endpointd needs Node\\.js >= ${MINIMUM_NODE}, but this is Node\\.js v[\\d.]+: [^\\n]+\\n$`,
        ),
      );
    }
    // The same file on this Node runs.
    const current = spawnSync(process.execPath, [main, '--version'], { encoding: 'utf8' });
    assert.equal(current.stdout, 'endpointd 0.1.0\n');
  });
});

/** The first `node` on PATH (outside node_modules) older than the minimum: the system Node of these machines. */
function findOldNode(): string | undefined {
  const dirs = (process.env.PATH ?? '').split(':').filter((d) => d !== '' && !d.includes('node_modules'));
  for (const candidate of [...dirs.map((d) => join(d, 'node')), '/usr/bin/node', '/usr/local/bin/node']) {
    if (!existsSync(candidate)) continue;
    const version = spawnSync(candidate, ['-p', 'process.versions.node'], { encoding: 'utf8' }).stdout.trim();
    if (version !== '' && nodeVersionProblem(version) !== undefined) return candidate;
  }
  return undefined;
}

async function closedPort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
