// endpointd's log as an operator reads it: real `node src/main.ts` processes, their stdout collected line by line.
// An unreachable API server is one warning, not a stream of them; no line carries a key twice; a process stopped
// before its first sync never claims to be ready.
import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { createLogger } from '../src/observability/logger.ts';
import { endpointSlice, FakeApiServer, service } from './support/fake-apiserver/index.ts';
import { kubeconfigYaml } from './support/fake-apiserver/kubeconfig.ts';
import { sliceManifest } from './support/endpointd.ts';
import { eventually, get } from './support/http.ts';
import { duplicateKeys } from './support/json-keys.ts';

const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));

interface LogLine {
  readonly level: number;
  readonly msg: string;
  readonly [field: string]: unknown;
}

interface Process {
  readonly child: ChildProcessWithoutNullStreams;
  /** Every complete stdout line so far, raw. */
  readonly raw: () => string[];
  readonly lines: () => LogLine[];
  readonly exit: Promise<number | null>;
  /** Waits until a line matches; returns it. */
  until(check: (line: LogLine) => boolean, what: string, timeoutMs?: number): Promise<LogLine>;
}

function start(args: string[]): Process {
  const child = spawn(process.execPath, [
    MAIN,
    '--http-port',
    '0',
    '--grpc-port',
    '0',
    '--bind',
    '127.0.0.1',
    ...args,
  ]);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const raw = (): string[] => stdout.split('\n').slice(0, -1);
  const lines = (): LogLine[] => raw().map((text) => JSON.parse(text) as LogLine);
  return {
    child,
    raw,
    lines,
    exit: once(child, 'exit').then(([code]) => code as number | null),
    until: async (check, what, timeoutMs = 15_000) => {
      try {
        return await eventually(() => lines().find(check), timeoutMs);
      } catch (error) {
        throw new Error(`no log line ${what}:\n${stdout}\n${stderr}`, { cause: error });
      }
    },
  };
}

async function closedPort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Fails with the offending lines when any line is not one JSON object with unique keys. */
function assertEveryLineHasUniqueKeys(raw: readonly string[]): void {
  const offending = raw
    .map((line) => ({ line, keys: duplicateKeys(line) }))
    .filter((l) => l.keys.length > 0)
    .map((l) => `${l.keys.join(', ')} twice in ${l.line}`);
  assert.deepEqual(offending, []);
  for (const line of raw) assert.equal(typeof JSON.parse(line), 'object');
}

describe('the duplicate-key check itself', () => {
  it('finds keys repeated at any depth, and nothing in strings, arrays or distinct objects', () => {
    assert.deepEqual(duplicateKeys('{"a":1,"b":{"c":2,"c":3},"a":"x"}'), ['c', 'a']);
    assert.deepEqual(duplicateKeys('{"a":"\\"a\\":1,","b":[{"a":1},{"a":2}],"c":{"a":{"a":1}}}'), []);
    assert.deepEqual(duplicateKeys('{"s":"}","s":"{"}'), ['s']);
  });
});

describe('the logger', () => {
  it('keeps a call field that repeats a bound key under another name, rather than writing the key twice', () => {
    let written = '';
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        written += chunk.toString();
        done();
      },
    });
    const logger = createLogger('info', sink).child({ source: 'file:/etc/endpointd' });
    logger.info(
      { source: 'elsewhere', app: 'other', msg: 'a field named msg', level: 1, service: 'demo/echo' },
      'hello',
    );
    const line = written.trim();
    assert.deepEqual(duplicateKeys(line), []);
    assert.deepEqual(JSON.parse(line), {
      level: 30,
      time: (JSON.parse(line) as { time: string }).time,
      app: 'endpointd',
      source: 'file:/etc/endpointd',
      'call.source': 'elsewhere',
      'call.app': 'other',
      'call.msg': 'a field named msg',
      'call.level': 1,
      service: 'demo/echo',
      msg: 'hello',
    });
  });
});

describe('the logger, on errors with causes', () => {
  it("writes each cause's message once: appended when the message lacks it, not again when it carries it", () => {
    const lines: Array<{ err: { message: string; stack: string } }> = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(JSON.parse(chunk.toString()) as (typeof lines)[number]);
        done();
      },
    });
    const logger = createLogger('info', sink);
    const root = new Error('no such file');
    const wrapped = new Error(`--kubeconfig /k: ${root.message}`, { cause: root });
    const twice = new Error(`--cluster a: ${wrapped.message}`, { cause: wrapped });
    const plain = new Error('could not start', { cause: new Error('port in use') });
    const circular = new Error('loop');
    (circular as { cause?: unknown }).cause = circular;
    for (const err of [root, wrapped, twice, plain, circular]) logger.error({ err }, 'failed');
    assert.deepEqual(
      lines.map((l) => l.err.message),
      [
        'no such file',
        '--kubeconfig /k: no such file',
        '--cluster a: --kubeconfig /k: no such file',
        'could not start: port in use',
        'loop',
      ],
    );
    assert.match(
      lines[2]?.err.stack ?? '',
      /caused by: Error: --kubeconfig \/k: no such file[^]*caused by: Error: no such file/,
    );
  });
});

