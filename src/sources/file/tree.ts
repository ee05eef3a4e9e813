// Lists the manifest files below a path the way the file source reads them: hidden names skipped, symlinks to
// files and directories followed, loops reported instead of walked forever, each real file counted once, and a
// directory in kubelet's atomic-writer layout (a `..data` symlink to a `..<timestamp>` directory, the visible
// names symlinks into it) read through the one snapshot `..data` points at, under its visible names.
import type { Dirent } from 'node:fs';
import { lstat, readdir, readlink, realpath, stat } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import { flatString } from './flat-string.ts';
import { within } from './paths.ts';

export const MANIFEST_FILE = /\.(ya?ml|json)$/i;
/** kubelet's atomic writer: the symlink to the current snapshot of a ConfigMap, Secret or projected volume. */
export const KUBELET_DATA_DIR = '..data';

export interface ListedFile {
  /** The name the file is served under (its origin): its visible path. */
  readonly path: string;
  /** Where to read it: inside the resolved snapshot for kubelet's layout, so that one pass reads one snapshot. */
  readonly readPath: string;
  /** After every symlink: two names with the same real path are one file, read once. */
  readonly realPath: string;
  /** Reached through a symlink: its real directory is watched too. */
  readonly linked: boolean;
}

export interface ListedDirectory {
  readonly path: string;
  /** After every symlink: an event in it names a real file, which may be served under another name (a link). */
  readonly realPath: string;
  /** Its inode: a directory deleted and made again under the same name needs a new watch. */
  readonly ino: number;
  /** Holds `..data`: every change there is a new snapshot, read whole. */
  readonly kubelet: boolean;
}

/** A path that cannot be read as a manifest: a broken symlink, a loop, a directory named like a manifest, … */
export interface TreeProblem {
  readonly path: string;
  readonly message: string;
  /** For a broken symlink or a loop: where the link points (absolute), whose appearance may fix it. */
  readonly target?: string;
}

export interface Listing {
  readonly files: ListedFile[];
  readonly directories: ListedDirectory[];
  readonly problems: TreeProblem[];
  /**
   * Directories whose listing a concurrent change cut short: kubelet's snapshot replaced (and deleted) while it was
   * read. What is not listed below them is not known to be gone; the next pass lists them again.
   */
  readonly unsettled: string[];
  /**
   * Paths that exist but could not be looked at (a directory that cannot be listed, a path that cannot be stat'ed:
   * permissions, I/O errors). Each is reported as a problem; what was served below it is kept as it was, as a file
   * that cannot be read keeps its last good state.
   */
  readonly kept: string[];
}

interface Walk extends Listing {
  readonly realFiles: Set<string>;
  readonly realDirectories: Set<string>;
  /** True for a real path already served under a name outside this listing. */
  readonly countedElsewhere: (realPath: string, path: string) => boolean;
}

export interface ListOptions {
  /** `path` is the source's root: read whatever its name, and nothing to report when it is missing. */
  readonly root?: boolean;
  /** Real paths of the directories above `path` (for loop detection when listing part of a tree). */
  readonly ancestors?: readonly string[];
  /** True for a real path already served under another name outside this listing: it is not listed again. */
  readonly countedElsewhere?: (realPath: string, path: string) => boolean;
}

/** Everything at `path`: a directory, a manifest file, or nothing (an empty listing). */
export async function listTree(path: string, options: ListOptions = {}): Promise<Listing> {
  const walk: Walk = {
    files: [],
    directories: [],
    problems: [],
    unsettled: [],
    kept: [],
    realFiles: new Set(),
    realDirectories: new Set(),
    countedElsewhere: options.countedElsewhere ?? (() => false),
  };
  await visit(walk, path, undefined, options.ancestors ?? [], options.root === true);
  return {
    files: walk.files,
    directories: walk.directories,
    problems: walk.problems,
    unsettled: walk.unsettled,
    kept: walk.kept,
  };
}

/** Is `path` hidden below `root` (a name starting with `.`: editors' temp files, .git, kubelet's own)? */
export function isHidden(root: string, path: string): boolean {
  return relative(root, path)
    .split(sep)
    .some((part) => part.startsWith('.'));
}

