// What a parse worker hands the main thread (its plain documents written as JSON, checked and converted on the main
// thread: src/sources/file/parse-file.ts RawPiece, rebuilt.ts) must come to exactly what the main thread makes of the
// same file itself: the same objects, the same skipped kinds, and for a refused file the same problems (document,
// field, line and column) in the same order. Files are generated from documents of every kind the reader meets —
// plain and js-yaml's, valid, with a bad field, with a syntax error, of kinds that are skipped, Lists — some of
// them large enough that the worker sends them ahead in parts.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { ParsePool } from '../src/sources/file/parse-pool.ts';
import { readAndParse, type ReadTask, type WorkerRead } from '../src/sources/file/parse-worker.ts';

function slice(i: number, address = `10.1.${i % 250}.1`, port = 8080): string {
  return [
    'apiVersion: discovery.k8s.io/v1',
    'kind: EndpointSlice',
    'metadata:',
    `  name: web-${i}-abcde`,
    '  namespace: handover',
    '  labels:',
    `    kubernetes.io/service-name: web-${i}`,
    'addressType: IPv4',
    'ports:',
    '  - name: http',
    `    port: ${port}`,
    'endpoints:',
    '  - addresses:',
    `      - ${address}`,
    '    conditions:',
    '      ready: true',
    '    zone: zone-a',
    '    targetRef:',
    '      kind: Pod',
    `      name: web-${i}-7d9f8c6b5-abcde`,
    '',
  ].join('\n');
}

function service(i: number): string {
  return [
    'apiVersion: v1',
    'kind: Service',
    'metadata:',
    `  name: web-${i}`,
    '  namespace: handover',
    'spec:',
    '  ports:',
    '    - name: http',
    '      port: 80',
    '      targetPort: 8080',
    '',
  ].join('\n');
}

/** Documents of each kind, by the index of the Service they name. */
const documents: Record<string, (i: number) => string> = {
  plain: (i) => slice(i),
  'plain, a bad address': (i) => slice(i, '10.0.0.999'),
  'plain, a port out of range': (i) => slice(i, '10.2.0.1', 70000),
  "js-yaml's (a comment)": (i) => `# web ${i}\n${service(i)}`,
  "js-yaml's, a bad port": (i) => `# web ${i}\n${slice(i, '10.3.0.1', 0)}`,
  'a syntax error': (i) => `kind: Service\nmetadata: { name: web-${i}\n`,
  'a skipped kind': (i) => `apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web-${i}\n`,
  'a List': (i) =>
    `apiVersion: v1\nkind: List\nitems:\n  - ${service(i).trimEnd().replaceAll('\n', '\n    ')}\n  - kind: ConfigMap\n    metadata:\n      name: c\n`,
  empty: () => '',
};
const KINDS = Object.keys(documents);

/** A file: its documents, each a kind and the Service it names; `large` puts ~300 KB of plain slices first. */
const file = fc.record({
  docs: fc.array(fc.tuple(fc.constantFrom(...KINDS), fc.nat({ max: 999 })), { minLength: 1, maxLength: 6 }),
  large: fc.boolean(),
});
type GeneratedFile = typeof file extends fc.Arbitrary<infer F> ? F : never;

function text(generated: GeneratedFile): string {
  const docs = generated.docs.map(([kind, i]) => (documents[kind] ?? (() => ''))(i));
  const head = generated.large ? Array.from({ length: 600 }, (_, i) => slice(1000 + i)) : [];
  return [...head, ...docs].join('---\n');
}

/** `read` with its stamp's trust left out (it says how long ago the file was written when it was opened). */
function untrusted(read: WorkerRead | undefined): WorkerRead | undefined {
  return read?.kind === 'parsed' ? { ...read, trustStamp: false } : read;
}

describe("a parse worker's hand-over", () => {
  let dir: string;
  let pool: ParsePool;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'endpointd-handover-'));
    pool = new ParsePool({ size: 1 });
  });
  after(async () => {
    await pool.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('comes to what the main thread makes of the same files: objects, skipped kinds, problems in order', async () => {
    let run = 0;
    const seen = { parsed: 0, broken: 0 };
    await fc.assert(
      fc.asyncProperty(fc.array(file, { minLength: 1, maxLength: 4 }), async (files) => {
        run += 1;
        const tasks: ReadTask[] = [];
        for (const [k, generated] of files.entries()) {
          const path = join(dir, `run-${run}-${k}.yaml`);
          await writeFile(path, text(generated));
          tasks.push({ path, maxBytes: 1 << 24, request: { format: 'yaml' } });
        }
        // No main thread allowed: every file goes through the worker.
        const fromWorker = await pool.run(tasks);
        tasks.forEach((task, k) => {
          const here = readAndParse(task);
          assert.deepStrictEqual(
            untrusted(fromWorker[k]),
            untrusted(here),
            `file ${k} of ${JSON.stringify(files)}`,
          );
          if (here.kind === 'parsed' && here.result.kind === 'parsed') seen.parsed += 1;
          if (here.kind === 'parsed' && here.result.kind === 'broken') seen.broken += 1;
        });
      }),
      { numRuns: 40 },
    );
    // Not vacuous: both served and refused files were compared.
    assert.ok(seen.parsed >= 5 && seen.broken >= 5, JSON.stringify(seen));
  });

  it('keeps the documents after one so large that the worker lets its buffer go', async () => {
    // A Service with a 5 MB annotation (one plain line), then a slice: the worker sends the Service ahead, then
    // trades its grown buffer for a small one, and the slice written after must still reach the main thread.
    const path = join(dir, 'huge.yaml');
    const huge = service(7).replace(
      '  namespace: handover\n',
      `  namespace: handover\n  annotations:\n    note: ${'a'.repeat(5 * 2 ** 20)}\n`,
    );
    await writeFile(path, [huge, slice(7), slice(8)].join('---\n'));
    const task: ReadTask = { path, maxBytes: 1 << 24, request: { format: 'yaml' } };
    const [read] = await pool.run([task]);
    assert.ok(read?.kind === 'parsed' && read.result.kind === 'parsed', 'served');
    assert.deepEqual(
      read.result.pieces.map((p) => p.content?.objects.map((o) => `${o.kind} ${o.object.metadata.name}`)),
      [['Service web-7'], ['EndpointSlice web-7-abcde'], ['EndpointSlice web-8-abcde']],
    );
    assert.deepStrictEqual(untrusted(read), untrusted(readAndParse(task)));
  });

  it("names a plain document's bad field with its document and field, found on the main thread", async () => {
    const path = join(dir, 'bad.yaml');
    await writeFile(path, [service(1), slice(1), slice(2, '10.0.0.999')].join('---\n'));
    const [read] = await pool.run([{ path, maxBytes: 1 << 20, request: { format: 'yaml' } }]);
    assert.ok(read?.kind === 'parsed' && read.result.kind === 'broken', 'refused');
    assert.deepEqual(read.result.problems, [
      { document: 3, path: 'endpoints.0.addresses.0', message: '"10.0.0.999" is not an IPv4 address' },
    ]);
  });
});
