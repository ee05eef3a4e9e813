// Attack on the file source from outside (round 7): the real endpointd, its REST API on loopback, a real temp
// directory changed under it as users and kubelet change theirs. Each case is a defect the earlier tests missed.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readlink, rm, symlink, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { describe, it } from 'node:test';
import type { ServiceBody } from '../src/api/rest/wire.ts';
import type { ReadinessDetail } from '../src/observability/readiness.ts';
import { startEndpointd } from '../src/main.ts';
import { createLogger } from '../src/observability/logger.ts';
import { sliceManifest, startTestEndpointd, TEST_CONFIG } from './support/endpointd.ts';
import { EventStream, eventually, get, listedServiceNames } from './support/http.ts';
import { KubeletVolume } from './support/kubelet-volume.ts';
import { LogLines } from './support/log-lines.ts';

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

describe('file source, a kubelet snapshot that cannot be listed', () => {
  it('is a problem listed in /readyz, not a pass after pass with nothing served and nothing said', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'endpointd-attack7-'));
    await chmod(dir, 0o755);
    const volume = new KubeletVolume(join(dir, 'static'));
    await volume.write({ 'web.yaml': slice('web', '10.0.0.1') });
    // MkdirTemp's 0700 (kubelet then opens it up: it does not here), with the server as another user, or 000.
    const snapshot = join(volume.dir, await readlink(join(volume.dir, '..data')));
    await chmod(snapshot, 0o000);
    const server = await startServer(volume.dir);
    try {
      const listed = await eventually(async () => {
        const source = await fileSourceStatus(server.url);
        return (source.problemCount ?? 0) > 0 ? source : undefined;
      });
      assert.deepEqual(
        listed.problems?.map((p) => [p.file, p.message.replace(/,.*/, '')]),
        [[volume.dir, 'cannot list directory: EACCES: permission denied']],
      );
      const before = listed.lastSyncAt;
      await new Promise((resolve) => setTimeout(resolve, 1000));
      assert.equal(
        (await fileSourceStatus(server.url)).lastSyncAt,
        before,
        'no pass after pass while nothing changes',
      );

      // Opened up, and the next swap's events: served.
      await chmod(snapshot, 0o755);
      await writeFile(join(volume.dir, '..touch'), '');
      await eventually(async () =>
        (await get(`${server.url}/v1/namespaces/shop/services/web`)).status === 200 ? true : undefined,
      );
      assert.equal((await fileSourceStatus(server.url)).problemCount, 0);
    } finally {
      await server.stop();
      await chmod(snapshot, 0o755).catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('file source, a broken symlink whose target appears later', () => {
  it('is looked at again within a second: served, and no longer listed as a problem', async () => {
    const outside = await mkdtemp(join(tmpdir(), 'endpointd-attack7-outside-'));
    const server = await startTestEndpointd({ 'web.yaml': slice('web', '10.0.0.1') });
    const { dir, url } = server;
    try {
      // A link to a manifest in the tree, to a file named otherwise, to a file outside the tree, and a loop.
      await symlink('later.yaml', join(dir, 'a-link.yaml'));
      await symlink('data.txt', join(dir, 'b-link.yaml'));
      await symlink(join(outside, 'ext.yaml'), join(dir, 'c-link.yaml'));
      await symlink('e-loop.yaml', join(dir, 'd-loop.yaml'));
      await symlink('d-loop.yaml', join(dir, 'e-loop.yaml'));
      await eventually(async () => ((await fileSourceStatus(url)).problemCount === 5 ? true : undefined));

      await writeFile(join(dir, 'later.yaml'), slice('later', '10.0.1.1'));
      await writeFile(join(dir, 'data.txt'), slice('data', '10.0.1.2'));
      await writeFile(join(outside, 'ext.yaml'), slice('ext', '10.0.1.3'));
      await unlink(join(dir, 'e-loop.yaml'));
      await writeFile(join(dir, 'e-loop.yaml'), slice('loop', '10.0.1.4'));
      const fixed = Date.now();
      const status = async (name: string): Promise<number> =>
        (await get(`${url}/v1/namespaces/shop/services/${name}`)).status;
      // Well before the 30 s rescan: within the second every change is promised to be applied in.
      const source = await eventually(async () => {
        const now = await fileSourceStatus(url);
        const served = await Promise.all(['later', 'data', 'ext', 'loop'].map(status));
        return now.problemCount === 0 && served.every((s) => s === 200) ? now : undefined;
      }, 5000).catch(async (error: unknown) => {
        const now = await fileSourceStatus(url);
        const served = await Promise.all(['later', 'data', 'ext', 'loop'].map(status));
        assert.fail(`${(error as Error).message}: ${JSON.stringify({ problems: now.problems, served })}`);
      });
      assert.equal(source.error, null);
      assert.ok(Date.now() - fixed < 1500, `took ${Date.now() - fixed} ms`);
    } finally {
      await server.stop();
      await rm(outside, { recursive: true, force: true });
    }
  });
});

describe('file source, a file one byte over --file-max-size', () => {
  it('says by how much, not "1.0 KiB, over the limit of 1.0 KiB"; at the limit exactly it is served', async () => {
    const limit = 2048;
    const padded = (service: string, bytes: number): string => {
      const text = `${slice(service, '10.0.0.1')}#`;
      return `${text.padEnd(bytes - 1, 'x')}\n`;
    };
    const dir = await mkdtemp(join(tmpdir(), 'endpointd-attack7-'));
    await chmod(dir, 0o755);
    await writeFile(join(dir, 'at.yaml'), padded('at', limit));
    await writeFile(join(dir, 'over.yaml'), padded('over', limit + 1));
    const real = await startServer(dir, [`--file-max-size=${limit}`]);
    try {
      assert.equal((await get(`${real.url}/v1/namespaces/shop/services/at`)).status, 200);
      const source = await fileSourceStatus(real.url);
      assert.deepEqual(
        source.problems?.map((p) => p.message),
        ['is 2049 bytes, over the limit of 2048 bytes (2.0 KiB) (--file-max-size): not read'],
      );
    } finally {
      await real.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('file source, problems quoting huge values', () => {
  it('keeps /readyz small: its list is bounded in bytes, not only in count', async () => {
    const huge = '9'.repeat(50_000);
    const files: Record<string, string> = {};
    for (let i = 0; i < 20; i++) {
      files[`bad-${i}.yaml`] = sliceManifest('shop', `bad-${i}`, [huge]);
      files[`api-${i}.yaml`] = slice(`api-${i}`, '10.0.0.1').replace(
        'apiVersion: discovery.k8s.io/v1',
        `apiVersion: "${huge}"`,
      );
    }
    const server = await startTestEndpointd(files);
    try {
      const answer = await get(`${server.url}/readyz`);
      const [source] = answer.json<ReadinessDetail>().sources;
      assert.equal(source?.problemCount, 40);
      const cut = `"${'9'.repeat(79)}… (50002 characters)`;
      const messages = source?.problems?.map((p) => p.message) ?? [];
      assert.ok(messages.includes(`${cut} is not an IPv4 address`), messages[0]?.slice(0, 200));
      assert.ok(messages.includes(`must be "discovery.k8s.io/v1" for EndpointSlice, got ${cut}`));
      assert.ok(answer.text.length < 64 * 1024, `/readyz is ${answer.text.length} bytes`);
    } finally {
      await server.stop();
    }
  });
});

describe('file source, a file served under a symlink in the tree', () => {
  it('applies an edit of the real file within a second, when the link sorts first or the file is no manifest', async () => {
    const server = await startTestEndpointd({
      'sub/x.yaml': slice('x', '10.0.0.1'),
      'data/real.txt': slice('txt', '10.0.1.1'),
    });
    const { dir, url } = server;
    try {
      // Read once, under the first name in sorted order: the link.
      await symlink(join('sub', 'x.yaml'), join(dir, 'a-alias.yaml'));
      await symlink(join('data', 'real.txt'), join(dir, 'link.yaml'));
      const address = async (name: string): Promise<string | undefined> => {
        const answer = await get(`${url}/v1/namespaces/shop/services/${name}`);
        return answer.status === 200 ? answer.json<ServiceBody>().endpoints[0]?.addresses[0] : undefined;
      };
      await eventually(async () => ((await address('txt')) === '10.0.1.1' ? true : undefined));
      await eventually(async () =>
        (await fileSourceStatus(url)).problemCount === 0 && (await address('x')) === '10.0.0.1'
          ? true
          : undefined,
      );
      // The link's first pass is over (its event and any rescan of it) before the edits.
      await new Promise((resolve) => setTimeout(resolve, 300));
      await writeFile(join(dir, 'sub', 'x.yaml'), slice('x', '10.0.0.2'));
      await writeFile(join(dir, 'data', 'real.txt'), slice('txt', '10.0.1.2'));
      const edited = Date.now();
      await eventually(
        async () =>
          (await address('x')) === '10.0.0.2' && (await address('txt')) === '10.0.1.2' ? true : undefined,
        5000,
      ).catch(async () => assert.fail(`after 5 s: x ${await address('x')}, txt ${await address('txt')}`));
      assert.ok(Date.now() - edited < 1500, `took ${Date.now() - edited} ms`);
    } finally {
      await server.stop();
    }
  });
});

describe("file source, a kubelet volume's file also reached through a link elsewhere in the tree", () => {
  for (const [stepDelayMs, mounted] of [
    [0, 'in the tree'],
    [60, 'in the tree'],
    [60, 'outside, the tree linking to it'],
  ] as const) {
    it(`is counted once across kubelet's swaps (steps ${stepDelayMs} ms apart, the volume ${mounted}), and serves each update`, async () => {
      const root = await mkdtemp(join(tmpdir(), 'endpointd-attack7-'));
      const outside = await mkdtemp(join(tmpdir(), 'endpointd-attack7-volume-'));
      const inTree = mounted === 'in the tree';
      const volume = new KubeletVolume(join(inTree ? root : outside, 'static'), { stepDelayMs });
      await volume.write({ 'web.yaml': slice('web', '10.0.0.1') });
      if (!inTree) await symlink(volume.dir, join(root, 'static'));
      // Sorts before `static`: the file is served under the link's name.
      await symlink(join('static', 'web.yaml'), join(root, 'alias.yaml'));
      const logs = new LogLines();
      const endpointd = await startEndpointd(
        { ...TEST_CONFIG, sources: [{ kind: 'file', path: root }] },
        createLogger('info', logs),
      );
      await endpointd.synced;
      const url = `http://127.0.0.1:${endpointd.httpAddress.port}`;
      try {
        for (let i = 2; i <= 4; i++) {
          await volume.write({ 'web.yaml': slice('web', `10.0.0.${i}`) });
          await eventually(async () => {
            const answer = await get(`${url}/v1/namespaces/shop/services/web`);
            return answer.json<ServiceBody>().endpoints[0]?.addresses[0] === `10.0.0.${i}` ? true : undefined;
          });
        }
        await new Promise((resolve) => setTimeout(resolve, 300));
        assert.deepEqual(
          logs.withMessage(/defined more than once/).map((l) => l.msg),
          [],
          'never counted twice',
        );
        const served = logs
          .withMessage(/^manifests (loaded|changed)$/)
          .map((l) => (l as { files?: { served?: number } }).files?.served);
        assert.deepEqual(
          served.filter((n) => n !== 1),
          [],
          `files served after each pass: ${served.join(', ')}`,
        );
      } finally {
        await endpointd.stop();
        await rm(root, { recursive: true, force: true });
        await rm(outside, { recursive: true, force: true });
      }
    });
  }
});

describe('file source, thousands of files rewritten at once (an rsync, a git checkout)', () => {
  it('keeps the event loop free: a pass costs what it reads, not the square of the paths it was told of', async () => {
    const FILES = 6000;
    const files: Record<string, string> = {};
    for (let i = 0; i < FILES; i++) files[`s-${i}.yaml`] = slice(`s-${i}`, '10.0.0.1');
    const server = await startTestEndpointd(files);
    try {
      const histogram = monitorEventLoopDelay({ resolution: 1 });
      histogram.enable();
      const started = performance.now();
      for (let i = 0; i < FILES; i += 200) {
        await Promise.all(
          Array.from({ length: Math.min(200, FILES - i) }, (_, k) =>
            writeFile(join(server.dir, `s-${i + k}.yaml`), slice(`s-${i + k}`, '10.0.0.2')),
          ),
        );
      }
      await eventually(async () => {
        const answers = await Promise.all(
          [0, FILES / 2, FILES - 1].map((i) => get(`${server.url}/v1/namespaces/shop/services/s-${i}`)),
        );
        return answers.every((a) => a.json<ServiceBody>().endpoints[0]?.addresses[0] === '10.0.0.2')
          ? true
          : undefined;
      }, 60_000);
      histogram.disable();
      const worstMs = histogram.max / 1e6;
      assert.ok(
        worstMs < 300,
        `worst event-loop delay ${worstMs.toFixed(0)} ms (all applied after ${(performance.now() - started).toFixed(0)} ms)`,
      );
    } finally {
      await server.stop();
    }
  });
});

describe('file source, a directory link to a directory above the root', () => {
  it('is a loop, reported at the link and not walked: nothing beside the root is read', async () => {
    const top = await mkdtemp(join(tmpdir(), 'endpointd-attack7-'));
    await mkdir(join(top, 'root'));
    await mkdir(join(top, 'beside'));
    await writeFile(join(top, 'root', 'web.yaml'), slice('web', '10.0.0.1'));
    await writeFile(join(top, 'beside', 'other.yaml'), slice('other', '10.0.0.2'));
    // `up -> ..` leads back to the directory that contains the root, and so the link itself.
    await symlink('..', join(top, 'root', 'up'));
    const logs = new LogLines();
    const endpointd = await startEndpointd(
      { ...TEST_CONFIG, sources: [{ kind: 'file', path: join(top, 'root') }] },
      createLogger('info', logs),
    );
    await endpointd.synced;
    const url = `http://127.0.0.1:${endpointd.httpAddress.port}`;
    try {
      assert.deepEqual(await listedServiceNames(url, 'shop'), ['web']);
      const source = await fileSourceStatus(url);
      assert.deepEqual(source.problems, [
        { file: join(top, 'root', 'up'), message: `symlink loop: leads back to ${top}, which contains it` },
      ]);
    } finally {
      await endpointd.stop();
      await rm(top, { recursive: true, force: true });
    }
  });
});

describe('file source, the directory of a link target outside the tree deleted and made again', () => {
  it('reads the link again once its target is back, and sees every later edit of it within a second', async () => {
    const outside = await mkdtemp(join(tmpdir(), 'endpointd-attack7-outside-'));
    const ext = join(outside, 'ext');
    await mkdir(ext);
    await writeFile(join(ext, 'e.yaml'), slice('ext', '10.0.1.1'));
    const server = await startTestEndpointd({ 'web.yaml': slice('web', '10.0.0.1') });
    const { dir, url } = server;
    const address = async (): Promise<string | undefined> => {
      const answer = await get(`${url}/v1/namespaces/shop/services/ext`);
      return answer.status === 200 ? answer.json<ServiceBody>().endpoints[0]?.addresses[0] : undefined;
    };
    const served = (ip: string): Promise<true> =>
      eventually(async () => ((await address()) === ip ? true : undefined), 1500).catch(
        async (error: unknown) =>
          assert.fail(`${(error as Error).message}: ext serves ${await address()}, not ${ip}`),
      );
    try {
      await symlink(join(ext, 'e.yaml'), join(dir, 'e.yaml'));
      await served('10.0.1.1');
      await rm(ext, { recursive: true });
      await eventually(async () => ((await fileSourceStatus(url)).problemCount === 1 ? true : undefined));
      await mkdir(ext);
      await writeFile(join(ext, 'e.yaml'), slice('ext', '10.0.1.2'));
      await served('10.0.1.2');
      assert.equal((await fileSourceStatus(url)).problemCount, 0);
      await writeFile(join(ext, 'e.yaml'), slice('ext', '10.0.1.3'));
      await served('10.0.1.3');
    } finally {
      await server.stop();
      await rm(outside, { recursive: true, force: true });
    }
  });
});

describe('file source, a link that served a file of the tree removed', () => {
  for (const [kind, link, target] of [
    ['a directory link', 'a-link', 'z-real'],
    ['a file link', 'a-alias.yaml', join('z-real', 'x.yaml')],
  ] as const) {
    it(`${kind}: the file is served under its own name in the same step, never DELETED, never a 404`, async () => {
      const dir = await mkdtemp(join(tmpdir(), 'endpointd-attack7-'));
      await mkdir(join(dir, 'z-real'));
      await writeFile(join(dir, 'z-real', 'x.yaml'), slice('zz', '10.0.0.1'));
      // Read at start under the link's name: it sorts first.
      await symlink(target, join(dir, link));
      const logs = new LogLines();
      const endpointd = await startEndpointd(
        { ...TEST_CONFIG, sources: [{ kind: 'file', path: dir }] },
        createLogger('info', logs),
      );
      await endpointd.synced;
      const url = `http://127.0.0.1:${endpointd.httpAddress.port}`;
      try {
        const loaded = logs.withMessage('manifests loaded')[0] as
          { files?: { readNames?: string[] } } | undefined;
        assert.deepEqual(loaded?.files?.readNames, [
          join(dir, link, ...(kind === 'a directory link' ? ['x.yaml'] : [])),
        ]);
        const stream = await EventStream.open(`${url}/v1/watch?namespace=shop`);
        try {
          await stream.until('SYNCED');
          const statuses: number[] = [];
          let polling = true;
          const poller = (async () => {
            while (polling) statuses.push((await get(`${url}/v1/namespaces/shop/services/zz`)).status);
          })();
          await rm(join(dir, link));
          await new Promise((resolve) => setTimeout(resolve, 1000));
          polling = false;
          await poller;
          await writeFile(join(dir, 'marker.yaml'), slice('marker', '10.0.9.1'));
          const events = await stream.until('ADDED', 3000);
          assert.deepEqual(
            events
              .filter((e) => e.data.type !== 'HEARTBEAT')
              .map((e) => `${e.data.type} ${String(e.data.name)}`),
            ['ADDED marker'],
          );
          assert.deepEqual(
            statuses.filter((s) => s !== 200),
            [],
            `${statuses.length} lookups`,
          );
        } finally {
          stream.close();
        }
      } finally {
        await endpointd.stop();
        await rm(dir, { recursive: true, force: true });
      }
    });
  }
});
