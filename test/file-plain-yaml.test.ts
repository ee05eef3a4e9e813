// The plain-subset YAML reader (src/sources/file/plain-yaml.ts) against js-yaml, the authority: on every document
// it reads, it must give exactly what js-yaml's loadAll gives (values, types, key order); on every document js-yaml
// refuses, it must decline. Documents are generated in the shapes kubectl and js-yaml's dump print (all dump
// styles, keys and strings from an alphabet full of YAML's special characters and words), then mutated line by line
// and character by character to reach the edges of the subset; the repository's own manifests are checked too.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { dump, loadAll, type DumpOptions } from 'js-yaml';
import { splitDocuments } from '../src/sources/file/documents.ts';
import { readPlainDocument } from '../src/sources/file/plain-yaml.ts';

type Verdict = 'read' | 'declined';

/** Checks one document text; returns whether the plain reader read it. */
function agrees(text: string): Verdict {
  let expected: unknown[] | Error;
  try {
    expected = loadAll(text);
  } catch (error) {
    expected = error as Error;
  }
  const got = readPlainDocument(text);
  if (got === undefined) return 'declined';
  assert.ok(!(expected instanceof Error), `read a document js-yaml refuses (${String(expected)}):\n${text}`);
  assert.equal(expected.length, 1, `read one document where js-yaml finds ${expected.length}:\n${text}`);
  assert.deepStrictEqual(got, expected[0], `a different value than js-yaml's for:\n${text}`);
  // Key order too: it decides the order of labels and annotations downstream.
  assert.equal(JSON.stringify(got), JSON.stringify(expected[0]), `a different key order for:\n${text}`);
  return 'read';
}

/** Characters and words that mean something to YAML, mixed with ordinary ones. */
const SPECIAL = [
  ...'-?:,[]{}#&*!|>\'"%@`~ .+_/=\\\t\r<',
  ': ',
  ' #',
  '- ',
  '---',
  '...',
  '<<',
  '__proto__',
  'null',
  'Null',
  'NULL',
  'true',
  'True',
  'FALSE',
  'yes',
  'on',
  '0x1F',
  '0o17',
  '017',
  '1e3',
  '-1',
  '+2',
  '.5',
  '1.',
  '.inf',
  '-.Inf',
  '.NaN',
  '1_000',
  '12:30',
  '2026-12-01',
  '10.0.0.1',
  'é',
  '\u0085',
  '\u2028',
];
const word = fc.oneof(
  fc.constantFrom(...SPECIAL),
  fc.stringMatching(/^[a-zA-Z][a-zA-Z0-9./-]{0,10}$/),
  fc.integer({ min: 0, max: 99999 }).map(String),
);
const text = fc.array(word, { minLength: 0, maxLength: 4 }).map((parts) => parts.join(''));
const key = fc.oneof({ weight: 3, arbitrary: fc.stringMatching(/^[a-zA-Z][a-zA-Z0-9./_-]{0,14}$/) }, text);

const value: fc.Arbitrary<unknown> = fc.letrec<{ node: unknown }>((tie) => ({
  node: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    text,
    fc.integer({ min: -70000, max: 70000 }),
    fc.double({ noDefaultInfinity: false }),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('node'), { maxLength: 4 }),
    fc.dictionary(key, tie('node'), { maxKeys: 5 }),
  ),
})).node;

const dumpOptions: fc.Arbitrary<DumpOptions> = fc.record({
  indent: fc.integer({ min: 1, max: 4 }),
  seqNoIndent: fc.boolean(),
  seqInlineFirst: fc.boolean(),
  flowLevel: fc.constantFrom(-1, -1, 1, 2),
  lineWidth: fc.constantFrom(-1, 20, 80),
  quoteStyle: fc.constantFrom('single' as const, 'double' as const),
  forceQuotes: fc.boolean(),
});

/** A document as a file holds it: after a `---` line or not, with blank lines and trailing spaces around. */
const documentText = fc
  .tuple(
    fc.dictionary(key, value, { minKeys: 1, maxKeys: 6 }),
    dumpOptions,
    fc.constantFrom('', '---\n', '--- \n', '\n---\n'),
    fc.constantFrom('', '\n', '\n\n  \n'),
  )
  .map(([object, options, head, tail]) => `${head}${dump(object, options)}${tail}`);

