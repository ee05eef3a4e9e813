// One bad file is that file's problem only: each kind of bad file that can be produced on a test machine (also as
// root, where permissions do not stop a read) is logged with its path, listed in status() and /readyz, and every
// other file is served — at start, and when a good file goes bad on a later read (its last good state kept).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createLogger } from '../src/observability/logger.ts';
import { FileSource, type FileSourceOptions } from '../src/sources/file/file-source.ts';
import type { SourceProblem } from '../src/sources/source.ts';
import { LOGGED_PROBLEMS_PER_FILE } from '../src/sources/file/problems.ts';
import { EndpointStore } from '../src/store/endpoint-store.ts';
import { sliceManifest } from './support/endpointd.ts';
import { eventually } from './support/http.ts';
import { LogLines } from './support/log-lines.ts';

const LIMIT = 8192;
const slice = (service: string, ip: string): string => sliceManifest('shop', service, [ip]);
/** A manifest over LIMIT bytes: valid, only too large. */
const oversized = (service: string): string =>
  sliceManifest(
    'shop',
    service,
    Array.from({ length: 60 }, (_, i) => `10.9.${Math.floor(i / 200)}.${(i % 200) + 1}`),
  );

/** A FileSource on `dir` with a store of its own, logging at info into `logs`. */
function sourceOn(
  dir: string,
  options: Partial<FileSourceOptions> = {},
): { logs: LogLines; store: EndpointStore; source: FileSource } {
  const logs = new LogLines();
  const store = new EndpointStore({ encodedCacheBytes: 1 << 20 });
  const source = new FileSource({ path: dir, store, logger: createLogger('info', logs), ...options });
  return { logs, store, source };
}

/** Ways to make `path` unusable that work as root too. */
const BREAKERS: Record<string, (path: string) => Promise<void>> = {
  'invalid YAML': (path) => writeFile(path, 'kind: EndpointSlice\nmetadata:\n  name: x: y\n'),
  'a bad field': (path) => writeFile(path, sliceManifest('shop', 'x', ['10.0.0.999'])),
  'a directory where the file was': (path) => mkdir(path),
  'a broken symlink': (path) => symlink(join(path, '..', 'no-such-target.yaml'), path),
  'a symlink loop': (path) => symlink(path, path),
  'a FIFO': (path) => {
    execFileSync('mkfifo', [path]);
    return Promise.resolve();
  },
  // Reading another process's memory from offset 0 fails with EIO, whoever reads it.
  'a read error (EIO)': (path) => symlink('/proc/self/mem', path),
  'over the size limit': (path) => writeFile(path, oversized('big')),
};

const EXPECTED_MESSAGE: Record<string, RegExp> = {
  'invalid YAML': /invalid YAML at line 3, column 10: bad indentation of a mapping entry/,
  'a bad field': /not an IPv4 address/,
  'a directory where the file was': /is a directory where a manifest file was expected/,
  'a broken symlink': /broken symlink: its target .*no-such-target\.yaml does not exist/,
  'a symlink loop': /symlink loop/,
  'a FIFO': /not a regular file/,
  'a read error (EIO)': /cannot read: .*EIO/,
  'over the size limit': /over the limit of 8\.0 KiB \(--file-max-size\)/,
};

const names = Object.keys(BREAKERS);
const fileOf = (dir: string, i: number): string => join(dir, `bad-${i}.yaml`);

function byFile(problems: readonly SourceProblem[] | undefined): Map<string, SourceProblem[]> {
  const out = new Map<string, SourceProblem[]>();
  for (const p of problems ?? []) out.set(p.file, [...(out.get(p.file) ?? []), p]);
  return out;
}

