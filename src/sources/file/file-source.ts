// Serves Endpoints/EndpointSlice manifests from a file or a directory tree (*.yaml, *.yml, *.json), watched live.
// A file whose documents do not all parse is reported and ignored as a whole: the last good state of that file
// stays served, so a half-saved or mistyped edit never takes endpoints away.
//
// Watching uses one non-recursive fs.watch (inotify) per directory and treats every event as "look at this path
// again", deciding by content, not by mtime or size: two saves within one timestamp tick with the same length are
// still two different files, and watchers that filter on stat data (chokidar does) drop the second. Node's own
// recursive mode is not used: on Linux it watches each file's inode and goes deaf to a file that an editor replaced
// by renaming a temp file over it. A periodic rescan catches anything the kernel's event queue lost.
import { watch, type FSWatcher } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import type { Logger } from 'pino';
import { serviceKeyString, type ServiceKey } from '../../model.ts';
import type { EndpointStore } from '../../store/endpoint-store.ts';
import { ExposurePolicy } from '../../policy/exposure.ts';
import { publishServices } from '../publish.ts';
import { ServiceAssembler, type EndpointObject } from '../service-assembler.ts';
import type { Source, SourceStatus } from '../source.ts';
import { parseManifest } from './manifest.ts';

const MANIFEST_FILE = /\.(ya?ml|json)$/i;

export interface FileSourceOptions {
  readonly path: string;
  readonly store: EndpointStore;
  readonly logger: Logger;
  /** How long a burst of events on one path may settle before it is read (editors write in several steps). */
  readonly settleMs?: number;
  /** Period of the full rescan that repairs events the kernel dropped. */
  readonly rescanMs?: number;
  /** Which Services clients may see; default: all. */
  readonly policy?: ExposurePolicy;
}

