// Serves Endpoints/EndpointSlice manifests from a file or a directory tree (*.yaml, *.yml, *.json), watched live.
// A file whose documents do not all parse is reported and ignored as a whole: the last good state of that file
// stays served, so a half-saved or mistyped edit never takes endpoints away.
import { readFile, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { watch, type FSWatcher } from 'chokidar';
import type { Logger } from 'pino';
import { serviceKeyString, type ServiceKey } from '../../model.ts';
import type { EndpointStore } from '../../store/endpoint-store.ts';
import { ServiceAssembler, type EndpointObject } from '../service-assembler.ts';
import type { Source, SourceStatus } from '../source.ts';
import { parseManifest } from './manifest.ts';

const MANIFEST_FILE = /\.(ya?ml|json)$/i;

export interface FileSourceOptions {
  readonly path: string;
  readonly store: EndpointStore;
  readonly logger: Logger;
  /** How long to wait for a burst of file events to settle before reading (editors write in several steps). */
  readonly settleMs?: number;
}

export class FileSource implements Source {
  readonly name: string;
  readonly #root: string;
  readonly #store: EndpointStore;
  readonly #logger: Logger;
  readonly #settleMs: number;
  readonly #assembler = new ServiceAssembler();
  /** The last good objects of each file. */
  readonly #files = new Map<string, EndpointObject[]>();
  readonly #timers = new Map<string, NodeJS.Timeout>();
  #watcher: FSWatcher | undefined;
  /** Reads run one at a time, in event order, so an older read can never overwrite a newer one. */
  #queue: Promise<void> = Promise.resolve();
  #synced = false;
  #lastSyncAt: number | undefined;
  #lastError: string | undefined;

  constructor(options: FileSourceOptions) {
    this.#root = resolve(options.path);
    this.name = `file:${this.#root}`;
    this.#store = options.store;
    this.#logger = options.logger.child({ source: this.name });
    this.#settleMs = options.settleMs ?? 30;
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
    // Until chokidar's first scan is done, collect paths; after it, every event is scheduled as it comes.
    const initial: string[] = [];
    let scanned = false;
    const onFile = (path: string): void => {
      if (scanned) this.#schedule(path);
      else initial.push(path);
    };
    const watcher = watch(this.#root, {
      ignoreInitial: false,
      // Directories must pass so that chokidar descends into them; of the files, only manifests.
      ignored: (path, stats) => stats?.isFile() === true && !MANIFEST_FILE.test(path),
    });
    this.#watcher = watcher;
    await new Promise<void>((ready, fail) => {
      watcher.on('add', onFile);
      watcher.on('change', onFile);
      watcher.on('unlink', onFile);
      watcher.on('error', (error: unknown) => {
        this.#lastError = String(error);
        this.#logger.error({ err: error }, 'watching manifests failed');
      });
      watcher.once('ready', () => {
        scanned = true;
        ready();
      });
      watcher.once('error', fail);
    });
    for (const path of new Set(initial)) await this.#enqueue(path);
    this.#synced = true;
    this.#lastSyncAt = Date.now();
    this.#logger.info(
      { files: this.#files.size, services: this.#assembler.services().length },
      'manifests loaded',
    );
  }

  async stop(): Promise<void> {
    for (const timer of this.#timers.values()) clearTimeout(timer);
    this.#timers.clear();
    await this.#watcher?.close();
    await this.#queue;
  }

  status(): SourceStatus {
    return { synced: this.#synced, lastSyncAt: this.#lastSyncAt, error: this.#lastError };
  }

  #schedule(path: string): void {
    clearTimeout(this.#timers.get(path));
    this.#timers.set(
      path,
      setTimeout(() => {
        this.#timers.delete(path);
        void this.#enqueue(path);
      }, this.#settleMs),
    );
  }

  #enqueue(path: string): Promise<void> {
    this.#queue = this.#queue
      .then(() => this.#reload(path))
      .catch((error: unknown) => {
        this.#logger.error({ err: error, file: path }, 'applying manifest failed');
      });
    return this.#queue;
  }

  async #reload(path: string): Promise<void> {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (error) {
      if (
        (error as NodeJS.ErrnoException).code === 'ENOENT' ||
        (error as NodeJS.ErrnoException).code === 'EISDIR'
      ) {
        this.#apply(path, []);
        this.#logger.info({ file: path }, 'manifest removed');
        return;
      }
      throw error;
    }
    const { objects, problems } = parseManifest(text);
    if (problems.length > 0) {
      this.#lastError = `${path}: ${problems.length} problem(s)`;
      for (const problem of problems) {
        this.#logger.error(
          { file: path, document: problem.document, field: problem.path, problem: problem.message },
          'invalid manifest: keeping the last good state of this file',
        );
      }
      return;
    }
    this.#lastError = undefined;
    this.#apply(path, objects);
    this.#lastSyncAt = Date.now();
    this.#logger.debug({ file: path, objects: objects.length }, 'manifest applied');
  }

  /** Replaces everything `path` contributed by `objects` and rebuilds only the Services that touched. */
  #apply(path: string, objects: EndpointObject[]): void {
    const touched = new Map<string, ServiceKey>();
    const note = (key: ServiceKey | undefined): void => {
      if (key !== undefined) touched.set(serviceKeyString(key), key);
    };
    for (const old of this.#files.get(path) ?? []) note(this.#assembler.remove(path, old));
    for (const object of objects) note(this.#assembler.put(path, object));
    if (objects.length > 0) this.#files.set(path, objects);
    else this.#files.delete(path);
    for (const key of touched.values()) {
      const { service, warnings } = this.#assembler.assemble(key);
      for (const warning of warnings) this.#logger.warn({ service: serviceKeyString(key) }, warning);
      if (service === undefined) this.#store.delete(this.name, key);
      else this.#store.upsert(this.name, service);
    }
  }
}
