// Serves EndpointSlice / Endpoints / Service manifests from a file or a directory tree (*.yaml, *.yml, *.json),
// watched live. This module runs the passes: list what changed, read it (load-files.ts), sort the outcomes into one
// diff and apply it (served-files.ts), so that a kubelet `..data` swap that moves, adds and removes keys shows a
// watcher one MODIFIED per changed Service, never a DELETED then ADDED.
//
// A file that cannot be used (invalid YAML, a bad field, too large, a broken symlink, a loop, a directory where it
// was) is that file's problem only (problems.ts): it is logged with its path, listed in status().problems, and its
// last good state stays served. A path that is gone is forgotten, its Services removed; the root itself gone is the
// same as all of its files removed, and it is read again as soon as it is back.
//
// Events (watchers.ts) only say "look at this path again"; what changed is decided by content (a digest), not by
// mtime or size: two saves within one timestamp tick with the same length are still two different files. A
// periodic rescan catches anything the kernel's event queue lost; it trusts a file's stat data only when the file
// had been quiet for a while when last read (the "racily clean" rule).
import { SOURCE_OPTIONS } from '../../config/options/sources.ts';
import { statSync } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve } from 'node:path';
import type { Logger } from 'pino';
import type { StoreWriter } from '../../store/faces.ts';
import { ExposurePolicy } from '../../policy/exposure.ts';
import type { Source, SourceProblem, SourceStatus } from '../source.ts';
import { describeServices, logPass, logSkipped } from './change-log.ts';
import { FileLoader, type LoadOutcome } from './load-files.ts';
import { outermost, realAncestors, within, withinAny } from './paths.ts';
import { PassQueue } from './pass-queue.ts';
import { FileProblems } from './problems.ts';
import { ServedFiles, type FileState } from './served-files.ts';
import { isHidden, KUBELET_DATA_DIR, listTree, type ListedFile, type TreeProblem } from './tree.ts';
import { TreeWatchers } from './watchers.ts';

/** The default of --file-max-size (declared with the option). */
export const DEFAULT_MAX_FILE_BYTES = SOURCE_OPTIONS.maxFileBytes.defaultValue;

export interface FileSourceOptions {
  readonly path: string;
  readonly store: StoreWriter;
  readonly logger: Logger;
  /** How long a burst of events may settle before it is read (editors and kubelet write in several steps). */
  readonly settleMs?: number;
  /** Period of the full rescan that repairs events the kernel dropped. */
  readonly rescanMs?: number;
  /** While the root is missing, how often to look for it (its parent is watched too, when it exists). */
  readonly missingPollMs?: number;
  /** Larger files are refused (their last good state kept); default DEFAULT_MAX_FILE_BYTES. */
  readonly maxFileBytes?: number | undefined;
  /** Which Services clients may see; default: all. */
  readonly policy?: ExposurePolicy;
}

/** What one pass listed below the paths it looked at. */
interface PassListing {
  readonly files: Map<string, ListedFile>;
  readonly directories: Set<string>;
  readonly problems: TreeProblem[];
  /** Directories whose listing a concurrent change cut short (tree.ts Listing.unsettled). */
  readonly unsettled: string[];
  /** Paths that could not be looked at (tree.ts Listing.kept): what is served below them stays. */
  readonly kept: string[];
}

export class FileSource implements Source {
  readonly name: string;
  readonly #root: string;
  readonly #logger: Logger;
  readonly #rescanMs: number;
  readonly #missingPollMs: number;
  readonly #served: ServedFiles;
  readonly #problems: FileProblems;
  readonly #loader: FileLoader;
  readonly #queue: PassQueue;
  readonly #watchers: TreeWatchers;
  /** The directories in kubelet's layout, by path: their real paths (what links into them resolve below). */
  readonly #kubeletDirs = new Map<string, string>();
  /** Broken symlinks and loops, by their path: where each points (a file appearing there may fix it). */
  readonly #brokenLinks = new Map<string, string>();
  #rootError: string | undefined;
  #rootIsFile = false;
  #rescanTimer: NodeJS.Timeout | undefined;
  #missingTimer: NodeJS.Timeout | undefined;
  #synced = false;
  #stopped = false;
  /** Why the last pass failed (cleared by the next that completes): /readyz shows it. */
  #passError: string | undefined;
  /** Ends the pause between two tries of the first pass (stop() calls it). */
  #wake: (() => void) | undefined;
  #lastSyncAt: number | undefined;