export class FileSource implements Source {
  readonly name: string;
  readonly #root: string;
  readonly #store: EndpointStore;
  readonly #logger: Logger;
  readonly #settleMs: number;
  readonly #rescanMs: number;
  readonly #policy: ExposurePolicy;
  readonly #assembler = new ServiceAssembler();
  /** The last good objects of each manifest file, and the text they were parsed from. */
  readonly #files = new Map<string, { readonly text: string; readonly objects: EndpointObject[] }>();
  /** Files whose current content is refused, with their problem count: the source's error while any is left. */
  readonly #brokenFiles = new Map<string, number>();
  readonly #timers = new Map<string, NodeJS.Timeout>();
  /** One watcher per directory of the tree (for a single-file root: its directory only). */
  readonly #watchers = new Map<string, FSWatcher>();
  #rescanTimer: NodeJS.Timeout | undefined;
  /** The root is a single file: watch its directory (an editor's rename would orphan a watch on the file). */
  #singleFile = false;
  /** Reads run one at a time, in event order, so an older read can never overwrite a newer one. */
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
    this.#policy = options.policy ?? ExposurePolicy.OPEN;
  }

  async start(): Promise<void> {
    const rootStat = await stat(this.#root).catch((error: NodeJS.ErrnoException) => {
      throw new Error(
        `file source ${this.#root}: ${error.code === 'ENOENT' ? 'no such file or directory' : error.message}`,
      );
    });
    if (!rootStat.isFile() && !rootStat.isDirectory()) {
      throw new Error(`file source ${this.#root}: not a file or a directory`);
    }
    this.#singleFile = rootStat.isFile();
    // Watch first, then scan: a change made during the scan is then read again, never missed.
    this.#watchDirectory(this.#singleFile ? dirname(this.#root) : this.#root);
    await this.#enqueue(() => this.#rescan());
    this.#synced = true;
    this.#lastSyncAt = Date.now();
    this.#rescanTimer = setInterval(() => this.#scheduleRescan(), this.#rescanMs);
    this.#rescanTimer.unref();
    this.#logger.info(
      { files: this.#files.size, services: this.#assembler.services().length },
      'manifests loaded',
    );
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    for (const timer of this.#timers.values()) clearTimeout(timer);
    this.#timers.clear();
    clearInterval(this.#rescanTimer);
    for (const watcher of this.#watchers.values()) watcher.close();
    this.#watchers.clear();
    await this.#queue;
  }

  status(): SourceStatus {
    const broken = [...this.#brokenFiles].map(([file, count]) => `${file}: ${count} problem(s)`);
    return {
      synced: this.#synced,
      lastSyncAt: this.#lastSyncAt,
      error: broken.length > 0 ? broken.join('; ') : undefined,
    };
  }

  #watchDirectory(dir: string): void {
    if (this.#watchers.has(dir) || this.#stopped) return;
    try {
      const watcher = watch(dir, (_event, filename) => {
        if (filename === null) {
          this.#scheduleRescan();
          return;
        }
        const path = join(dir, filename.toString());
        if (!this.#singleFile || path === this.#root) this.#schedule(path);
      });
      watcher.on('error', (error) => {
        this.#unwatchDirectory(dir);
        this.#logger.debug({ err: error, dir }, 'directory watch ended');
      });
      this.#watchers.set(dir, watcher);
    } catch (error) {
      this.#logger.warn({ err: error, dir }, 'cannot watch directory; relying on the periodic rescan');
    }
  }

  #unwatchDirectory(dir: string): void {
    this.#watchers.get(dir)?.close();
    this.#watchers.delete(dir);
  }

  #schedule(path: string): void {
    if (this.#stopped) return;
    clearTimeout(this.#timers.get(path));
    this.#timers.set(
      path,
      setTimeout(() => {
        this.#timers.delete(path);
        void this.#enqueue(() => this.#refresh(path));
      }, this.#settleMs),
    );
  }

  #scheduleRescan(): void {
    if (!this.#stopped) void this.#enqueue(() => this.#rescan());
  }

  #enqueue(work: () => Promise<void>): Promise<void> {
    this.#queue = this.#queue.then(work).catch((error: unknown) => {
      this.#logger.error({ err: error }, 'reading manifests failed');
    });
    return this.#queue;
  }

  /** Looks at one path again: a manifest file (new, changed or gone) or a directory (new, or gone with its files). */
  async #refresh(path: string): Promise<void> {
    const info = await stat(path).catch(() => undefined);
    if (info?.isDirectory() === true) {
      if (isHidden(this.#root, path)) return;
      const tree = await listTree(path);
      for (const dir of tree.directories) this.#watchDirectory(dir);
      for (const file of tree.manifests) await this.#reload(file);
      return;
    }
    if (info === undefined) {
      const within = (known: string): boolean => known === path || known.startsWith(path + sep);
      for (const known of [...this.#files.keys(), ...this.#brokenFiles.keys()]) {
        if (within(known)) this.#forget(known);
      }
      for (const dir of [...this.#watchers.keys()]) if (within(dir)) this.#unwatchDirectory(dir);
      return;
    }
    if (isManifest(this.#singleFile ? dirname(this.#root) : this.#root, path)) await this.#reload(path);
  }

  /** Reads every manifest under the root, watches every directory, and forgets the files that are gone. */
  async #rescan(): Promise<void> {
    const tree = this.#singleFile
      ? { directories: [], manifests: (await stat(this.#root).catch(() => undefined)) ? [this.#root] : [] }
      : await listTree(this.#root);
    for (const dir of tree.directories) this.#watchDirectory(dir);
    const present = tree.manifests;
    const keep = new Set(present);
    for (const known of [...this.#files.keys(), ...this.#brokenFiles.keys()]) {
      if (!keep.has(known)) this.#forget(known);
    }
    for (const file of present) await this.#reload(file);
  }

  async #reload(path: string): Promise<void> {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'EISDIR') {
        this.#forget(path);
        return;
      }
      throw error;
    }
    if (this.#files.get(path)?.text === text && !this.#brokenFiles.has(path)) return;
    const { objects, problems } = parseManifest(text);
    if (problems.length > 0) {
      this.#brokenFiles.set(path, problems.length);
      for (const problem of problems) {
        this.#logger.error(
          { file: path, document: problem.document, field: problem.path, problem: problem.message },
          'invalid manifest: keeping the last good state of this file',
        );
      }
      return;
    }
    this.#brokenFiles.delete(path);
    this.#apply(path, { text, objects });
    this.#lastSyncAt = Date.now();
    this.#logger.debug({ file: path, objects: objects.length }, 'manifest applied');
  }

  #forget(path: string): void {
    this.#brokenFiles.delete(path);
    if (!this.#files.has(path)) return;
    this.#apply(path, undefined);
    this.#logger.info({ file: path }, 'manifest removed');
  }

  /** Replaces everything `path` contributed and rebuilds only the Services that touched. */
  #apply(
    path: string,
    next: { readonly text: string; readonly objects: EndpointObject[] } | undefined,
  ): void {
    const touched = new Map<string, ServiceKey>();
    const note = (key: ServiceKey | undefined): void => {
      if (key !== undefined) touched.set(serviceKeyString(key), key);
    };
    for (const old of this.#files.get(path)?.objects ?? []) note(this.#assembler.remove(path, old));
    for (const object of next?.objects ?? []) note(this.#assembler.put(path, object));
    if (next === undefined) this.#files.delete(path);
    else this.#files.set(path, next);
    publishServices(
      { store: this.#store, source: this.name, policy: this.#policy, logger: this.#logger },
      this.#assembler,
      touched.values(),
    );
  }
}

interface Tree {
  /** `dir` itself and every directory below it. */
  readonly directories: string[];
  /** Every manifest file below `dir`, sorted. */
  readonly manifests: string[];
}

async function listTree(dir: string): Promise<Tree> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  const directories = [dir];
  const manifests: string[] = [];
  for (const entry of entries) {
    const path = join(entry.parentPath, entry.name);
    if (isHidden(dir, path)) continue;
    if (entry.isDirectory()) directories.push(path);
    else if (entry.isFile() && MANIFEST_FILE.test(entry.name)) manifests.push(path);
  }
  return { directories, manifests: manifests.sort() };
}

/** Hidden files and directories (editors' temp files, .git) below the root are never read. */
function isHidden(root: string, path: string): boolean {
  return path
    .slice(root.length)
    .split(sep)
    .some((part) => part.startsWith('.'));
}

function isManifest(root: string, path: string): boolean {
  return MANIFEST_FILE.test(path) && !isHidden(root, path);
}
