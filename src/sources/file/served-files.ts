// What the file source serves now: the last good state of each manifest file, and the Services assembled from
// all of them. A pass's changes are applied as one diff: objects that stay the same (the very same instances, kept
// from the pieces of a file that did not change) are not touched, and each Service whose objects changed is
// rebuilt once, from all its objects after the change.
import type { Logger } from 'pino';
import { serviceKeyString, type ServiceKey } from '../../model.ts';
import type { ExposurePolicy } from '../../policy/exposure.ts';
import type { StoreWriter } from '../../store/faces.ts';
import { publishServices, type PublishSummary } from '../publish.ts';
import { ServiceAssembler, type EndpointObject } from '../service-assembler.ts';
import type { PieceContent } from './parse-file.ts';

/** Services rebuilt between two yields to the event loop while a large change is applied. */
const PUBLISH_CHUNK = 250;

/** A piece (a YAML document) of a file as served, by the digest of its text. */
export interface StoredPiece extends PieceContent {
  readonly digest: string;
}

/** What one file serves now. */
export interface FileState {
  readonly digest: string;
  readonly pieces: readonly StoredPiece[];
  readonly realPath: string;
  /** Where it is read from now (inside kubelet's snapshot, for that layout). */
  readonly readPath: string;
  readonly linked: boolean;
  /** inode, size, mtime, ctime at the last read, and whether they may stand in for the content. */
  readonly stamp: string;
  readonly trustStamp: boolean;
}

export interface PublishTo {
  readonly store: StoreWriter;
  readonly source: string;
  readonly policy: ExposurePolicy;
  readonly logger: Logger;
}

export class ServedFiles {
  readonly #target: PublishTo;
  readonly #assembler = new ServiceAssembler();
  /** By the path each file is served under. */
  readonly #files = new Map<string, FileState>();
  /** Which served path each real file is counted under (a file reached through two names counts once). */
  readonly #byRealPath = new Map<string, string>();

  constructor(target: PublishTo) {
    this.#target = target;
  }

  get(path: string): FileState | undefined {
    return this.#files.get(path);
  }

  has(path: string): boolean {
    return this.#files.has(path);
  }

  paths(): string[] {
    return [...this.#files.keys()];
  }

  get size(): number {
    return this.#files.size;
  }

  /** How many Services the served files define. */
  serviceCount(): number {
    return this.#assembler.services().length;
  }

  /** The served path the real file `realPath` is counted under, if any. */
  pathOf(realPath: string): string | undefined {
    return this.#byRealPath.get(realPath);
  }

  /** The same content read again: only where it was read from and its stat data are new. */
  restamp(path: string, readPath: string, stamp: string, trustStamp: boolean): void {
    const known = this.#files.get(path);
    if (known !== undefined) this.#files.set(path, { ...known, readPath, stamp, trustStamp });
  }

  /** Applies every file's new state (undefined: gone) as one diff, and publishes the Services it touched. */
  async apply(changes: ReadonlyMap<string, FileState | undefined>): Promise<PublishSummary> {
    const touched = new Map<string, ServiceKey>();
    const note = (key: ServiceKey | undefined): void => {
      if (key !== undefined) touched.set(serviceKeyString(key), key);
    };
    for (const [path, next] of changes) {
      const before = this.#files.get(path);
      const nextObjects = objectsOf(next);
      const beforeObjects = objectsOf(before);
      const kept = new Set<EndpointObject>(nextObjects);
      for (const old of beforeObjects) if (!kept.has(old)) note(this.#assembler.remove(path, old));
      const had = new Set<EndpointObject>(beforeObjects);
      for (const object of nextObjects) if (!had.has(object)) note(this.#assembler.put(path, object));
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
      const part = publishServices(this.#target, this.#assembler, keys.slice(i, i + PUBLISH_CHUNK));
      summary.added.push(...part.added);
      summary.changed.push(...part.changed);
      summary.removed.push(...part.removed);
    }
    return summary;
  }
}

/** The objects of every piece of a file, in file order (computed when needed: a list per file is not kept). */
function objectsOf(state: FileState | undefined): readonly EndpointObject[] {
  if (state === undefined) return [];
  const [only] = state.pieces;
  return state.pieces.length === 1 && only !== undefined
    ? only.objects
    : state.pieces.flatMap((p) => p.objects);
}