async function visit(
  walk: Walk,
  path: string,
  entry: Dirent | undefined,
  ancestors: readonly string[],
  root: boolean,
): Promise<void> {
  const name = basename(path);
  const manifestName = MANIFEST_FILE.test(name);
  const linked = entry === undefined || entry.isSymbolicLink();
  if (entry !== undefined && name.includes('\uFFFD') && (manifestName || entry.isDirectory())) {
    // readdir gives names as UTF-8: bytes that are not become U+FFFD, and the path written with it names nothing.
    // Such a file would otherwise be skipped without a word (a name really holding U+FFFD is still found).
    const there = await lstat(path).then(
      () => true,
      () => false,
    );
    if (!there) {
      walk.problems.push({ path, message: 'its name is not valid UTF-8: not read (rename it)' });
      return;
    }
  }
  // A plain file met while listing its directory needs no stat of its own: this keeps a 10,000-file scan cheap.
  if (entry?.isFile() === true) {
    if (manifestName) addFile(walk, path, path, join(ancestors.at(-1) ?? dirname(path), name), false);
    return;
  }
  let info;
  try {
    info = await stat(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && !root) {
      const target = await readlink(path).catch(() => undefined);
      // Gone between listing and looking, or a link to nothing: only a manifest name is worth a report.
      if (target !== undefined && manifestName) {
        walk.problems.push({
          path,
          message: `broken symlink: its target ${target} does not exist`,
          target: resolve(dirname(path), target),
        });
      }
    } else if (code === 'ELOOP') {
      const target = await readlink(path).catch(() => undefined);
      walk.problems.push({
        path,
        message: 'symlink loop: the link never resolves to a file',
        ...(target === undefined ? {} : { target: resolve(dirname(path), target) }),
      });
    } else if (code !== 'ENOENT') {
      walk.problems.push({ path, message: `cannot read: ${(error as Error).message}` });
      walk.kept.push(path);
    }
    return;
  }
  if (info.isDirectory()) {
    if (manifestName && !root) {
      walk.problems.push({ path, message: 'is a directory where a manifest file was expected: not read' });
      return;
    }
    const real = await realpathIfThere(walk, path);
    if (real === undefined) return;
    // A link to a directory on the way here, or to one above it (`up -> ..` in the root): walking it comes back.
    if (ancestors.some((above) => within(real, above))) {
      walk.problems.push({ path, message: `symlink loop: leads back to ${real}, which contains it` });
      return;
    }
    // The same directory under a second name (two symlinks to it): its files are read once, under the first.
    if (walk.realDirectories.has(real)) return;
    walk.realDirectories.add(real);
    let entries: Dirent[];
    try {
      entries = await readdir(path, { withFileTypes: true });
    } catch (error) {
      // Gone since it was looked at: nothing is there to list, and nothing to report.
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
        walk.problems.push({ path, message: `cannot list directory: ${(error as Error).message}` });
        walk.kept.push(path);
      }
      return;
    }
    const kubelet = entries.some((e) => e.name === KUBELET_DATA_DIR);
    walk.directories.push({ path, realPath: real, ino: info.ino, kubelet });
    if (kubelet) {
      await visitSnapshot(walk, path);
      return;
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const child of entries) {
      if (child.name.startsWith('.')) continue;
      await visit(walk, join(path, child.name), child, [...ancestors, real], false);
    }
    return;
  }
  if (!manifestName && !root) return;
  if (!info.isFile()) {
    walk.problems.push({ path, message: 'is not a regular file (a FIFO, socket or device): not read' });
    return;
  }
  const real = linked ? await realpathIfThere(walk, path) : path;
  if (real !== undefined) addFile(walk, path, path, real, linked);
}

/**
 * realpath(), or undefined when the path went away after it was looked at (a directory renamed or removed while
 * the tree is listed): it is simply not there, as when stat() finds nothing. Any other failure is the path's problem.
 */
async function realpathIfThere(walk: Walk, path: string): Promise<string | undefined> {
  try {
    return await realpath(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
      walk.problems.push({ path, message: `cannot resolve: ${(error as Error).message}` });
      walk.kept.push(path);
    }
    return undefined;
  }
}

/** kubelet's layout: the files are those of the snapshot `..data` points at now, served under visible names. */
async function visitSnapshot(walk: Walk, dir: string): Promise<void> {
  let snapshot: string;
  try {
    snapshot = await realpath(join(dir, KUBELET_DATA_DIR));
  } catch (error) {
    walk.problems.push({
      path: join(dir, KUBELET_DATA_DIR),
      message: `cannot resolve kubelet's data directory: ${(error as Error).message}`,
    });
    return;
  }
  const pending = [''];
  for (let relativeDir = pending.pop(); relativeDir !== undefined; relativeDir = pending.pop()) {
    let entries: Dirent[];
    try {
      entries = await readdir(join(snapshot, relativeDir), { withFileTypes: true });
    } catch (error) {
      // The snapshot went away under us (kubelet swapped in a newer one and deleted this one): what is not listed
      // yet is not gone, and the pass that follows the swap reads the new snapshot.
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
        walk.unsettled.push(dir);
        return;
      }
      // It is there but cannot be listed (permissions, I/O): that is its problem, and what it served stays. Not
      // unsettled: looking again at once would find the same, pass after pass.
      const path = join(dir, relativeDir);
      walk.problems.push({ path, message: `cannot list directory: ${(error as Error).message}` });
      walk.kept.push(path);
      continue;
    }
    for (const entry of entries) {
      // Inside a snapshot only kubelet's own names are hidden: a key may well start with one dot.
      if (entry.name.startsWith('..')) continue;
      const rel = join(relativeDir, entry.name);
      if (entry.isDirectory()) pending.push(rel);
      else if (entry.isFile() && MANIFEST_FILE.test(entry.name)) {
        const readPath = join(snapshot, rel);
        addFile(walk, join(dir, rel), readPath, readPath, false);
      }
    }
  }
  walk.files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

function addFile(walk: Walk, path: string, readPath: string, realPath: string, linked: boolean): void {
  if (walk.realFiles.has(realPath) || walk.countedElsewhere(realPath, path)) return;
  walk.realFiles.add(realPath);
  // Kept for as long as the file is served, most often three times the same text: one flat string for all three.
  const flatPath = flatString(path);
  const flatRead = readPath === path ? flatPath : flatString(readPath);
  const flatReal = realPath === path ? flatPath : realPath === readPath ? flatRead : flatString(realPath);
  walk.files.push({ path: flatPath, readPath: flatRead, realPath: flatReal, linked });
}