/** One change to a document's text: a character in or out, a line moved, doubled, indented or dedented. */
const mutation = fc.oneof(
  fc.record({
    kind: fc.constant('insert' as const),
    at: fc.nat(),
    what: fc.constantFrom(...SPECIAL, '\n', ' '),
  }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 3 }) }),
  fc.record({ kind: fc.constant('double' as const), line: fc.nat() }),
  fc.record({ kind: fc.constant('indent' as const), line: fc.nat(), by: fc.integer({ min: -2, max: 2 }) }),
  fc.record({ kind: fc.constant('swap' as const), line: fc.nat() }),
);

function mutate(source: string, change: MutationOf): string {
  const lines = source.split('\n');
  const at = (n: number): number => n % Math.max(1, lines.length);
  switch (change.kind) {
    case 'insert': {
      const i = change.at % (source.length + 1);
      return source.slice(0, i) + change.what + source.slice(i);
    }
    case 'delete': {
      const i = change.at % Math.max(1, source.length);
      return source.slice(0, i) + source.slice(i + change.length);
    }
    case 'double':
      lines.splice(at(change.line), 0, lines[at(change.line)] ?? '');
      return lines.join('\n');
    case 'indent': {
      const i = at(change.line);
      const line = lines[i] ?? '';
      lines[i] =
        change.by >= 0 ? ' '.repeat(change.by) + line : line.replace(new RegExp(`^ {0,${-change.by}}`), '');
      return lines.join('\n');
    }
    case 'swap': {
      const i = at(change.line);
      const j = at(change.line + 1);
      [lines[i], lines[j]] = [lines[j] ?? '', lines[i] ?? ''];
      return lines.join('\n');
    }
  }
}
type MutationOf = typeof mutation extends fc.Arbitrary<infer M> ? M : never;

/** kubectl's style: identifier keys, compact sequences, double quotes for strings that need them. */
const kubectlStyle = fc
  .tuple(
    fc.dictionary(
      fc.stringMatching(/^[a-zA-Z][a-zA-Z0-9./_-]{0,14}$/),
      fc.letrec<{ node: unknown }>((tie) => ({
        node: fc.oneof(
          { depthSize: 'small' },
          fc.stringMatching(/^[a-zA-Z0-9][a-zA-Z0-9 .:/_-]{0,20}$/),
          fc.integer({ min: 0, max: 65535 }),
          fc.boolean(),
          fc.array(tie('node'), { maxLength: 3 }),
          fc.dictionary(fc.stringMatching(/^[a-z][a-zA-Z0-9./-]{0,12}$/), tie('node'), { maxKeys: 4 }),
        ),
      })).node,
      { minKeys: 1, maxKeys: 6 },
    ),
    fc.boolean(),
  )
  .map(([object, compact]) =>
    dump(object, { indent: 2, seqNoIndent: compact, lineWidth: -1, quoteStyle: 'double' }),
  );

