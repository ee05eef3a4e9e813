// Path arithmetic of the file source's passes: which paths lie below which, which of a set of changed paths to
// list, and the real directories above a path (what a symlink loop would lead back to).
import { realpath } from 'node:fs/promises';
import { dirname, sep } from 'node:path';

/** `path` is `base` or below it. */
export function within(base: string, path: string): boolean {
  return path === base || path.startsWith(base.endsWith(sep) ? base : base + sep);
}

/** The paths none of the others contains. */
export function outermost(paths: readonly string[]): string[] {
  const unique = [...new Set(paths)].sort();
  return unique.filter((p) => !unique.some((other) => other !== p && within(other, p)));
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
