// The file source's inotify watches: one non-recursive fs.watch per directory of the tree, one on the root's parent
// (the root deleted, created or replaced: a ConfigMap mount, a `mv new static`), and one on the real directory of
// each file linked in from outside the tree. An event only says "look at this path again" (undefined: everything);
// what changed is decided by content, in the next pass.
import { statSync, watch, type FSWatcher } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { Logger } from 'pino';

export interface WatchedTree {
  readonly root: string;
  readonly logger: Logger;
  /** The root is a single file (its directory's other entries do not matter). */
  readonly rootIsFile: () => boolean;
  /** The directory is in kubelet's layout: any change in it is a new snapshot, read whole. */
  readonly isKubeletDir: (dir: string) => boolean;
  /** The served path of a real file, for events on the real directories of linked files. */
  readonly servedPathOf: (realPath: string) => string | undefined;
  /** The broken symlinks (and loops) that point at `path` or below it: its appearance may fix them. */
  readonly brokenLinksTo: (path: string) => readonly string[];
  /** Asks for a path (undefined: the whole tree) to be looked at again. */
  readonly request: (path: string | undefined) => void;
}

export class TreeWatchers {
  readonly #tree: WatchedTree;
  /** One watcher per directory of the tree, with the inode it watches. */
  readonly #directories = new Map<string, { readonly watcher: FSWatcher; readonly ino: number }>();
  /** Watchers on the real directories of files linked in from outside the tree. */
  readonly #linkTargets = new Map<string, FSWatcher>();
  #parent: FSWatcher | undefined;
  #closed = false;

  constructor(tree: WatchedTree) {
    this.#tree = tree;
  }

  /** Watches the root's parent, unless it already is (or cannot be: then the missing-root poll finds it). */
  watchParent(): void {
    if (this.#parent !== undefined || this.#closed) return;
    const { root, request, rootIsFile } = this.#tree;
    const name = basename(root);
    try {
      this.#parent = watch(dirname(root), (_event, filename) => {
        const changed = filename?.toString();
        if (changed === undefined || changed === name || (rootIsFile() && changed.startsWith('..')))
          request(undefined);
      });
      this.#parent.on('error', () => {
        this.#parent?.close();
        this.#parent = undefined;
      });
    } catch {
      // No parent to watch (it is missing too): the poll while the root is missing finds it.
    }
  }

  /** Watches `dir` (again, if it is a new directory under the same name); `real` is where it is after symlinks. */
  watchDirectory(dir: string, ino: number, real: string = dir): void {
    const known = this.#directories.get(dir);
    if (known?.ino === ino || this.#closed) return;
    known?.watcher.close();
    try {
      const watcher = watch(dir, (_event, filename) => this.#onEvent(dir, real, filename?.toString()));
      watcher.on('error', () => {
        watcher.close();
        if (this.#directories.get(dir)?.watcher === watcher) this.#directories.delete(dir);
      });
      this.#directories.set(dir, { watcher, ino });
    } catch (error) {
      this.#tree.logger.warn({ err: error, dir }, 'cannot watch directory; relying on the periodic rescan');
    }
  }

  /** Watches the real directory of a linked file, so that an edit to the link's target is seen. */
  watchLinkTarget(realDir: string): void {
    if (this.#linkTargets.has(realDir) || this.#directories.has(realDir) || this.#closed) return;
    try {
      const ino = statSync(realDir).ino;
      const drop = (): void => {
        watcher.close();
        if (this.#linkTargets.get(realDir) === watcher) this.#linkTargets.delete(realDir);
      };
      const watcher = watch(realDir, (_event, filename) => {
        if (filename === null) return this.#tree.request(undefined);
        const name = filename.toString();
        // The directory itself deleted or replaced: this watch sees nothing more, the next look at a link makes a new
        // one (on the directory made again, or on the nearest one above a broken link's target).
        if (name === basename(realDir) && statSync(realDir, { throwIfNoEntry: false })?.ino !== ino) {
          drop();
          for (const link of this.#tree.brokenLinksTo(realDir)) this.#tree.request(link);
          return;
        }
        const real = join(realDir, name);
        const path = this.#tree.servedPathOf(real);
        if (path !== undefined) this.#tree.request(path);
        for (const link of this.#tree.brokenLinksTo(real)) this.#tree.request(link);
      });
      watcher.on('error', drop);
      this.#linkTargets.set(realDir, watcher);
    } catch {
      // The periodic rescan still reads it.
    }
  }

  /** Stops watching the directories `drop` says are gone; returns them. */
  unwatchDirectories(drop: (dir: string) => boolean): string[] {
    const dropped = [...this.#directories.keys()].filter(drop);
    for (const dir of dropped) {
      this.#directories.get(dir)?.watcher.close();
      this.#directories.delete(dir);
    }
    return dropped;
  }

  close(): void {
    this.#closed = true;
    this.unwatchDirectories(() => true);
    for (const watcher of this.#linkTargets.values()) watcher.close();
    this.#linkTargets.clear();
    this.#parent?.close();
    this.#parent = undefined;
  }

  #onEvent(dir: string, real: string, filename: string | undefined): void {
    const { root, request } = this.#tree;
    if (filename === undefined) return request(undefined);
    // A file of this directory served under another name (a link to it that sorts first, or one with a manifest's
    // name to a file without one) is read under that name: look at it there.
    const servedAs = this.#tree.servedPathOf(join(real, filename));
    if (servedAs !== undefined && servedAs !== join(dir, filename)) request(servedAs);
    // A link that pointed at nothing may point at what just appeared: it is looked at again too.
    for (const link of this.#tree.brokenLinksTo(join(dir, filename))) request(link);
    if (this.#tree.rootIsFile()) {
      if (filename === basename(root) || filename.startsWith('..')) request(root);
      return;
    }
    // kubelet's layout changes by swapping `..data`: read the directory's new snapshot whole.
    if (this.#tree.isKubeletDir(dir) || filename.startsWith('..')) return request(dir);
    if (filename.startsWith('.')) return; // an editor's temp file: its rename onto the real name is an event too
    request(join(dir, filename));
  }
}
