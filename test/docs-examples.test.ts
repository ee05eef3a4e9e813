// The examples of the README and docs/ against what endpointd really answers: every `$ curl -s URL` and
// `$ npx endpointd …` shown with its full output (no "…" in it) is run against the bundled examples, as `npm start`
// serves them, and must print exactly that (JSON compared as JSON, tables line by line, exit codes too).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startEndpointd, type Endpointd } from '../src/main.ts';
import { createLogger } from '../src/observability/logger.ts';
import { TEST_CONFIG } from './support/endpointd.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DOCUMENTS = ['README.md', 'docs/api.md', 'docs/dashboard-and-cli.md'];

interface Example {
  readonly document: string;
  readonly line: number;
  readonly command: string;
  readonly expected: readonly string[];
}

/** `$ command` lines of ```sh blocks, each with the lines printed after it (up to the next command). */
function examples(document: string): Example[] {
  const lines = readFileSync(join(ROOT, document), 'utf8').split('\n');
  const found: Example[] = [];
  let inShell = false;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? '';
    if (line.startsWith('```')) {
      inShell = !inShell && line.trim() === '```sh';
      continue;
    }
    if (!inShell || !line.startsWith('$ ')) continue;
    const expected: string[] = [];
    for (let j = i + 1; j < lines.length; j++) {
      const next = lines[j] ?? '';
      if (next.startsWith('$ ') || next.startsWith('```')) break;
      // A blank line ends the output unless more output follows it (as between a table and its targets).
      const after = lines[j + 1] ?? '```';
      if (next.trim() === '' && (after.startsWith('$ ') || after.startsWith('```') || after.trim() === ''))
        break;
      expected.push(next);
    }
    // A trailing comment is the documentation's, not the shell's.
    const command = line.slice(2).replace(/\s+#\s.*$/, '');
    found.push({ document, line: i + 1, command, expected });
  }
  return found;
}

/** Examples this test can check: the whole output is shown, and the command is a plain curl or endpointd call. */
function checkable(example: Example): boolean {
  if (example.expected.length === 0 || example.expected.some((l) => l.includes('…'))) return false;
  return (
    /^curl -s '?localhost:8080\/[^\s'|]*'?$/.test(example.command) ||
    /^npx endpointd [^|>]*$/.test(example.command)
  );
}

describe('examples in the README and docs/', () => {
  let endpointd: Endpointd;
  let base: string;
  before(async () => {
    // What `npm start` serves: no --source, so the bundled examples/.
    endpointd = await startEndpointd({ ...TEST_CONFIG, sources: [] }, createLogger('silent'));
    await endpointd.synced;
    base = `localhost:${endpointd.httpAddress.port}`;
  });
  after(() => endpointd.stop());

  const all = DOCUMENTS.flatMap(examples);

  it('has examples to check in each document (the extraction still matches how they are written)', () => {
    for (const document of DOCUMENTS) {
      assert.ok(
        all.filter((e) => e.document === document && checkable(e)).length >= 2,
        `${document}: checkable examples`,
      );
    }
  });

  for (const example of all.filter(checkable)) {
    it(`${example.document}:${example.line} ${example.command}`, async () => {
      const expected = example.expected.map((l) =>
        l.replaceAll('localhost:9090', `localhost:${endpointd.grpcPort}`),
      );
      if (example.command.startsWith('curl')) {
        const url = `http://${example.command.replace(/^curl -s '?localhost:8080/, base).replace(/'$/, '')}`;
        const answer = await fetch(url);
        assert.deepEqual(await answer.json(), JSON.parse(expected.join('\n')));
        return;
      }
      const echoStatus = / *; echo \$\?$/.test(example.command);
      const args = example.command
        .replace(/ *; echo \$\?$/, '')
        .replace(/^npx endpointd /, '')
        .split(/\s+/);
      const child = spawn(process.execPath, [join(ROOT, 'bin', 'endpointd.cjs'), ...args], {
        env: { ...process.env, ENDPOINTD_SERVER: `http://${base}` },
      });
      let output = '';
      child.stdout.on('data', (c: Buffer) => (output += c.toString()));
      child.stderr.on('data', (c: Buffer) => (output += c.toString()));
      const [code] = (await once(child, 'exit')) as [number];
      const printed = output.trimEnd().split('\n');
      if (echoStatus) printed.push(String(code));
      else assert.equal(code, 0, output);
      assert.deepEqual(printed, expected);
    });
  }
});