describe('file source, one bad file', () => {
  it('at start: each bad file is logged with its path and listed, every good file is served', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'endpointd-bad-'));
    await writeFile(join(dir, 'a-good.yaml'), slice('good-a', '10.0.0.1'));
    await writeFile(join(dir, 'z-good.yaml'), slice('good-z', '10.0.0.2'));
    for (const [i, name] of names.entries()) await BREAKERS[name]?.(fileOf(dir, i));
    const { logs, store, source } = sourceOn(dir, { maxFileBytes: LIMIT });
    try {
      await source.start();
      assert.deepEqual(
        store.list().map((s) => s.name),
        ['good-a', 'good-z'],
        'the files after the bad ones in name order are served too',
      );
      const status = source.status();
      const problems = byFile(status.problems);
      for (const [i, name] of names.entries()) {
        const listed = problems.get(fileOf(dir, i));
        assert.ok(listed !== undefined, `${name} is listed: ${JSON.stringify(status.problems)}`);
        assert.match(listed[0]?.message ?? '', EXPECTED_MESSAGE[name] ?? /never/, name);
        const logged = logs.withMessage('invalid manifest: keeping the last good state of this file');
        assert.ok(
          logged.some((l) => l.file === fileOf(dir, i)),
          `${name} is logged with its path`,
        );
      }
      assert.equal(problems.size, names.length);
      const yaml = problems.get(fileOf(dir, names.indexOf('invalid YAML')))?.[0];
      assert.equal(yaml?.line, 3);
      assert.equal(yaml?.column, 10);
      assert.equal(yaml?.document, 1);
      const field = problems.get(fileOf(dir, names.indexOf('a bad field')))?.[0];
      assert.equal(field?.field, 'endpoints.0.addresses.0');
      assert.match(status.error ?? '', new RegExp(`${names.length} problem\\(s\\) in ${names.length} file`));
    } finally {
      await source.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('later: a good file gone bad keeps its last good state and is listed, on every rescan; fixed, it is served again', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'endpointd-bad-later-'));
    for (const i of names.keys()) await writeFile(fileOf(dir, i), slice(`svc-${i}`, `10.0.1.${i + 1}`));
    await writeFile(join(dir, 'other.yaml'), slice('other', '10.0.2.1'));
    const { logs, store, source } = sourceOn(dir, { maxFileBytes: LIMIT, rescanMs: 150 });
    try {
      await source.start();
      assert.equal(store.list().length, names.length + 1);
      for (const [i, name] of names.entries()) {
        await rm(fileOf(dir, i), { force: true });
        await BREAKERS[name]?.(fileOf(dir, i));
      }
      await eventually(() => (source.status().problemCount === names.length ? true : undefined), 3000);
      const loggedOnce = logs.withMessage(
        'invalid manifest: keeping the last good state of this file',
      ).length;
      // Several periodic rescans later: still listed, still served from the last good state, not logged again.
      await new Promise((resolve) => setTimeout(resolve, 600));
      const problems = byFile(source.status().problems);
      for (const [i, name] of names.entries()) {
        assert.match(
          problems.get(fileOf(dir, i))?.[0]?.message ?? '',
          EXPECTED_MESSAGE[name] ?? /never/,
          name,
        );
        const served = store.get({ namespace: 'shop', name: `svc-${i}` });
        assert.equal(served?.endpoints[0]?.addresses[0], `10.0.1.${i + 1}`, `${name}: last good state kept`);
      }
      assert.equal(store.get({ namespace: 'shop', name: 'other' })?.endpoints.length, 1);
      assert.equal(
        logs.withMessage('invalid manifest: keeping the last good state of this file').length,
        loggedOnce,
        'an unchanged problem is not logged again on each rescan',
      );

      // Also a change to another file meanwhile is applied.
      await writeFile(join(dir, 'other.yaml'), slice('other', '10.0.2.2'));
      await eventually(
        () =>
          store.get({ namespace: 'shop', name: 'other' })?.endpoints[0]?.addresses[0] === '10.0.2.2'
            ? true
            : undefined,
        1000,
      );

      for (const i of names.keys()) {
        await rm(fileOf(dir, i), { recursive: true, force: true });
        await writeFile(fileOf(dir, i), slice(`svc-${i}`, `10.0.3.${i + 1}`));
      }
      await eventually(() => (source.status().problemCount === 0 ? true : undefined), 3000);
      for (const i of names.keys()) {
        await eventually(
          () =>
            store.get({ namespace: 'shop', name: `svc-${i}` })?.endpoints[0]?.addresses[0] ===
            `10.0.3.${i + 1}`
              ? true
              : undefined,
          1000,
        );
      }
      assert.equal(source.status().error, undefined);
    } finally {
      await source.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('lists each problem in a bounded list, and counts them all', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'endpointd-many-bad-'));
    for (let i = 0; i < 60; i++)
      await writeFile(join(dir, `bad-${String(i).padStart(2, '0')}.yaml`), 'kind: [');
    const { source } = sourceOn(dir);
    try {
      await source.start();
      const status = source.status();
      assert.equal(status.problemCount, 60);
      assert.equal(status.problems?.length, 50);
      assert.ok(
        status.problems?.every(
          (p) => p.file.startsWith(dir) && /invalid YAML at line \d+, column \d+/.test(p.message),
        ),
      );
      assert.match(status.error ?? '', /^60 problem\(s\) in 60 file\(s\)/);
    } finally {
      await source.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('names the syntax error of a .json file as JSON, with its line and column', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'endpointd-bad-json-'));
    await writeFile(join(dir, 'bad.json'), '{"kind": "EndpointSlice",\n  "metadata": {"name": "x"\n}');
    const { source } = sourceOn(dir);
    try {
      await source.start();
      const [problem] = source.status().problems ?? [];
      assert.equal(problem?.file, join(dir, 'bad.json'));
      assert.match(problem?.message ?? '', /^invalid JSON at line 3, column 2: /);
      assert.deepEqual([problem?.line, problem?.column], [3, 2]);
    } finally {
      await source.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('names a file whose name is not UTF-8 (readdir cannot give a path that opens it) instead of skipping it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'endpointd-latin1-'));
    // "café.yaml" in Latin-1: one byte 0xE9, which is no UTF-8.
    const latin1 = Buffer.concat([Buffer.from(`${dir}/caf`), Buffer.from([0xe9]), Buffer.from('.yaml')]);
    await writeFile(latin1, slice('cafe', '10.3.0.1'));
    await mkdir(Buffer.concat([Buffer.from(`${dir}/d`), Buffer.from([0xff])]));
    await writeFile(join(dir, 'good.yaml'), slice('good', '10.3.0.2'));
    const { logs, store, source } = sourceOn(dir);
    try {
      await source.start();
      assert.equal(store.get({ namespace: 'shop', name: 'good' })?.endpoints.length, 1);
      const problems = source.status().problems ?? [];
      assert.deepEqual(problems.map((p) => [p.file, p.message]).sort(), [
        [join(dir, 'caf\uFFFD.yaml'), 'its name is not valid UTF-8: not read (rename it)'],
        [join(dir, 'd\uFFFD'), 'its name is not valid UTF-8: not read (rename it)'],
      ]);
      assert.equal(logs.withMessage('invalid manifest: keeping the last good state of this file').length, 2);
      // A name that really holds U+FFFD is an ordinary name.
      await writeFile(join(dir, 'odd-\uFFFD.yaml'), slice('odd', '10.3.0.3'));
      await eventually(() => store.get({ namespace: 'shop', name: 'odd' }), 5000);
    } finally {
      await source.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('logs a file with thousands of bad documents in a bounded number of lines, every bad file still named', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'endpointd-flood-'));
    const documents = 2_000;
    const badSlices = Array.from({ length: documents }, (_, i) => slice(`svc-${i}`, `10.0.${i}.999`));
    await writeFile(join(dir, 'generated.yaml'), badSlices.join('---\n'));
    await writeFile(join(dir, 'typo.yaml'), 'kind: [');
    await writeFile(join(dir, 'good.yaml'), slice('good', '10.1.0.1'));
    const { logs, store, source } = sourceOn(dir, { rescanMs: 100 });
    try {
      await source.start();
      assert.equal(source.status().problemCount, documents + 1);
      assert.equal(store.get({ namespace: 'shop', name: 'good' })?.endpoints.length, 1);
      const problemLines = (file: string) =>
        logs
          .withMessage('invalid manifest: keeping the last good state of this file')
          .filter((l) => l['file'] === join(dir, file));
      const generated = problemLines('generated.yaml');
      assert.equal(generated.length, LOGGED_PROBLEMS_PER_FILE);
      assert.ok(generated.every((l) => /is not an IPv4 address/.test(String(l['problem']))));
      const more = logs.withMessage('invalid manifest: more problems in this file, not logged one by one');
      assert.deepEqual(
        more.map((l) => [l['file'], l['more'], l['problems']]),
        [[join(dir, 'generated.yaml'), documents - LOGGED_PROBLEMS_PER_FILE, documents]],
      );
      assert.equal(problemLines('typo.yaml').length, 1, 'another bad file is logged as ever');
      // Rescans find the same problems: nothing is logged again.
      const logged = logs.lines.length;
      await new Promise((resolve) => setTimeout(resolve, 400));
      assert.equal(logs.lines.length, logged);
    } finally {
      await source.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('file source, what changed', () => {
  it('logs at info, for every read that changes something, the files read and the Services added, changed, removed', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'endpointd-changes-'));
    await writeFile(join(dir, 'a.yaml'), slice('alpha', '10.0.0.1'));
    const { logs, source } = sourceOn(dir);
    type Changed = {
      files: { read: number; removed: number; readNames?: string[]; removedNames?: string[] };
    } & {
      services: {
        added: number;
        changed: number;
        removed: number;
        addedNames?: string[];
        changedNames?: string[];
        removedNames?: string[];
      };
    };
    const changed = (): Changed[] => logs.withMessage('manifests changed') as unknown as Changed[];
    try {
      await source.start();
      const loaded = logs.withMessage('manifests loaded')[0] as unknown as Changed;
      assert.deepEqual(loaded.services.addedNames, ['shop/alpha']);
      await writeFile(join(dir, 'b.yaml'), slice('beta', '10.0.0.2'));
      await eventually(() => (changed().length === 1 ? true : undefined));
      await writeFile(join(dir, 'a.yaml'), slice('alpha', '10.0.0.3'));
      await eventually(() => (changed().length === 2 ? true : undefined));
      await rm(join(dir, 'b.yaml'));
      await eventually(() => (changed().length === 3 ? true : undefined));
      const [added, modified, removed] = changed();
      assert.deepEqual(added?.files.readNames, [join(dir, 'b.yaml')]);
      assert.deepEqual(added?.services.addedNames, ['shop/beta']);
      assert.deepEqual(modified?.services.changedNames, ['shop/alpha']);
      assert.deepEqual(removed?.files.removedNames, [join(dir, 'b.yaml')]);
      assert.deepEqual(removed?.services.removedNames, ['shop/beta']);
      assert.ok(changed().every((l) => (l as unknown as { level: number }).level === 30));
    } finally {
      await source.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
