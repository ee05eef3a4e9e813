// The Node.js flags endpointd runs with in production, read from the checkout's `npm start` script (the one place
// they are set for a checkout; the image's ENTRYPOINT and the bin's shebang repeat them, and
// test/launcher-flags.test.ts holds the three together), so that the bench measures endpointd as it is deployed.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const THIS_TREE = fileURLToPath(new URL('../..', import.meta.url));

/** The flags between `node` and the script in `tree`'s package.json `start` script (default: this checkout). */
export function productionNodeFlags(tree: string = THIS_TREE): string[] {
  const pkg = JSON.parse(readFileSync(join(tree, 'package.json'), 'utf8')) as {
    scripts?: { start?: string };
  };
  const words = (pkg.scripts?.start ?? '').trim().split(/\s+/);
  if (words[0] !== 'node') throw new Error(`${tree}: the start script does not run node`);
  return words.slice(1).filter((word) => word.startsWith('--'));
}