describe('the plain YAML reader', () => {
  it('gives what js-yaml gives, or declines, on generated documents in every dump style', () => {
    let read = 0;
    fc.assert(
      fc.property(documentText, (source) => {
        if (agrees(source) === 'read') read += 1;
      }),
      { numRuns: 3000 },
    );
    // Not a vacuous pass: a good part of these documents is within the subset.
    assert.ok(read >= 600, `read ${read} of 3000 documents itself`);
  });

  it('declines whatever js-yaml refuses, and agrees on the rest, after any small change to a document', () => {
    let read = 0;
    fc.assert(
      fc.property(documentText, fc.array(mutation, { minLength: 1, maxLength: 3 }), (source, changes) => {
        if (agrees(changes.reduce(mutate, source)) === 'read') read += 1;
      }),
      { numRuns: 6000 },
    );
    assert.ok(read >= 600, `read ${read} of 6000 changed documents itself`);
  });

  it('gives the same values when a shape of mapping repeats (past the point where its keys are matched in place)', () => {
    fc.assert(
      fc.property(documentText, (source) => {
        // Each of the document's mappings is met 40 times: from the 16th on, its shape has a constructor of its own.
        for (let i = 0; i < 40; i++) agrees(source);
      }),
      { numRuns: 200 },
    );
  });

  it('keeps apart scalars and keys that look alike to its tables (same length, same ends and middle), in any order', () => {
    // The reader finds a plain scalar met before by a hash of its length and a few characters at its ends and in its
    // middle, and a key by the ones that came next in a mapping of the same shape: texts that differ only elsewhere,
    // typed ones among them (an integer beside a string of the same ends), and keys plain or quoted, must still each
    // be read as js-yaml reads them, whichever came first.
    // Ten characters: the six the hash looks at (0, 1, 5, 7, 8, 9) are the family's, the other four vary.
    const alike = fc
      .tuple(
        fc.constantFrom(
          ['ab', 'x', 'y', 'cd'],
          ['12', '5', '7', '34'],
          ['tr', 'e', 'u', 'ue'],
          ['nu', 'l', 'l', 'll'],
        ),
        fc.stringMatching(/^[0-9a]{3}$/),
        fc.stringMatching(/^[0-9a]$/),
      )
      .map(([[head, middle, late, tail], inner, other]) => `${head}${inner}${middle}${other}${late}${tail}`);
    let read = 0;
    let documents = 0;
    const keyed = fc.tuple(
      fc.constantFrom('name', 'port', "'name'", '"port"', 'ready'),
      fc.constantFrom('name', 'zone', "'zone'", 'ready'),
    );
    fc.assert(
      fc.property(fc.array(fc.tuple(alike, alike, keyed), { minLength: 1, maxLength: 20 }), (entries) => {
        for (const [a, b, [first, second]] of entries) {
          if (agrees(`${first}: ${a}\n${second}: ${b}\nitems:\n  - ${a}\n  - ${b}\n`) === 'read') read += 1;
          if (agrees(`- ${first}: ${b}\n  ${second}: ${a}\n`) === 'read') read += 1;
          documents += 2;
        }
      }),
      { numRuns: 300 },
    );
    // Only documents with a key given twice (js-yaml refuses them) are declined.
    assert.ok(read >= documents * 0.7, `read ${read} of ${documents} documents itself`);
  });

  it('reads kubectl-style documents itself (so the fast path is the one taken)', () => {
    let read = 0;
    fc.assert(
      fc.property(kubectlStyle, fc.constantFrom('', '---\n'), (source, head) => {
        if (agrees(head + source) === 'read') read += 1;
      }),
      { numRuns: 1000 },
    );
    assert.ok(read >= 950, `read ${read} of 1000 kubectl-style documents itself`);
  });

  it('agrees with js-yaml on every manifest of this repository', () => {
    const files = ['examples', 'deploy', 'test'].flatMap((dir) => manifests(dir));
    assert.ok(files.length > 5, `found only ${files.length} manifests`);
    let documents = 0;
    for (const file of files) {
      for (const piece of splitDocuments(readFileSync(file, 'utf8'))) {
        agrees(piece.text);
        documents += 1;
      }
    }
    assert.ok(documents >= files.length);
  });

  it('reads the documents of a kubectl List and typical slices exactly', () => {
    const source = [
      '---',
      'apiVersion: v1',
      'items:',
      '- apiVersion: discovery.k8s.io/v1',
      '  kind: EndpointSlice',
      '  metadata:',
      '    labels:',
      '      kubernetes.io/service-name: web',
      '    name: web-abc12',
      '    namespace: shop',
      '    resourceVersion: "4711"',
      '    creationTimestamp: null',
      '  addressType: IPv4',
      '  endpoints:',
      '  - addresses:',
      '    - 10.0.0.1',
      '    conditions:',
      '      ready: true',
      '      terminating: false',
      '  ports:',
      '  - name: http',
      '    port: 8080',
      "    appProtocol: 'kubernetes.io/h2c'",
      '  - name: ""',
      '    port: 0x1F90',
      'kind: List',
      'metadata: {}',
      'extra: []',
      '',
    ].join('\n');
    assert.equal(agrees(source), 'read');
  });

  it('declines comments, anchors, tags, block scalars and flow collections, which js-yaml reads', () => {
    for (const source of [
      'a: 1 # one\n',
      '# head\na: 1\n',
      'a: &x 1\nb: *x\n',
      'a: !!str 1\n',
      'a: |\n  text\n',
      'a: >-\n  text\n',
      'a: [1, 2]\n',
      'a: {b: 1}\n',
      'a: "x\\ty"\n',
      'a:\tb\n',
      'a: b\r\n',
      '"a\\u0041": 1\n',
      '? a\n: 1\n',
      'a: plain\n  continued\n',
      '1: a\n',
      'true: a\n',
      '<<: {}\n',
    ]) {
      assert.equal(agrees(source), 'declined', source);
    }
  });
});

function manifests(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    const info = statSync(path);
    if (info.isDirectory() && name !== 'node_modules') out.push(...manifests(path));
    else if (info.isFile() && /\.ya?ml$/i.test(name)) out.push(path);
  }
  return out;
}
