// Path arithmetic of the file source's passes: which paths lie below which, which of a set of changed paths to
// list, and the real directories above a path (what a symlink loop would lead back to).
import { realpath } from 'node:fs/promises';
import { dirname, sep } from 'node:path';

/** `path` is `base` or below it. */
export function within(base: string, path: string): boolean {
  return path === base || path.startsWith(base.endsWith(sep) ? base : base + sep);
}

/** The paths none of the others contains (sorted). */
export function outermost(paths: readonly string[]): string[] {
  const unique = new Set(paths);
  return [...unique].sort().filter((p) => !belowAny(unique, p));
}

/**
 * A test of "is `path` one of `bases` or below one": a look-up per directory above the path, not a comparison per
 * base, so that a pass over thousands of changed files (an rsync, a git checkout) costs what it reads, not its
 * square.
 */
export function withinAny(bases: readonly string[]): (path: string) => boolean {
  if (bases.length === 1) {
    const [base] = bases as [string];
    return (path) => within(base, path);
  }
  const set = new Set(bases);
  return (path) => set.has(path) || belowAny(set, path);
}

/** Some strict ancestor of `path` is in `set`. */
function belowAny(set: ReadonlySet<string>, path: string): boolean {
  for (let below = path, dir = dirname(path); dir !== below; below = dir, dir = dirname(dir)) {
    if (set.has(dir)) return true;
  }
  return false;
}

/** The real paths of the directories from `root` down to the one holding `base`: what a symlink loop leads to. */
export async function realAncestors(root: string, base: string): Promise<string[]> {
  const out: string[] = [];
  for (let dir = dirname(base); base !== root && within(root, dir); dir = dirname(dir)) {
    const real = await realpath(dir).catch(() => undefined);
    if (real !== undefined) out.unshift(real);
    if (dir === root) break;
  }
  return out;
}
