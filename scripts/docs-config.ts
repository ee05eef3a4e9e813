// Writes the options table of docs/configuration.md from the option declarations (src/config/options/):
// `npm run docs:config` after adding or changing an option; test/config-docs.test.ts fails until it is run.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { withOptionsTable } from '../src/config/help.ts';

const DOC = fileURLToPath(new URL('../docs/configuration.md', import.meta.url));
const before = readFileSync(DOC, 'utf8');
const after = withOptionsTable(before);
if (after === before) {
  process.stdout.write('docs/configuration.md: the options table is up to date\n');
} else {
  writeFileSync(DOC, after);
  process.stdout.write('docs/configuration.md: options table rewritten\n');
}
