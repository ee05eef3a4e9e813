// The endpointd process as an operator runs it: `node src/main.ts` with flags and environment variables.
import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { once } from 'node:events';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { ServiceListBody } from '../src/api/rest/wire.ts';
import { createServer } from 'node:net';
import { EventStream, eventually, get } from './support/http.ts';

const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));

interface Run {
  readonly child: ChildProcessWithoutNullStreams;
  readonly stdout: () => string;
  readonly stderr: () => string;
  readonly exit: Promise<number | null>;
}

function run(args: string[], env: Record<string, string> = {}): Run {
  // gRPC on a free port unless a test says otherwise: 9090 may be taken on the machine running the tests.
  const child = spawn(process.execPath, [MAIN, ...args], {
    env: { ...process.env, ENDPOINTD_GRPC_PORT: '0', ...env },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exit = once(child, 'exit').then(([code]) => code as number | null);
  return { child, stdout: () => stdout, stderr: () => stderr, exit };
}

/** Waits for the log line saying the REST API listens, and returns its port. */
async function listeningPort(r: Run): Promise<number> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    for (const line of r.stdout().split('\n')) {
      if (line.includes('"msg":"ready"')) {
        const listening = r
          .stdout()
          .split('\n')
          .find((l) => l.includes('REST API listening'));
        return (JSON.parse(listening ?? '{}') as { port: number }).port;
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`endpointd did not become ready:\n${r.stdout()}\n${r.stderr()}`);
}

describe('endpointd command line', () => {
  it('serves the bundled examples when no source is given, logs that it does, and on SIGTERM ends its watches and exits 0 without waiting out the grace', async () => {
    // A long grace: exiting well within it shows the open watch was ended, not waited for.
    const r = run(['--http-port', '0', '--bind', '127.0.0.1', '--shutdown-grace', '60s']);
    try {
      const port = await listeningPort(r);
      assert.match(r.stdout(), /no --source given: serving the bundled example manifests/);
      const list = (await get(`http://127.0.0.1:${port}/v1/services`)).json<ServiceListBody>();
      assert.deepEqual(
        list.services.map((s) => `${s.namespace}/${s.name}`),
        ['demo/batch', 'demo/web', 'legacy/db'],
      );
      const stream = await EventStream.open(`http://127.0.0.1:${port}/v1/watch`);
      await stream.until('SYNCED');
      const started = Date.now();
      r.child.kill('SIGTERM');
      assert.equal(await r.exit, 0);
      assert.ok(Date.now() - started < 30_000, 'exits long before the 60 s grace');
      await assert.rejects(stream.next(1000), /stream ended/, 'the open watch stream was ended');
      for (const line of r.stdout().trim().split('\n')) JSON.parse(line); // every log line is JSON
      assert.match(r.stdout(), /"msg":"stopped"/);
    } finally {
      r.child.kill('SIGKILL');
    }
  });

  it('on SIGTERM turns not ready first, keeps answering for --shutdown-delay, then drains and exits 0', async () => {
    const r = run(['--http-port', '0', '--grpc-port', '0', '--bind', '127.0.0.1', '--shutdown-delay', '1s']);
    try {
      const port = await listeningPort(r);
      const url = `http://127.0.0.1:${port}`;
      assert.equal((await get(`${url}/readyz`)).status, 200);
      r.child.kill('SIGTERM');
      await eventually(async () => ((await get(`${url}/readyz`)).status === 503 ? true : undefined), 1000);
      assert.equal((await get(`${url}/v1/namespaces/demo/services/web`)).status, 200, 'still answering');
      assert.equal(await r.exit, 0);
      assert.match(r.stdout(), /"msg":"draining"/);
    } finally {
      r.child.kill('SIGKILL');
    }
  });

  it('reads its settings from ENDPOINTD_* variables', async () => {
    const port = await freePort();
    const r = run([], {
      ENDPOINTD_HTTP_PORT: String(port),
      ENDPOINTD_BIND: '127.0.0.1',
      ENDPOINTD_LOG_LEVEL: 'warn',
      ENDPOINTD_SOURCE: fileURLToPath(new URL('../examples/static-backends.yaml', import.meta.url)).replace(
        /^/,
        'file:',
      ),
    });
    try {
      const list = await eventually(async () => {
        const answer = await get(`http://127.0.0.1:${port}/v1/services`).catch(() => undefined);
        return answer?.status === 200 ? answer.json<ServiceListBody>() : undefined;
      }, 10_000);
      assert.deepEqual(
        list.services.map((s) => `${s.namespace}/${s.name}`),
        ['legacy/db'],
      );
      r.child.kill('SIGINT');
      assert.equal(await r.exit, 0);
      assert.equal(r.stdout(), '', 'nothing below warn is logged');
    } finally {
      r.child.kill('SIGKILL');
    }
  });

  it('refuses bad values with a message naming each, and exits 2', async () => {
    const r = run(['--http-port', '70000', '--heartbeat-interval', 'soon', '--source', 'nfs:/x'], {
      ENDPOINTD_LOG_LEVEL: 'loud',
    });
    assert.equal(await r.exit, 2);
    assert.match(
      r.stderr(),
      /--http-port \(ENDPOINTD_HTTP_PORT\): must be a port number from 0 to 65535, got "70000"/,
    );
    assert.match(r.stderr(), /--heartbeat-interval .*got "soon"/);
    assert.match(r.stderr(), /--source .*must be kubernetes \(once\) or file:PATH, got "nfs:\/x"/);
    assert.match(r.stderr(), /--log-level .*got "loud"/);
  });

  it('refuses an unknown flag, and exits 2', async () => {
    const r = run(['--colour', 'blue']);
    assert.equal(await r.exit, 2);
    assert.match(r.stderr(), /Unknown option '--colour'/);
  });

  it('exits 1 with a clear log line when a source path is not a file or a directory', async () => {
    const r = run(['--http-port', '0', '--bind', '127.0.0.1', '--source', 'file:/dev/null']);
    assert.equal(await r.exit, 1);
    assert.match(r.stdout(), /not a file or a directory/);
  });

  it('prints its help', async () => {
    const r = run(['--help']);
    assert.equal(await r.exit, 0);
    for (const flag of [
      '--source',
      '--http-port',
      '--grpc-port',
      '--bind',
      '--log-level',
      '--heartbeat-interval',
    ]) {
      assert.ok(r.stdout().includes(flag), flag);
    }
  });
});

async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  return port;
}
