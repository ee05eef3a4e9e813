// Serves EndpointSlice / Endpoints / Service manifests from a file or a directory tree (*.yaml, *.yml, *.json),
// watched live. Every change is applied as one diff: the files a pass read are compared with what they served
// before and only the Services whose objects changed are rebuilt, so a kubelet `..data` swap that moves, adds and
// removes keys shows a watcher one MODIFIED per changed Service, never a DELETED then ADDED.
//
// A file that cannot be used (invalid YAML, a bad field, too large, a broken symlink, a loop, a directory where it
// was) is that file's problem only: it is logged with its path, listed in status().problems, and its last good state
// stays served. A path that is gone is forgotten, its Services removed; the root itself gone is the same as all of
// its files removed, and it is read again as soon as it is back.
//
// Watching uses one non-recursive fs.watch (inotify) per directory and treats an event as "look at this path
// again", deciding by content (a digest), not by mtime or size: two saves within one timestamp tick with the same
// length are still two different files. A periodic rescan catches anything the kernel's event queue lost; it trusts
// a file's stat data only when the file had been quiet for a while when last read (the "racily clean" rule).
import { SOURCE_OPTIONS } from '../../config/options/sources.ts';
import { closeSync, watch, type FSWatcher } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { basename, dirname, join, resolve, sep } from 'node:path';
import type { Logger } from 'pino';
import { serviceKeyString, type ServiceKey } from '../../model.ts';
import type { StoreWriter } from '../../store/faces.ts';
import { ExposurePolicy } from '../../policy/exposure.ts';
import { publishServices, type PublishSummary } from '../publish.ts';
import { ServiceAssembler, type EndpointObject } from '../service-assembler.ts';
import type { Source, SourceProblem, SourceStatus } from '../source.ts';
import type { SkippedObject } from './manifest.ts';
import type { ParseResult } from './parse-file.ts';
import { ParsePool } from './parse-pool.ts';
import { readAndParse, type ReadTask, type WorkerRead } from './parse-worker.ts';
import { openManifest } from './read-file.ts';
import { isHidden, KUBELET_DATA_DIR, listTree, type ListedFile, type TreeProblem } from './tree.ts';

/** The default of --file-max-size (declared with the option). */
export const DEFAULT_MAX_FILE_BYTES = SOURCE_OPTIONS.maxFileBytes.defaultValue;
/** Files from this size on are parsed in the worker thread: inline, they would stall the event loop. */
const WORKER_THRESHOLD_BYTES = 128 * 1024;
/** How many problems status() lists; problemCount says how many there are in all. */
const LISTED_PROBLEMS = 50;
/** How many names a "what changed" log line lists per kind of change. */
const LOGGED_NAMES = 20;
/** Synchronous reading and parsing between two yields to the event loop during a scan. */
const YIELD_AFTER_MS = 10;
/** From this many files to read in one pass on (a first load), they are read and parsed by the workers. */
const BATCH_THRESHOLD = 200;
/** Files per message to a worker. */
const BATCH_SIZE = 100;
/** Services rebuilt between two yields to the event loop while a large change is applied. */
const PUBLISH_CHUNK = 250;

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

/** What one file serves now. */
interface FileState {
  readonly digest: string;
  readonly objects: readonly EndpointObject[];
  /** Per-object digests, for files parsed in the worker (so an edit re-sends only what changed). */
  readonly objectDigests: readonly string[] | undefined;
  readonly realPath: string;
  /** Where it is read from now (inside kubelet's snapshot, for that layout). */
  readonly readPath: string;
  readonly linked: boolean;
  /** inode, size, mtime, ctime at the last read, and whether they may stand in for the content. */
  readonly stamp: string;
  readonly trustStamp: boolean;
}

type LoadOutcome =
  | { readonly kind: 'same'; readonly stamp?: string; readonly trustStamp?: boolean }
  | { readonly kind: 'same-broken' }
  | { readonly kind: 'gone' }
  | { readonly kind: 'new'; readonly state: FileState; readonly skipped: readonly SkippedObject[] }
  | {
      readonly kind: 'broken';
      readonly problems: readonly SourceProblem[];
      readonly refusedDigest?: string;
      readonly stamp?: string;
    };