describe('endpointd log lines', () => {
  it('logs an unreachable API server once with its retry schedule and "no state yet", and no "ready" on SIGTERM', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'endpointd-logs-'));
    const kubeconfig = join(dir, 'kubeconfig');
    const port = await closedPort();
    await writeFile(
      kubeconfig,
      kubeconfigYaml({ url: `http://127.0.0.1:${port}`, caPem: undefined, namespace: 'default' }, undefined),
    );
    const p = start(['--source', 'kubernetes', '--kubeconfig', kubeconfig]);
    try {
      const first = await p.until((l) => l.level === 40, 'warning of the unreachable API server');
      assert.match(
        first.msg,
        /^list\/watch failed: no state yet; retrying in \d+(\.\d)? s, then backing off to at most 1 s$/,
      );
      assert.match(String(first.error), /ECONNREFUSED/);
      // Both reflectors (slices and Services) retry about every second for these 3 s: today's code logged each try.
      await new Promise((resolve) => setTimeout(resolve, 3000));
      const readyz = await get(`http://127.0.0.1:${String(restPort(p.lines()))}/readyz`);
      assert.equal(readyz.status, 503);
      assert.match(readyz.text, /ECONNREFUSED/, 'still failing, still retrying');
      p.child.kill('SIGTERM');
      assert.equal(await p.exit, 0);
      const lines = p.lines();
      const shutdown = lines.findIndex((l) => l.msg === 'shutting down');
      assert.ok(
        shutdown > 0 && lines.at(-1)?.msg === 'stopped',
        'the shutdown is the marker: it came, in full',
      );
      const problems = lines.filter((l) => l.level >= 40);
      assert.deepEqual(
        problems.map((l) => l.msg),
        [first.msg],
        'one warning for the whole outage',
      );
      assert.equal(lines.filter((l) => l.msg === 'ready').length, 0, 'never synced: never ready');
      assertEveryLineHasUniqueKeys(p.raw());
    } finally {
      p.child.kill('SIGKILL');
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('carries no key twice on any line over a run with two sources, conflicts, bad files and API trouble', async () => {
    const api = await FakeApiServer.start();
    api.create('services', service({ name: 'echo', namespace: 'demo' }));
    api.create(
      'endpointslices',
      endpointSlice({ service: 'echo', namespace: 'demo', endpoints: [{ addresses: '10.0.0.1' }] }),
    );
    const dir = await mkdtemp(join(tmpdir(), 'endpointd-logs-'));
    const manifests = join(dir, 'manifests');
    const kubeconfig = join(dir, 'kubeconfig');
    await writeFile(kubeconfig, api.kubeconfigYaml());
    await mkdir(manifests);
    // demo/echo also from files (a conflict between sources), one slice in two files, and a broken file.
    await writeFile(join(manifests, 'echo.yaml'), sliceManifest('demo', 'echo', ['10.1.0.1']));
    await writeFile(join(manifests, 'web.yaml'), sliceManifest('files', 'web', ['10.2.0.1']));
    await writeFile(join(manifests, 'web-again.yaml'), sliceManifest('files', 'web', ['10.2.0.1']));
    await writeFile(join(manifests, 'broken.yaml'), 'kind: EndpointSlice\nmetadata: {name: x\n');
    // At debug level: every line the run can write is checked.
    const p = start([
      ...['--source', 'kubernetes', '--source', `file:${manifests}`, '--kubeconfig', kubeconfig],
      ...['--log-level', 'debug'],
    ]);
    try {
      await p.until((l) => l.msg === 'ready', '"ready"');
      const url = `http://127.0.0.1:${String(restPort(p.lines()))}`;
      assert.equal((await get(`${url}/v1/namespaces/demo/services/echo`)).status, 200);
      // API trouble: failing watches (a failure, then its recovery) and an expired resourceVersion (a relist).
      api.failNext({ verb: 'watch', status: 503, times: 2 });
      api.endAllWatches();
      await p.until((l) => /answers again/.test(l.msg), 'of the recovery');
      api.sendExpiredOnWatches();
      await p.until((l) => /410 Gone/.test(l.msg), 'of the relist');
      await writeFile(join(manifests, 'broken.yaml'), sliceManifest('files', 'fixed', ['10.3.0.1']));
      await p.until((l) => l.file === join(manifests, 'broken.yaml') && l.level < 40, 'of the fixed file');
      p.child.kill('SIGTERM');
      assert.equal(await p.exit, 0);
      assertEveryLineHasUniqueKeys(p.raw());
      const lines = p.lines();
      assert.equal(lines.at(-1)?.msg, 'stopped');
      // The lines that used to carry "service" twice (the program's name and a Service) are among them.
      const conflict = lines.find((l) => /defined by two sources/.test(l.msg));
      assert.equal(conflict?.service, 'demo/echo');
      assert.equal(conflict?.app, 'endpointd');
      const twice = lines.find((l) => /defined more than once/.test(l.msg));
      assert.equal(twice?.service, 'files/web');
      assert.ok(lines.some((l) => l.level === 40 && /HTTP 503/.test(String(l.error))));
      assert.ok(
        lines.some((l) => l.level === 50 && typeof l.file === 'string'),
        'the broken file was logged',
      );
      assert.equal(lines.filter((l) => l.msg === 'ready').length, 1);
      assert.ok(
        lines.findIndex((l) => l.msg === 'ready') < lines.findIndex((l) => l.msg === 'shutting down'),
      );
      assert.ok(lines.length >= 15, `${lines.length} lines`);
    } finally {
      p.child.kill('SIGKILL');
      await api.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

function restPort(lines: readonly LogLine[]): number {
  const listening = lines.find((l) => l.msg === 'REST API listening');
  assert.ok(listening !== undefined, 'the REST API listens');
  return listening.port as number;
}
