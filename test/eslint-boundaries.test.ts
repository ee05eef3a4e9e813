// The layer boundaries of eslint.config.js bite: from every folder of the doors (src/api/**, src/security/**) an
// import of any source module or of the store's implementation is an error, and from every folder of the sources an
// import of any door module or of the store beyond its faces is; what both may share (model, kube, views, the
// store's faces) is not. The folders and modules are read from the tree, so a new folder or file is covered too.
// Static imports, re-exports and import() calls are each checked.
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { ESLint } from 'eslint';
import tseslint from 'typescript-eslint';

const ROOT = resolve(import.meta.dirname, '..');
const BOUNDARY_RULES = new Set(['no-restricted-imports', 'no-restricted-syntax']);

// The boundary rules need no type information: linting without it keeps this test fast.
const eslint = new ESLint({ cwd: ROOT, overrideConfig: [tseslint.configs.disableTypeChecked] });

/** `dir` (relative to the root) and every folder below it. */
function foldersOf(dir: string): string[] {
  const entries = readdirSync(join(ROOT, dir), { recursive: true, withFileTypes: true });
  return [
    dir,
    ...entries.filter((e) => e.isDirectory()).map((e) => relative(ROOT, join(e.parentPath, e.name))),
  ];
}

/** Every TypeScript module in `dir` (relative to the root), recursively. */
function modulesOf(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => relative(ROOT, join(e.parentPath, e.name)));
}

/** One import of each target, in turn as `import type`, `export * from` and `import()`: line i imports target i. */
function importsFrom(folder: string, targets: readonly string[]): string {
  return targets
    .map((target, i) => {
      const specifier = relative(join(ROOT, folder), join(ROOT, target));
      const path = specifier.startsWith('.') ? specifier : `./${specifier}`;
      if (i % 3 === 0) return `import type * as m${i} from '${path}';`;
      if (i % 3 === 1) return `export * from '${path}';`;
      return `void import('${path}');`;
    })
    .join('\n');
}

/** The 1-based lines the boundary rules report for `code` linted as a file of `folder`. */
async function reportedLines(folder: string, code: string): Promise<Set<number>> {
  const [result] = await eslint.lintText(code, { filePath: join(ROOT, folder, 'boundary-probe.ts') });
  assert.ok(result !== undefined);
  const fatal = result.messages.filter((m) => m.fatal === true || m.ruleId === null);
  assert.deepEqual(fatal, [], `the probe in ${folder} parses`);
  return new Set(result.messages.filter((m) => BOUNDARY_RULES.has(m.ruleId ?? '')).map((m) => m.line));
}

function allLines(targets: readonly string[]): Set<number> {
  return new Set(targets.map((_, i) => i + 1));
}

const SHARED = ['src/model.ts', ...modulesOf('src/kube'), 'src/store/faces.ts', ...modulesOf('src/views')];
const SIDES = [
  {
    name: 'a front door',
    folders: [...foldersOf('src/api'), ...foldersOf('src/security')],
    forbidden: [...modulesOf('src/sources'), 'src/store/endpoint-store.ts'],
    // The reader face hands out subscriptions and the encoded-form cache: their modules are part of it.
    allowed: [...SHARED, 'src/store/subscription.ts', 'src/store/encoded-cache.ts'],
  },
  {
    name: 'a source',
    folders: foldersOf('src/sources'),
    forbidden: [...modulesOf('src/api'), ...modulesOf('src/store').filter((m) => m !== 'src/store/faces.ts')],
    allowed: SHARED,
  },
];

for (const side of SIDES) {
  describe(`the import boundaries of ${side.name}`, () => {
    it('cover folders and modules that exist', () => {
      assert.ok(side.folders.length >= 3, side.folders.join(', '));
      assert.ok(side.forbidden.length >= 5, side.forbidden.join(', '));
    });

    for (const folder of side.folders) {
      it(`refuse, in ${folder}, every import of the other side and of the store's insides`, async () => {
        const reported = await reportedLines(folder, importsFrom(folder, side.forbidden));
        assert.deepEqual(
          side.forbidden.filter((_, i) => !reported.has(i + 1)),
          [],
          'imports the boundaries let through',
        );
        assert.deepEqual(reported, allLines(side.forbidden));
      });

      it(`let ${folder} import what both sides share`, async () => {
        const reported = await reportedLines(folder, importsFrom(folder, side.allowed));
        assert.deepEqual(
          side.allowed.filter((_, i) => reported.has(i + 1)),
          [],
          'shared modules the boundaries refuse',
        );
      });
    }
  });
}

describe('the import boundaries between sources', () => {
  const sourceFolders = readdirSync(join(ROOT, 'src/sources'), { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => `src/sources/${e.name}`);

  it('find the sources', () => {
    assert.ok(sourceFolders.includes('src/sources/file') && sourceFolders.includes('src/sources/kubernetes'));
  });

  for (const source of sourceFolders) {
    const others = sourceFolders.filter((s) => s !== source).flatMap(modulesOf);
    for (const folder of foldersOf(source)) {
      it(`refuse, in ${folder}, every module of another source`, async () => {
        const reported = await reportedLines(folder, importsFrom(folder, others));
        assert.deepEqual(
          others.filter((_, i) => !reported.has(i + 1)),
          [],
          'imports the boundaries let through',
        );
      });
      it(`let ${folder} import its own source's modules and what sources share`, async () => {
        const own = [...modulesOf(source), 'src/sources/publish.ts', 'src/sources/service-assembler.ts'];
        assert.deepEqual(await reportedLines(folder, importsFrom(folder, own)), new Set());
      });
    }
  }

  it('refuse, in what the sources share, every module of any one source', async () => {
    const all = sourceFolders.flatMap(modulesOf);
    const reported = await reportedLines('src/sources', importsFrom('src/sources', all));
    assert.deepEqual(reported, allLines(all));
  });
});

describe('the import boundaries elsewhere', () => {
  it('leave the composition root free to wire sources, store and doors', async () => {
    const targets = [
      'src/sources/file/file-source.ts',
      'src/store/endpoint-store.ts',
      'src/api/rest/app.ts',
      'src/sources/kubernetes/index.ts',
    ];
    assert.deepEqual(await reportedLines('src', importsFrom('src', targets)), new Set());
  });
});