export class FileSource implements Source {
  readonly name: string;
  readonly #root: string;
  readonly #store: StoreWriter;
  readonly #logger: Logger;
  readonly #settleMs: number;
  readonly #rescanMs: number;
  readonly #missingPollMs: number;
  readonly #maxFileBytes: number;
  readonly #policy: ExposurePolicy;
  readonly #assembler = new ServiceAssembler();
  /** Threads that read and parse what would hold the event loop too long: large files, first loads. */
  readonly #parser = new ParsePool({ size: Math.min(2, availableParallelism()) });
  /** The last good state of each manifest file, by the path it is served under. */
  readonly #files = new Map<string, FileState>();
  /** Which served path each real file is counted under (a file reached through two names counts once). */
  readonly #byRealPath = new Map<string, string>();
  /** What is wrong with a path now: its content, or the path itself (a broken symlink, a loop). */
  readonly #problems = new Map<string, readonly SourceProblem[]>();
  /** Digest (or stamp) of a file's refused content, so that the same bytes are neither parsed nor logged again. */
  readonly #refused = new Map<string, string>();
  readonly #kubeletDirs = new Set<string>();
  /** One watcher per directory of the tree, with the inode it watches. */
  readonly #watchers = new Map<string, { readonly watcher: FSWatcher; readonly ino: number }>();
  /** Watchers on the real directories of files linked in from outside the tree. */
  readonly #linkWatchers = new Map<string, FSWatcher>();
  #parentWatcher: FSWatcher | undefined;
  #rootError: string | undefined;
  #rootIsFile = false;
  /** What the next pass looks at again: the whole tree, or these paths. */
  #pending: { full: boolean; paths: Set<string> } = { full: false, paths: new Set() };
  #settleTimer: NodeJS.Timeout | undefined;
  #firstPendingAt = 0;
  #rescanTimer: NodeJS.Timeout | undefined;
  #missingTimer: NodeJS.Timeout | undefined;
  /** Passes run one at a time, in order, so that an older read can never overwrite a newer one. */
  #queue: Promise<void> = Promise.resolve();
  #synced = false;
  #stopped = false;
  #lastSyncAt: number | undefined;

  constructor(options: FileSourceOptions) {
    this.#root = resolve(options.path);
    this.name = `file:${this.#root}`;
    this.#store = options.store;
    this.#logger = options.logger.child({ source: this.name });
    this.#settleMs = options.settleMs ?? 30;
    this.#rescanMs = options.rescanMs ?? 30_000;
    this.#missingPollMs = options.missingPollMs ?? 1000;
    this.#maxFileBytes = options.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES;
    this.#policy = options.policy ?? ExposurePolicy.OPEN;
  }

