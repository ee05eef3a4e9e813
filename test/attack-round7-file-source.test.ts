// Attack on the file source from outside (round 7): the real endpointd, its REST API on loopback, a real temp
// directory changed under it as users and kubelet change theirs. Each case is a defect the earlier tests missed.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { describe, it } from 'node:test';
import type { ReadinessDetail } from '../src/observability/readiness.ts';
import { sliceManifest } from './support/endpointd.ts';
import { eventually, get } from './support/http.ts';

const MAIN = join(import.meta.dirname, '..', 'src', 'main.ts');
const slice = (service: string, ip: string): string => sliceManifest('shop', service, [ip]);

/**
 * The real server in a child process, on loopback, serving `root`. As root, it runs as `nobody`: permissions stop
 * a read only for a user without CAP_DAC_OVERRIDE.
 */
async function startServer(
  root: string,
  args: readonly string[] = [],
): Promise<{ url: string; child: ChildProcess; stop: () => Promise<void> }> {
  const asRoot = process.getuid?.() === 0;
  const child = spawn(
    process.execPath,
    [MAIN, `--source=file:${root}`, '--http-port=0', '--grpc-port=0', '--bind=127.0.0.1', ...args],
    { stdio: ['ignore', 'pipe', 'inherit'], ...(asRoot ? { uid: 65534, gid: 65534 } : {}) },
  );
  const port = await new Promise<number>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
    const timer = setTimeout(() => reject(new Error('the server did not start')), 30_000);
    lines.on('line', (line) => {
      const entry = JSON.parse(line) as { msg?: string; port?: number };
      if (entry.msg === 'REST API listening' && entry.port !== undefined) {
        clearTimeout(timer);
        resolve(entry.port);
      }
    });
    child.on('exit', (code) => reject(new Error(`the server exited with ${String(code)}`)));
  });
  const url = `http://127.0.0.1:${port}`;
  await eventually(async () => ((await get(`${url}/readyz`)).status === 200 ? true : undefined), 30_000);
  return {
    url,
    child,
    stop: async () => {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

async function fileSourceStatus(url: string): Promise<ReadinessDetail['sources'][number]> {
  const readyz = (await get(`${url}/readyz`)).json<ReadinessDetail>();
  const [source] = readyz.sources;
  assert.ok(source !== undefined);
  return source;
}

describe('file source, a directory that cannot be listed', () => {
  it('keeps serving the last good state of its files, as /readyz says, and serves them again once readable', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'endpointd-attack7-'));
    // The server may run as nobody: the tree must be readable by it.
    await chmod(dir, 0o755);
    await mkdir(join(dir, 'sub'));
    await writeFile(join(dir, 'web.yaml'), slice('web', '10.0.0.1'));
    await writeFile(join(dir, 'sub', 'deep.yaml'), slice('deep', '10.0.0.2'));
    const server = await startServer(dir);
    try {
      const status = async (name: string): Promise<number> =>
        (await get(`${server.url}/v1/namespaces/shop/services/${name}`)).status;
      assert.equal(await status('deep'), 200);

      await chmod(join(dir, 'sub'), 0o000);
      const listed = await eventually(async () => {
        const source = await fileSourceStatus(server.url);
        return source.problems?.some((p) => p.file === join(dir, 'sub')) === true ? source : undefined;
      });
      assert.match(listed.error ?? '', /serving the last good state of each/);
      assert.match(listed.problems?.[0]?.message ?? '', /cannot list directory: EACCES/);
      assert.equal(await status('deep'), 200, 'the files of a directory that cannot be listed stay served');
      assert.equal(await status('web'), 200);

      // The root itself.
      await chmod(join(dir, 'sub'), 0o755);
      await eventually(async () =>
        (await fileSourceStatus(server.url)).problemCount === 0 ? true : undefined,
      );
      await chmod(dir, 0o000);
      await eventually(async () =>
        ((await fileSourceStatus(server.url)).problemCount ?? 0) > 0 ? true : undefined,
      );
      assert.equal(await status('web'), 200, 'the files of a root that cannot be listed stay served');
      assert.equal(await status('deep'), 200);
      await chmod(dir, 0o755);
      await eventually(async () =>
        (await fileSourceStatus(server.url)).problemCount === 0 ? true : undefined,
      );
      assert.equal(await status('deep'), 200);
    } finally {
      await server.stop();
      await chmod(dir, 0o755).catch(() => undefined);
      await chmod(join(dir, 'sub'), 0o755).catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    }
  });
});