  constructor(options: FileSourceOptions) {
    this.#root = resolve(options.path);
    this.name = `file:${this.#root}`;
    this.#logger = options.logger.child({ source: this.name });
    this.#rescanMs = options.rescanMs ?? 30_000;
    this.#missingPollMs = options.missingPollMs ?? 1000;
    this.#served = new ServedFiles({
      store: options.store,
      source: this.name,
      policy: options.policy ?? ExposurePolicy.OPEN,
      logger: this.#logger,
    });
    this.#problems = new FileProblems(this.#logger);
    this.#loader = new FileLoader(options.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES);
    this.#queue = new PassQueue(
      (full, paths) => this.#pass(full, paths),
      options.settleMs ?? 30,
      this.#logger,
      (error) => {
        this.#passError = `reading the manifests failed: ${error instanceof Error ? error.message : String(error)}`;
      },
    );
    this.#watchers = new TreeWatchers({
      root: this.#root,
      logger: this.#logger,
      rootIsFile: () => this.#rootIsFile,
      isKubeletDir: (dir) => this.#kubeletDirs.has(dir),
      servedPathOf: (real) => this.#served.pathOf(real),
      brokenLinksTo: (path) => this.#brokenLinksTo(path),
      request: (path) => this.#queue.request(path),
    });
  }

  /** Reads everything once. A root that does not exist yet is not fatal: it is waited for (status() says so). */
  async start(): Promise<void> {
    const rootStat = await stat(this.#root).catch(() => undefined);
    if (rootStat !== undefined && !rootStat.isFile() && !rootStat.isDirectory()) {
      throw new Error(`file source ${this.#root}: not a file or a directory`);
    }
    this.#watchers.watchParent();
    // A first pass that fails (the tree changed under it in a way it could not take) is no sync: what it served
    // may be partial. It is tried again, after a growing pause, until one completes; status() says why meanwhile.
    for (let attempt = 0; !(await this.#queue.run(true, [])); attempt++) {
      if (this.#stopped) return;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(5_000, 100 * 2 ** attempt));
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.#wake = undefined;
    }
    // Stopped while the first pass ran: that is no sync either, and nothing more is started.
    if (this.#stopped) return;
    this.#synced = true;
    this.#lastSyncAt = Date.now();
    this.#rescanTimer = setInterval(() => this.#queue.request(undefined), this.#rescanMs);
    this.#rescanTimer.unref();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#wake?.();
    clearInterval(this.#rescanTimer);
    clearInterval(this.#missingTimer);
    this.#watchers.close();
    await this.#queue.stop();
    await this.#loader.close();
  }

  status(): SourceStatus {
    const { problems, problemCount, error } = this.#problems.summary();
    return {
      synced: this.#synced,
      lastSyncAt: this.#lastSyncAt,
      error: this.#rootError ?? this.#passError ?? error,
      problems,
      problemCount,
    };
  }

  /** Looks again at the whole tree (`full`) or at `paths` (files, or directories with all below them). */
  async #pass(full: boolean, paths: string[]): Promise<void> {
    if (this.#stopped) return;
    const rootStat = await stat(this.#root).catch((error: NodeJS.ErrnoException) => error);
    if (rootStat instanceof Error || (!rootStat.isFile() && !rootStat.isDirectory())) {
      const reason = !(rootStat instanceof Error)
        ? 'not a file or a directory'
        : rootStat.code === 'ENOENT'
          ? 'no such file or directory'
          : rootStat.message;
      await this.#rootMissing(reason);
      return;
    }
    const wasMissing = this.#rootError !== undefined;
    if (wasMissing || this.#rootIsFile !== rootStat.isFile()) full = true;
    this.#rootIsFile = rootStat.isFile();
    if (wasMissing) {
      this.#rootError = undefined;
      clearInterval(this.#missingTimer);
      this.#missingTimer = undefined;
      this.#logger.info({ path: this.#root }, 'manifest path is back: reading it again');
    }
    this.#watchers.watchParent();
    const bases = full
      ? [this.#root]
      : this.#withRelated(
          outermost(paths.map((p) => this.#scanBase(p))),
          await realpath(this.#root).catch(() => this.#root),
        );
    const listing = await this.#list(bases);
    const files = [...listing.files.values()];
    const outcomes = await this.#loader.readAll(
      files,
      !full,
      {
        state: (path) => this.#served.get(path),
        refusedDigest: (path) => this.#problems.refusedDigest(path),
      },
      !this.#synced,
    );
    this.#loader.release();
    const inScope = withinAny(bases);
    for (const dir of this.#watchers.unwatchDirectories((d) => inScope(d) && !listing.directories.has(d)))
      this.#kubeletDirs.delete(dir);
    const { changes, problems, read, vanished } = this.#sort(files, outcomes, listing, inScope);
    const removed = [...changes].filter(([path, next]) => next === undefined && this.#served.has(path));
    this.#problems.replace(inScope, problems);
    this.#noteBrokenLinks(listing.problems, inScope);
    const summary = await this.#served.apply(changes);
    for (const file of files) if (file.linked) this.#watchers.watchLinkTarget(dirname(file.realPath));
    this.#lastSyncAt = Date.now();
    this.#passError = undefined;
    // The tree changed under this pass (a file listed, then gone when read; a snapshot swapped while it was
    // listed): what it could not look at was kept as it was, and is looked at again now.
    for (const path of [...listing.unsettled, ...vanished]) this.#queue.request(path);
    if (read.length + removed.length > 0 || !this.#synced) {
      logPass(
        this.#logger,
        { read, removed: removed.map(([path]) => path), served: this.#served.size },
        describeServices(summary, this.#served.serviceCount()),
        !this.#synced,
      );
    }
  }

  /**
   * Remembers where the broken symlinks and loops of this pass point, so that the appearance of their target (an
   * event on that path, or on a directory above it) looks at them again; a target outside the tree has its
   * directory watched, as a linked file's has.
   */
  #noteBrokenLinks(problems: readonly TreeProblem[], inScope: (path: string) => boolean): void {
    for (const link of [...this.#brokenLinks.keys()]) if (inScope(link)) this.#brokenLinks.delete(link);
    for (const { path, target } of problems) {
      if (target === undefined) continue;
      this.#brokenLinks.set(path, target);
      if (!within(this.#root, target)) this.#watchers.watchLinkTarget(nearestDirectory(dirname(target)));
    }
  }

  #brokenLinksTo(path: string): string[] {
    const links: string[] = [];
    for (const [link, target] of this.#brokenLinks) if (within(path, target)) links.push(link);
    return links;
  }

  /**
   * `bases`, and the served links elsewhere in the tree into the kubelet directories they hold: a swap there moves
   * what such a link leads to, and the pass must look at the link too, or it would count the new snapshot's file a
   * second time under its own name while the link kept serving the old one. And the tree's own names of the files
   * below `bases` served under a link's name (a-link -> z-real, a-alias.yaml -> sub/x.yaml): if the link is gone,
   * the file is served under its own name in the same pass, instead of being removed until the rescan lists it.
   */
  #withRelated(bases: readonly string[], realRoot: string): string[] {
    const inBases = withinAny(bases);
    const swapped = [...this.#kubeletDirs].filter(([dir]) => inBases(dir)).map(([, real]) => real);
    const related: string[] = [];
    for (const [path, state] of this.#served.entries()) {
      // A file served under its own name and not through a link is neither (nearly all of a large tree): skipped
      // before anything costs a walk up its directories, as this runs on every pass.
      if (state.realPath === path && !state.linked) continue;
      if (inBases(path)) {
        if (state.realPath === path || !within(realRoot, state.realPath)) continue;
        const own = join(this.#root, relative(realRoot, state.realPath));
        if (!inBases(own) && !isHidden(this.#root, own)) related.push(own);
      } else if (state.linked && swapped.some((dir) => within(dir, state.realPath))) related.push(path);
    }
    return related.length === 0 ? [...bases] : outermost([...bases, ...related]);
  }

  /** Lists every base, watching the directories met. */
  async #list(bases: readonly string[]): Promise<PassListing> {
    const out: PassListing = {
      files: new Map(),
      directories: new Set(),
      problems: [],
      unsettled: [],
      kept: [],
    };
    const listedReal = new Set<string>();
    const inBases = withinAny(bases);
    for (const base of bases) {
      const listing = await listTree(base, {
        root: base === this.#root,
        ancestors: await realAncestors(this.#root, base),
        // Counted elsewhere: by a base this pass listed before (bases are sorted: the first name keeps it), or
        // by a served file this pass does not look at again.
        countedElsewhere: (real, path) => {
          if (listedReal.has(real)) return true;
          const owner = this.#served.pathOf(real);
          return owner !== undefined && owner !== path && !inBases(owner) && this.#served.has(owner);
        },
      });
      for (const dir of listing.directories) {
        out.directories.add(dir.path);
        this.#watchers.watchDirectory(dir.path, dir.ino, dir.realPath);
        if (dir.kubelet) this.#kubeletDirs.set(dir.path, dir.realPath);
        else this.#kubeletDirs.delete(dir.path);
      }
      for (const file of listing.files) {
        out.files.set(file.path, file);
        listedReal.add(file.realPath);
      }
      out.problems.push(...listing.problems);
      out.unsettled.push(...listing.unsettled);
      out.kept.push(...listing.kept);
    }
    return out;
  }

  /** The pass's outcomes as one diff (path → new state, undefined: gone) and the problems of the paths it saw. */
  #sort(
    files: readonly ListedFile[],
    outcomes: readonly LoadOutcome[],
    listing: PassListing,
    inScope: (path: string) => boolean,
  ): {
    changes: Map<string, FileState | undefined>;
    problems: Map<string, SourceProblem[]>;
    read: string[];
    /** Listed, then gone when read: kept as it was for the next pass to look at. */
    vanished: string[];
  } {
    const problemPaths = new Set(listing.problems.map((p) => p.path));
    const changes = new Map<string, FileState | undefined>();
    const problems = new Map<string, SourceProblem[]>();
    for (const problem of listing.problems) {
      const list = problems.get(problem.path) ?? [];
      list.push({ file: problem.path, message: problem.message });
      problems.set(problem.path, list);
    }
    // Gone: what a listing in scope did not find, unless the listing of its directory was cut short.
    // … nor removes what lies below a path it could not look at (an unreadable directory): its last good state stays.
    const unsettled = (path: string): boolean =>
      listing.unsettled.some((dir) => within(dir, path)) || listing.kept.some((dir) => within(dir, path));
    // A path this pass could not look at keeps the problems it had, as it keeps what it served.
    const keepProblems = (path: string): void => {
      const held = this.#problems.of(path);
      if (held.length > 0) problems.set(path, [...held]);
    };
    for (const path of new Set([...this.#served.paths(), ...this.#problems.paths()])) {
      if (!inScope(path) || listing.files.has(path) || problemPaths.has(path)) continue;
      if (unsettled(path)) keepProblems(path);
      else changes.set(path, undefined);
    }
    const read: string[] = [];
    const vanished: string[] = [];
    files.forEach((file, i) => {
      const outcome = outcomes[i] ?? { kind: 'gone' };
      switch (outcome.kind) {
        case 'same':
          this.#served.restamp(
            file.path,
            file,
            outcome.stamp === undefined
              ? undefined
              : { stamp: outcome.stamp, trustStamp: outcome.trustStamp ?? false },
          );
          break;
        case 'same-broken':
          problems.set(file.path, [...this.#problems.of(file.path)]);
          break;
        case 'gone':
          // Listed a moment ago: it was deleted (or its snapshot swapped out) during this pass. Only a listing
          // that no longer shows it removes it; until then what it served stays.
          vanished.push(file.path);
          if (!problemPaths.has(file.path)) keepProblems(file.path);
          break;
        case 'new':
          changes.set(file.path, outcome.state);
          read.push(file.path);
          this.#problems.setRefused(file.path, undefined);
          if (outcome.skipped.length > 0) logSkipped(this.#logger, file.path, outcome.skipped);
          break;
        case 'broken':
          problems.set(file.path, [...outcome.problems]);
          if (outcome.refusedDigest !== undefined)
            this.#problems.setRefused(file.path, outcome.refusedDigest);
          break;
      }
    });
    return { changes, problems, read, vanished };
  }

  /** What to list for a changed path: kubelet's layout and single-file roots are always read whole. */
  #scanBase(path: string): string {
    if (this.#rootIsFile) return this.#root;
    const parent = dirname(path);
    if (this.#kubeletDirs.has(parent) || basename(path) === KUBELET_DATA_DIR) return parent;
    for (const dir of this.#kubeletDirs.keys()) if (within(dir, path)) return dir;
    return path === this.#root || !within(this.#root, path) || isHidden(this.#root, path) ? this.#root : path;
  }

  async #rootMissing(reason: string): Promise<void> {
    const error = `${this.#root}: ${reason}; waiting for it to appear (its services are removed meanwhile)`;
    if (this.#rootError === undefined) this.#logger.error({ path: this.#root, problem: reason }, error);
    this.#rootError = error;
    this.#problems.replace(() => true, new Map());
    this.#brokenLinks.clear();
    const summary = await this.#served.apply(new Map(this.#served.paths().map((path) => [path, undefined])));
    if (summary.removed.length > 0)
      this.#logger.info({ services: describeServices(summary, 0) }, 'manifest path gone');
    this.#watchers.unwatchDirectories(() => true);
    this.#kubeletDirs.clear();
    if (this.#missingTimer === undefined && !this.#stopped) {
      this.#missingTimer = setInterval(() => this.#queue.request(undefined), this.#missingPollMs);
      this.#missingTimer.unref();
    }
  }
}

/** `dir`, or the nearest directory above it that exists: where the appearance of what is below would be seen. */
function nearestDirectory(dir: string): string {
  for (let at = dir; ; at = dirname(at)) {
    if (statSync(at, { throwIfNoEntry: false })?.isDirectory() === true || dirname(at) === at) return at;
  }
}