  /** Reads everything once. A root that does not exist yet is not fatal: it is waited for (status() says so). */
  async start(): Promise<void> {
    const rootStat = await stat(this.#root).catch(() => undefined);
    if (rootStat !== undefined && !rootStat.isFile() && !rootStat.isDirectory()) {
      throw new Error(`file source ${this.#root}: not a file or a directory`);
    }
    this.#watchParent();
    await this.#enqueue(() => this.#pass(true, []));
    this.#synced = true;
    this.#lastSyncAt = Date.now();
    this.#rescanTimer = setInterval(() => this.#request(undefined), this.#rescanMs);
    this.#rescanTimer.unref();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#settleTimer);
    clearInterval(this.#rescanTimer);
    clearInterval(this.#missingTimer);
    for (const { watcher } of this.#watchers.values()) watcher.close();
    this.#watchers.clear();
    for (const watcher of this.#linkWatchers.values()) watcher.close();
    this.#linkWatchers.clear();
    this.#parentWatcher?.close();
    await this.#queue;
    await this.#parser.close();
  }

  status(): SourceStatus {
    const problems = [...this.#problems.values()].flat();
    const files = this.#problems.size;
    let error = this.#rootError;
    if (error === undefined && problems.length > 0) {
      const [first] = problems;
      error = `${problems.length} problem(s) in ${files} file(s), serving the last good state of each; first: ${first?.file}: ${first?.message}`;
    }
    return {
      synced: this.#synced,
      lastSyncAt: this.#lastSyncAt,
      error,
      problems: problems.slice(0, LISTED_PROBLEMS),
      problemCount: problems.length,
    };
  }

  // ---- watching ------------------------------------------------------------------------------------------------

  /** The root's parent: the root deleted, created or replaced (a ConfigMap mount, a `mv new static`). */
  #watchParent(): void {
    const parent = dirname(this.#root);
    const name = basename(this.#root);
    try {
      this.#parentWatcher = watch(parent, (_event, filename) => {
        const changed = filename?.toString();
        if (changed === undefined || changed === name || (this.#rootIsFile && changed.startsWith('..')))
          this.#request(undefined);
      });
      this.#parentWatcher.on('error', () => {
        this.#parentWatcher?.close();
        this.#parentWatcher = undefined;
      });
    } catch {
      // No parent to watch (it is missing too): the poll while the root is missing finds it.
    }
  }

  #watchDirectory(dir: string, ino: number): void {
    const known = this.#watchers.get(dir);
    if (known?.ino === ino || this.#stopped) return;
    known?.watcher.close();
    try {
      const watcher = watch(dir, (_event, filename) => this.#onEvent(dir, filename?.toString()));
      watcher.on('error', () => {
        watcher.close();
        if (this.#watchers.get(dir)?.watcher === watcher) this.#watchers.delete(dir);
      });
      this.#watchers.set(dir, { watcher, ino });
    } catch (error) {
      this.#logger.warn({ err: error, dir }, 'cannot watch directory; relying on the periodic rescan');
    }
  }

  #watchLinkTarget(realDir: string): void {
    if (this.#linkWatchers.has(realDir) || this.#watchers.has(realDir) || this.#stopped) return;
    try {
      const watcher = watch(realDir, (_event, filename) => {
        const real = filename === null ? undefined : join(realDir, filename.toString());
        const path = real === undefined ? undefined : this.#byRealPath.get(real);
        if (path !== undefined) this.#request(path);
        else if (real === undefined) this.#request(undefined);
      });
      watcher.on('error', () => {
        watcher.close();
        this.#linkWatchers.delete(realDir);
      });
      this.#linkWatchers.set(realDir, watcher);
    } catch {
      // The periodic rescan still reads it.
    }
  }

  #onEvent(dir: string, filename: string | undefined): void {
    if (filename === undefined) return this.#request(undefined);
    if (this.#rootIsFile) {
      if (filename === basename(this.#root) || filename.startsWith('..')) this.#request(this.#root);
      return;
    }
    // kubelet's layout changes by swapping `..data`: read the directory's new snapshot whole.
    if (this.#kubeletDirs.has(dir) || filename.startsWith('..')) return this.#request(dir);
    if (filename.startsWith('.')) return; // an editor's temp file: its rename onto the real name is an event too
    this.#request(join(dir, filename));
  }

  /** Asks for `path` (undefined: everything) to be looked at again once events settle. */
  #request(path: string | undefined): void {
    if (this.#stopped) return;
    if (path === undefined) this.#pending.full = true;
    else this.#pending.paths.add(path);
    const now = Date.now();
    if (this.#settleTimer === undefined) this.#firstPendingAt = now;
    clearTimeout(this.#settleTimer);
    // A steady stream of events must not postpone reading forever.
    const wait = Math.max(0, Math.min(this.#settleMs, this.#firstPendingAt + 10 * this.#settleMs - now));
    this.#settleTimer = setTimeout(() => {
      this.#settleTimer = undefined;
      const { full, paths } = this.#pending;
      this.#pending = { full: false, paths: new Set() };
      void this.#enqueue(() => this.#pass(full, [...paths]));
    }, wait);
  }

  #enqueue(work: () => Promise<void>): Promise<void> {
    this.#queue = this.#queue.then(work).catch((error: unknown) => {
      this.#logger.error({ err: error }, 'reading manifests failed');
    });
    return this.#queue;
  }

  // ---- one pass: list, read, diff, apply -----------------------------------------------------------------------

  /** Looks again at the whole tree (`full`) or at `paths` (files, or directories with all below them). */
  async #pass(full: boolean, paths: string[]): Promise<void> {
    if (this.#stopped) return;
    const rootStat = await stat(this.#root).catch((error: NodeJS.ErrnoException) => error);
    if (rootStat instanceof Error || (!rootStat.isFile() && !rootStat.isDirectory())) {
      await this.#rootMissing(
        rootStat instanceof Error
          ? rootStat.code === 'ENOENT'
            ? 'no such file or directory'
            : rootStat.message
          : 'not a file or a directory',
      );
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
    if (this.#parentWatcher === undefined) this.#watchParent();
    const bases = full ? [this.#root] : outermost(paths.map((p) => this.#scanBase(p)));
    const listed = new Map<string, ListedFile>();
    const listedDirectories = new Set<string>();
    const treeProblems: TreeProblem[] = [];
    for (const base of bases) {
      const listing = await listTree(base, {
        root: base === this.#root,
        ancestors: await realAncestors(this.#root, base),
        countedElsewhere: (real, path) => {
          const owner = this.#byRealPath.get(real);
          return owner !== undefined && owner !== path && !within(base, owner) && this.#files.has(owner);
        },
      });
      for (const dir of listing.directories) {
        listedDirectories.add(dir.path);
        this.#watchDirectory(dir.path, dir.ino);
        if (dir.kubelet) this.#kubeletDirs.add(dir.path);
        else this.#kubeletDirs.delete(dir.path);
      }
      for (const file of listing.files) listed.set(file.path, file);
      treeProblems.push(...listing.problems);
    }
    const outcomes = await this.#readAll([...listed.values()], !full);
    await this.#parser.release();
    const inScope = (path: string): boolean => bases.some((base) => within(base, path));
    for (const [dir, { watcher }] of [...this.#watchers]) {
      if (!inScope(dir) || listedDirectories.has(dir)) continue;
      watcher.close();
      this.#watchers.delete(dir);
      this.#kubeletDirs.delete(dir);
    }
    const problemPaths = new Set(treeProblems.map((p) => p.path));
    const gone = [...new Set([...this.#files.keys(), ...this.#problems.keys()])].filter(
      (path) => inScope(path) && !listed.has(path) && !problemPaths.has(path),
    );
    const changes = new Map<string, FileState | undefined>();
    const newProblems = new Map<string, SourceProblem[]>();
    for (const problem of treeProblems) {
      const list = newProblems.get(problem.path) ?? [];
      list.push({ file: problem.path, message: problem.message });
      newProblems.set(problem.path, list);
    }
    const read: string[] = [];
    [...listed.values()].forEach((file, i) => {
      const outcome = outcomes[i] ?? { kind: 'gone' };
      switch (outcome.kind) {
        case 'same': {
          const known = this.#files.get(file.path);
          if (known !== undefined && outcome.stamp !== undefined)
            this.#files.set(file.path, {
              ...known,
              readPath: file.readPath,
              stamp: outcome.stamp,
              trustStamp: outcome.trustStamp ?? false,
            });
          break;
        }
        case 'same-broken':
          newProblems.set(file.path, [...(this.#problems.get(file.path) ?? [])]);
          break;
        case 'gone':
          if (!problemPaths.has(file.path)) gone.push(file.path);
          break;
        case 'new':
          changes.set(file.path, outcome.state);
          read.push(file.path);
          this.#refused.delete(file.path);
          if (outcome.skipped.length > 0) this.#logSkipped(file.path, outcome.skipped);
          break;
        case 'broken':
          newProblems.set(file.path, [...outcome.problems]);
          if (outcome.refusedDigest !== undefined) this.#refused.set(file.path, outcome.refusedDigest);
          break;
      }
    });
    for (const path of gone) changes.set(path, undefined);
    const removedFiles = gone.filter((path) => this.#files.has(path));
    this.#replaceProblems(inScope, newProblems);
    const summary = await this.#apply(changes);
    for (const file of listed.values()) if (file.linked) this.#watchLinkTarget(dirname(file.realPath));
    this.#lastSyncAt = Date.now();
    if (read.length + removedFiles.length > 0 || !this.#synced) {
      this.#logger.info(
        {
          files: {
            read: read.length,
            removed: removedFiles.length,
            served: this.#files.size,
            ...(read.length + removedFiles.length <= LOGGED_NAMES
              ? { readNames: read, removedNames: removedFiles }
              : {}),
          },
          services: describeSummary(summary, this.#assembler.services().length),
        },
        this.#synced ? 'manifests changed' : 'manifests loaded',
      );
    }
  }

  /** What to list for a changed path: kubelet's layout and single-file roots are always read whole. */
  #scanBase(path: string): string {
    if (this.#rootIsFile) return this.#root;
    const parent = dirname(path);
    if (this.#kubeletDirs.has(parent) || basename(path) === KUBELET_DATA_DIR) return parent;
    for (const dir of this.#kubeletDirs) if (within(dir, path)) return dir;
    return path === this.#root || !within(this.#root, path) || isHidden(this.#root, path) ? this.#root : path;
  }

  async #rootMissing(reason: string): Promise<void> {
    const error = `${this.#root}: ${reason}; waiting for it to appear (its services are removed meanwhile)`;
    if (this.#rootError === undefined) this.#logger.error({ path: this.#root, problem: reason }, error);
    this.#rootError = error;
    const everything = (): boolean => true;
    this.#replaceProblems(everything, new Map());
    const summary = await this.#apply(new Map([...this.#files.keys()].map((path) => [path, undefined])));
    if (summary.removed.length > 0)
      this.#logger.info({ services: describeSummary(summary, 0) }, 'manifest path gone');
    for (const { watcher } of this.#watchers.values()) watcher.close();
    this.#watchers.clear();
    this.#kubeletDirs.clear();
    if (this.#missingTimer === undefined && !this.#stopped) {
      this.#missingTimer = setInterval(() => this.#request(undefined), this.#missingPollMs);
      this.#missingTimer.unref();
    }
  }

  /**
   * Reads every listed file but those its stat data may vouch for (periodic rescans only). Few small files are read
   * and parsed here, yielding now and then; many (a first load) are spread over the parse workers, and a large one
   * always goes to a worker, so that parsing never holds the event loop for long.
   */
  async #readAll(files: readonly ListedFile[], mustRead: boolean): Promise<LoadOutcome[]> {
    const outcomes: Array<LoadOutcome | Promise<LoadOutcome>> = [];
    const small: Array<{ readonly index: number; readonly file: ListedFile; readonly task: ReadTask }> = [];
    const yieldNow = yielder();
    for (const [index, file] of files.entries()) {
      const known = this.#files.get(file.path);
      const opened = openManifest(file.readPath, this.#maxFileBytes);
      if (opened.kind === 'gone') outcomes[index] = { kind: 'gone' };
      else if (opened.kind === 'unusable') {
        outcomes[index] = this.#broken(file.path, opened.message, opened.refusal);
      } else {
        closeSync(opened.fd);
        const large = opened.size >= WORKER_THRESHOLD_BYTES;
        if (!mustRead && known?.trustStamp === true && known.stamp === opened.stamp) {
          outcomes[index] = { kind: 'same' };
          continue;
        }
        const task: ReadTask = {
          path: file.readPath,
          maxBytes: this.#maxFileBytes,
          request: {
            format: /\.json$/i.test(file.path) ? 'json' : 'yaml',
            servedDigest: known?.digest,
            refusedDigest: this.#refused.get(file.path),
            servedObjectDigests: large ? (known?.objectDigests ?? []) : undefined,
          },
        };
        if (large)
          outcomes[index] = this.#inWorkers([file], [task]).then(([outcome]) => outcome as LoadOutcome);
        else small.push({ index, file, task });
      }
      await yieldNow();
    }
    if (small.length >= BATCH_THRESHOLD) {
      for (let i = 0; i < small.length; i += BATCH_SIZE) {
        const batch = small.slice(i, i + BATCH_SIZE);
        const done = this.#inWorkers(
          batch.map((b) => b.file),
          batch.map((b) => b.task),
        );
        batch.forEach((b, k) => (outcomes[b.index] = done.then((all) => all[k] as LoadOutcome)));
      }
    } else {
      for (const { index, file, task } of small) {
        outcomes[index] = this.#readOutcome(file, readAndParse(task));
        await yieldNow();
      }
    }
    return Promise.all(outcomes.map(async (o) => o));
  }

  /** The files' outcomes, read and parsed by a worker; a worker that fails makes each file's problem say so. */
  async #inWorkers(files: readonly ListedFile[], tasks: readonly ReadTask[]): Promise<LoadOutcome[]> {
    try {
      const reads = await this.#parser.run(tasks);
      return files.map((file, i) => this.#readOutcome(file, reads[i] ?? { kind: 'gone' }));
    } catch (error) {
      return files.map((file) => this.#broken(file.path, `cannot parse: ${(error as Error).message}`));
    }
  }

  #readOutcome(file: ListedFile, read: WorkerRead): LoadOutcome {
    if (read.kind === 'gone') return read;
    if (read.kind === 'unusable') return this.#broken(file.path, read.message, read.refusal);
    return this.#outcome(file, this.#files.get(file.path), read.result, read.stamp, read.trustStamp);
  }

  #outcome(
    file: ListedFile,
    known: FileState | undefined,
    result: ParseResult,
    stamp: string,
    trustStamp: boolean,
  ): LoadOutcome {
    switch (result.kind) {
      case 'unchanged':
        return { kind: 'same', stamp, trustStamp };
      case 'unchanged-broken':
        return { kind: 'same-broken' };
      case 'broken':
        return {
          kind: 'broken',
          refusedDigest: result.digest,
          problems: result.problems.map((p) => ({
            file: file.path,
            document: p.document,
            field: p.path,
            message: p.message,
            ...(p.line === undefined ? {} : { line: p.line, column: p.column }),
          })),
        };
      case 'parsed': {
        // Objects the worker left out are the served ones with the same digest.
        const previous = new Map<string, EndpointObject>();
        known?.objectDigests?.forEach((digest, i) => {
          const object = known.objects[i];
          if (object !== undefined) previous.set(digest, object);
        });
        const objects = result.objects.map((o, i) => o ?? previous.get(result.objectDigests?.[i] ?? ''));
        if (objects.some((o) => o === undefined)) {
          return { kind: 'broken', problems: [{ file: file.path, message: 'internal: lost an object' }] };
        }
        return {
          kind: 'new',
          skipped: result.skipped,
          state: {
            digest: result.digest,
            objects: objects as EndpointObject[],
            objectDigests: result.objectDigests,
            realPath: file.realPath,
            readPath: file.readPath,
            linked: file.linked,
            stamp,
            trustStamp,
          },
        };
      }
    }
  }

  #broken(path: string, message: string, refusedDigest?: string): LoadOutcome {
    return {
      kind: 'broken',
      problems: [{ file: path, message }],
      ...(refusedDigest === undefined ? {} : { refusedDigest }),
    };
  }

  /** Replaces the problems of the paths `inScope` says this pass looked at, logging those that are new. */
  #replaceProblems(inScope: (path: string) => boolean, next: Map<string, SourceProblem[]>): void {
    for (const path of [...this.#problems.keys()]) {
      if (!inScope(path) || next.has(path)) continue;
      this.#problems.delete(path);
      this.#logger.info({ file: path }, 'manifest problem resolved');
    }
    for (const [path, problems] of next) {
      const before = JSON.stringify(this.#problems.get(path));
      this.#problems.set(path, problems);
      if (before === JSON.stringify(problems)) continue;
      for (const problem of problems) {
        this.#logger.error(
          {
            file: problem.file,
            document: problem.document,
            field: problem.field,
            line: problem.line,
            column: problem.column,
            problem: problem.message,
          },
          'invalid manifest: keeping the last good state of this file',
        );
      }
    }
  }

  #logSkipped(path: string, skipped: readonly SkippedObject[]): void {
    this.#logger.info(
      {
        file: path,
        skippedCount: skipped.length,
        skipped: skipped
          .slice(0, LOGGED_NAMES)
          .map((s) => ({ kind: s.kind, document: s.document, at: s.path })),
      },
      'skipping objects of kinds endpointd does not serve',
    );
  }

  /**
   * Applies every file's new state (undefined: gone) as one diff: objects that stay the same are not touched, and
   * each Service whose objects changed is rebuilt once, from all its objects after the change.
   */
  async #apply(changes: Map<string, FileState | undefined>): Promise<PublishSummary> {
    const touched = new Map<string, ServiceKey>();
    const note = (key: ServiceKey | undefined): void => {
      if (key !== undefined) touched.set(serviceKeyString(key), key);
    };
    for (const [path, next] of changes) {
      const before = this.#files.get(path);
      const kept = new Set<EndpointObject>(next?.objects ?? []);
      for (const old of before?.objects ?? []) if (!kept.has(old)) note(this.#assembler.remove(path, old));
      const had = new Set<EndpointObject>(before?.objects ?? []);
      for (const object of next?.objects ?? []) if (!had.has(object)) note(this.#assembler.put(path, object));
      if (before !== undefined && this.#byRealPath.get(before.realPath) === path)
        this.#byRealPath.delete(before.realPath);
      if (next === undefined) this.#files.delete(path);
      else {
        this.#files.set(path, next);
        this.#byRealPath.set(next.realPath, path);
      }
    }
    const summary: PublishSummary = { added: [], changed: [], removed: [] };
    const keys = [...touched.values()];
    for (let i = 0; i < keys.length; i += PUBLISH_CHUNK) {
      if (i > 0) await new Promise((resolve) => setImmediate(resolve));
      const part = publishServices(
        { store: this.#store, source: this.name, policy: this.#policy, logger: this.#logger },
        this.#assembler,
        keys.slice(i, i + PUBLISH_CHUNK),
      );
      summary.added.push(...part.added);
      summary.changed.push(...part.changed);
      summary.removed.push(...part.removed);
    }
    return summary;
  }
}

/** The real paths of the directories from `root` down to the one holding `base`: what a symlink loop leads to. */
async function realAncestors(root: string, base: string): Promise<string[]> {
  const out: string[] = [];
  for (let dir = dirname(base); base !== root && within(root, dir); dir = dirname(dir)) {
    const real = await realpath(dir).catch(() => undefined);
    if (real !== undefined) out.unshift(real);
    if (dir === root) break;
  }
  return out;
}

/** `path` is `base` or below it. */
function within(base: string, path: string): boolean {
  return path === base || path.startsWith(base.endsWith(sep) ? base : base + sep);
}

/** The paths none of the others contains. */
function outermost(paths: string[]): string[] {
  const unique = [...new Set(paths)].sort();
  return unique.filter((p) => !unique.some((other) => other !== p && within(other, p)));
}

/** A function to await between bits of synchronous work: it yields to the event loop every few milliseconds. */
function yielder(): () => Promise<void> {
  let since = performance.now();
  return async () => {
    if (performance.now() - since < YIELD_AFTER_MS) return;
    await new Promise((resolve) => setImmediate(resolve));
    since = performance.now();
  };
}

function describeSummary(summary: PublishSummary, served: number): Record<string, unknown> {
  const names = (keys: readonly ServiceKey[]): string[] => keys.slice(0, LOGGED_NAMES).map(serviceKeyString);
  return {
    added: summary.added.length,
    changed: summary.changed.length,
    removed: summary.removed.length,
    served,
    ...(summary.added.length > 0 ? { addedNames: names(summary.added) } : {}),
    ...(summary.changed.length > 0 ? { changedNames: names(summary.changed) } : {}),
    ...(summary.removed.length > 0 ? { removedNames: names(summary.removed) } : {}),
  };
}
