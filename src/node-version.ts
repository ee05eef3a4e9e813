// Stops at once, with one line naming the Node.js version endpointd needs, when an older one runs it. Imported
// first by the entry point, so that it runs before anything that an old Node would fail on in a less clear way
// (or, as `import.meta.main` does on Node 20, silently skip).

/** The oldest Node.js that runs endpointd: @kubernetes/client-node 2.x needs 22.19 (package.json `engines`). */
export const MINIMUM_NODE = '22.19';

/** The one-line complaint about `version` (e.g. process.versions.node), or undefined when it is recent enough. */
export function nodeVersionProblem(version: string): string | undefined {
  const have = version.split('.').map(Number);
  const need = MINIMUM_NODE.split('.').map(Number);
  for (let i = 0; i < need.length; i++) {
    const h = have[i] ?? 0;
    const n = need[i] ?? 0;
    if (h > n) return undefined;
    if (h < n) {
      return `endpointd needs Node.js >= ${MINIMUM_NODE}, but this is Node.js v${version}: install Node.js 24, or run it through npm in a checkout (npm start, npx endpointd), which uses the node@24 devDependency`;
    }
  }
  return undefined;
}

const problem = nodeVersionProblem(process.versions.node);
if (problem !== undefined) {
  process.stderr.write(`${problem}\n`);
  process.exit(1);
}
