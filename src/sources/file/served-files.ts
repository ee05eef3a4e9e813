// What the file source serves now: the last good state of each manifest file, and the Services assembled from
// all of them. A pass's changes are applied as one diff: objects that stay the same (the very same instances, kept
// from the pieces of a file that did not change) are not touched, and each Service whose objects changed is
// rebuilt once, from all its objects after the change.
import type { Logger } from 'pino';
import { serviceKeyString, type ServiceKey } from '../../model.ts';
import type { ExposurePolicy } from '../../policy/exposure.ts';
import type { StoreWriter } from '../../store/faces.ts';
import { publishServices, type PublishSummary } from '../publish.ts';
import { objectId, ServiceAssembler, type FiledObject } from '../service-assembler.ts';
import type { PieceContent } from './parse-file.ts';
import { logRepeated } from './change-log.ts';

/** Services rebuilt between two yields to the event loop while a large change is applied. */
const PUBLISH_CHUNK = 250;

/**
 * A piece (a YAML document) of a file as served, by the digest of its text; its objects filed (FiledObject: a
 * slice's endpoints converted once, the very objects the store serves, not kept beside their parsed copy).
 */
export interface StoredPiece extends Omit<PieceContent, 'objects'> {
  readonly digest: string;
  readonly objects: readonly FiledObject[];
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
  /**
   * Served paths that have defined an object in two of their documents: the file holds one copy of it (the last
   * document's), so an edit of such a file puts the last definition of each object it touched again.
   */
  readonly #repeating = new Set<string>();

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

  /** Each served path with its state (a live view: not to be held across changes). */
  entries(): MapIterator<[string, FileState]> {
    return this.#files.entries();
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

  /**
   * The same content found again: only where it is (after a kubelet swap, the new snapshot; after a link changed,
   * its new target) and its stat data (when it was read again) are new.
   */
  restamp(
    path: string,
    where: { readonly readPath: string; readonly realPath: string },
    stamp?: { readonly stamp: string; readonly trustStamp: boolean },
  ): void {
    const known = this.#files.get(path);
    if (known === undefined) return;
    if (known.readPath === where.readPath && known.realPath === where.realPath && stamp === undefined) return;
    this.#files.set(path, { ...known, readPath: where.readPath, realPath: where.realPath, ...stamp });
    if (known.realPath !== where.realPath) {
      if (this.#byRealPath.get(known.realPath) === path) this.#byRealPath.delete(known.realPath);
      this.#byRealPath.set(where.realPath, path);
    }
  }

  /** Applies every file's new state (undefined: gone) as one diff, and publishes the Services it touched. */
  async apply(changes: ReadonlyMap<string, FileState | undefined>): Promise<PublishSummary> {
    const touched = new Map<string, ServiceKey>();
    const note = (key: ServiceKey | undefined): void => {
      if (key !== undefined) touched.set(serviceKeyString(key), key);
    };
    for (const [path, next] of changes) {
      const before = this.#files.get(path);
      const repeated = new Set<string>();
      const { dropped, taken } = changedPieces(before?.pieces ?? [], next?.pieces ?? []);
      for (const piece of dropped) for (const old of piece.objects) note(this.#assembler.remove(path, old));
      for (const piece of taken) {
        for (const object of piece.objects) {
          // Still held after the removals: another document of the file defines it too.
          if (this.#assembler.holds(path, object)) {
            this.#repeating.add(path);
            repeated.add(objectId(object));
          }
          note(this.#assembler.put(path, object));
        }
      }
      if (repeated.size > 0) logRepeated(this.#target.logger, path, [...repeated].sort());
      if (next === undefined) this.#repeating.delete(path);
      else if (this.#repeating.has(path) && dropped.length + taken.length > 0) {
        // Removing one document's copy removed the file's copy, and a new document's replaced a later one's: the
        // last definition in the file is served, as when it is loaded afresh.
        const ids = new Set([...dropped, ...taken].flatMap((p) => p.objects.map((o) => objectId(o))));
        for (const piece of next.pieces) {
          for (const object of piece.objects)
            if (ids.has(objectId(object))) note(this.#assembler.put(path, object));
        }
      }
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

/** Up to this many changed pieces are looked for in the unchanged runs one by one; more, through a set. */
const FEW_PIECES = 16;

/**
 * The pieces `before` has and `next` has not (their objects are removed), and those `next` brings (put). Pieces
 * are compared, not objects: a document that did not change is the very same piece in both (load-files.ts). The
 * run both lists begin with and the run both end with are skipped unlooked-at, so that an edit of one document of
 * thousands costs that document, not a set of thousands. Presence, not position, decides: a piece moved, or one
 * of a document that a file holds twice, is neither dropped nor brought while either list still holds it.
 */
export function changedPieces(
  before: readonly StoredPiece[],
  next: readonly StoredPiece[],
): { readonly dropped: readonly StoredPiece[]; readonly taken: readonly StoredPiece[] } {
  let start = 0;
  const shorter = Math.min(before.length, next.length);
  while (start < shorter && before[start] === next[start]) start += 1;
  let beforeEnd = before.length;
  let nextEnd = next.length;
  while (beforeEnd > start && nextEnd > start && before[beforeEnd - 1] === next[nextEnd - 1]) {
    beforeEnd -= 1;
    nextEnd -= 1;
  }
  if (beforeEnd === start && nextEnd === start) return { dropped: [], taken: [] };
  const beforeMiddle = before.slice(start, beforeEnd);
  const nextMiddle = next.slice(start, nextEnd);
  // The unchanged runs are the same in both lists: a piece found there is in both, whichever it came from.
  const unchanged = [...next.slice(0, start), ...next.slice(nextEnd)];
  return {
    dropped: absentFrom(beforeMiddle, nextMiddle, unchanged),
    taken: absentFrom(nextMiddle, beforeMiddle, unchanged),
  };
}

/** The pieces of `pieces` found neither in `other` nor in `unchanged`. */
function absentFrom(
  pieces: readonly StoredPiece[],
  other: readonly StoredPiece[],
  unchanged: readonly StoredPiece[],
): StoredPiece[] {
  const inOther = new Set(other);
  const candidates = pieces.filter((p) => !inOther.has(p));
  if (candidates.length === 0) return candidates;
  if (candidates.length <= FEW_PIECES) return candidates.filter((p) => !unchanged.includes(p));
  const inUnchanged = new Set(unchanged);
  return candidates.filter((p) => !inUnchanged.has(p));
}
