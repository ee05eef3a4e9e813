// The configuration's documentation comes from the option declarations: the table of docs/configuration.md and
// `endpointd --help` say what the code does, for every option.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { optionsTable, withOptionsTable } from '../src/config/help.ts';
import { parseCommandLine, usage } from '../src/config/index.ts';
import { optionsOf } from '../src/config/option.ts';
import { OPTION_SECTIONS } from '../src/config/options/index.ts';

const DOC = fileURLToPath(new URL('../docs/configuration.md', import.meta.url));
const OPTIONS = OPTION_SECTIONS.flatMap((section) => optionsOf(section.options));

describe('the configuration docs', () => {
  it('docs/configuration.md holds the table the declarations give (else: npm run docs:config)', () => {
    const committed = readFileSync(DOC, 'utf8');
    assert.equal(
      committed,
      withOptionsTable(committed),
      'docs/configuration.md is stale: run npm run docs:config',
    );
  });

  it('the table has one row per option, naming its flag, its variable and its default', () => {
    const rows = optionsTable().split('\n');
    for (const option of OPTIONS) {
      const row = rows.filter((r) => r.startsWith(`| \`--${option.flag}\``));
      assert.equal(row.length, 1, `--${option.flag}`);
      assert.ok(row[0]?.includes(`\`${option.env}\``), `${option.flag}: ${row[0]}`);
      if (option.default !== undefined) assert.ok(row[0]?.includes(`\`${option.default}\``), row[0]);
    }
  });

  it('--help gives every option a line with its value, its variable and its default', () => {
    const parsed = parseCommandLine(['--help'], {});
    assert.equal(parsed.kind, 'help');
    const lines = (parsed.kind === 'help' ? parsed.text : '').split('\n');
    assert.equal(parsed.kind === 'help' && parsed.text, usage());
    for (const option of OPTIONS) {
      // A switch shows its value as optional: `--auth-token-review[=BOOL]`.
      const value = option.bare === undefined ? ` ${option.valueName}` : `[=${option.valueName}]`;
      const line = lines.find((l) => l.startsWith(`  --${option.flag}${value} `));
      assert.ok(line !== undefined, `--${option.flag} has a help line`);
      assert.ok(line.endsWith(`[${option.env}]`), line);
      const fallback = option.default ?? option.unset;
      if (fallback !== undefined) assert.ok(line.includes(fallback), `${line} names its default ${fallback}`);
    }
  });

  it('no two options share a flag or a variable, and every variable is ENDPOINTD_ and the flag', () => {
    assert.equal(new Set(OPTIONS.map((o) => o.flag)).size, OPTIONS.length);
    assert.equal(new Set(OPTIONS.map((o) => o.env)).size, OPTIONS.length);
    for (const option of OPTIONS) {
      assert.equal(option.env, `ENDPOINTD_${option.flag.toUpperCase().replaceAll('-', '_')}`);
    }
  });
});
