// Reads and parses the files one pass lists, without holding the event loop: a few small files are read here,
// yielding every few milliseconds; a large file always, and many files (a first load, a big kubelet swap) in
// batches, go to the parse workers. Each file's outcome says what to do with it: nothing (same content), its new
// state, gone, or its problems. Pieces (documents) whose text the served state already holds are not parsed again:
// their objects are the served ones, the same instances, so an edit to a large file costs what it changed.
import { closeSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import type { SourceProblem } from '../source.ts';
import { filed } from '../service-assembler.ts';
import type { SkippedObject } from './manifest.ts';
import type { ParseResult, PieceContent } from './parse-file.ts';
import { ParsePool, type MainThreadMay } from './parse-pool.ts';
import { readAndParse, type ReadTask, type WorkerRead } from './parse-worker.ts';
import { openManifest } from './read-file.ts';
import type { FileState, StoredPiece } from './served-files.ts';
import type { ListedFile } from './tree.ts';
import { yielder } from './yielder.ts';

/** Files from this size on are parsed in a worker thread: inline, they would stall the event loop. */
const WORKER_THRESHOLD_BYTES = 128 * 1024;
/** From this many files to read in one pass on, they are read and parsed by the workers. */
const BATCH_THRESHOLD = 200;
/** Files per message to a worker. */
const BATCH_SIZE = 100;
/**
 * A pass that hands the workers large files of this many bytes in all (a first load of a few big manifests) ends
 * them once done, as a pass of many small files does: their heaps hold what they parsed (~90 MB after 40 MB of
 * YAML). One edit of one large file stays below it, so that the next edit finds a worker ready.
 */
const BULK_BYTES = 16 * 2 ** 20;

export type LoadOutcome =
  | { readonly kind: 'same'; readonly stamp?: string; readonly trustStamp?: boolean }
  | { readonly kind: 'same-broken' }
  | { readonly kind: 'gone' }
  | { readonly kind: 'new'; readonly state: FileState; readonly skipped: readonly SkippedObject[] }
  | {
      readonly kind: 'broken';
      readonly problems: readonly SourceProblem[];
      readonly refusedDigest?: string;
    };

/** What the source knows of a path from earlier passes. */
export interface Known {
  readonly state: (path: string) => FileState | undefined;
  readonly refusedDigest: (path: string) => string | undefined;
}

interface Pending {
  readonly index: number;
  readonly file: ListedFile;
  readonly task: ReadTask;
}

export class FileLoader {
  readonly #maxFileBytes: number;
  /** Threads that read and parse what would hold the event loop too long. */
  readonly #parser = new ParsePool({ size: Math.min(2, availableParallelism()) });
  /** The last pass handed the workers batches or many megabytes (a first load, a big swap): their heaps hold a lot. */
  #bulk = false;

  constructor(maxFileBytes: number) {
    this.#maxFileBytes = maxFileBytes;
  }

  /**
   * The outcome of each of `files`, in order. Unless `mustRead`, a file whose stat data may vouch for it (quiet
   * since it was last read, same stamp) is `same` without being read. Batches are handed to the workers as soon as
   * they are full, so that they parse while the rest is looked at; in a pass that many files go to the workers, a
   * file never read before is not opened here at all (a worker opens it anyway).
   */
  async readAll(
    files: readonly ListedFile[],
    mustRead: boolean,
    known: Known,
    firstLoad = false,
  ): Promise<LoadOutcome[]> {
    const outcomes: Array<LoadOutcome | Promise<LoadOutcome>> = [];
    const small: Pending[] = [];
    let batched = false;
    const sendFullBatches = (): void => {
      while (small.length >= BATCH_SIZE) this.#sendBatch(small.splice(0, BATCH_SIZE), outcomes, known);
    };
    const yieldNow = yielder();
    let largeBytes = 0;
    for (const [index, file] of files.entries()) {
      const state = known.state(file.path);
      if (batched && state === undefined) {
        small.push({ index, file, task: this.#task(file, state, known) });
        sendFullBatches();
        continue;
      }
      const opened = openManifest(file.readPath, this.#maxFileBytes);
      if (opened.kind === 'gone') outcomes[index] = { kind: 'gone' };
      else if (opened.kind === 'unusable')
        outcomes[index] = broken(file.path, opened.message, opened.refusal);
      else {
        closeSync(opened.fd);
        if (!mustRead && state?.trustStamp === true && state.stamp === opened.stamp) {
          outcomes[index] = { kind: 'same' };
          continue;
        }
        const task = this.#task(file, state, known);
        if (opened.size >= WORKER_THRESHOLD_BYTES) {
          largeBytes += opened.size;
          // A first load's large YAML files are shared with the main thread too; an edit's never.
          const mainThreadMay = firstLoad && task.request.format === 'yaml' ? 'large-yaml' : undefined;
          outcomes[index] = this.#inWorkers([file], [task], known, mainThreadMay).then(
            ([outcome]) => outcome as LoadOutcome,
          );
        } else {
          small.push({ index, file, task });
          batched ||= small.length >= BATCH_THRESHOLD;
          if (batched) sendFullBatches();
        }
      }
      await yieldNow();
    }
    this.#bulk = batched || largeBytes >= BULK_BYTES;
    if (batched) {
      if (small.length > 0) this.#sendBatch(small, outcomes, known);
    } else {
      for (const { index, file, task } of small) {
        outcomes[index] = this.#readOutcome(file, readAndParse(task), known);
        await yieldNow();
      }
    }
    return Promise.all(outcomes.map(async (o) => o));
  }

  /**
   * After a bulk pass, ends the workers once their work is done: their heaps hold what they parsed, memory the server
   * does not need. After a pass over a few files they stay for a few seconds (the pool's idle timeout), so that the
   * next edit of a large file does not pay for starting a thread and loading its modules again.
   */
  release(): void {
    // Not awaited: the workers give their heaps back (a GC each) while the main thread applies what they read.
    if (this.#bulk) void this.#parser.release();
  }

  close(): Promise<void> {
    return this.#parser.close();
  }

  #task(file: ListedFile, state: FileState | undefined, known: Known): ReadTask {
    return {
      path: file.readPath,
      maxBytes: this.#maxFileBytes,
      request: {
        format: /\.json$/i.test(file.path) ? 'json' : 'yaml',
        servedDigest: state?.digest,
        refusedDigest: known.refusedDigest(file.path),
        servedPieces: state?.pieces.map((p) => [p.digest, p.documents] as const),
      },
    };
  }

  #sendBatch(
    batch: readonly Pending[],
    outcomes: Array<LoadOutcome | Promise<LoadOutcome>>,
    known: Known,
  ): void {
    const done = this.#inWorkers(
      batch.map((b) => b.file),
      batch.map((b) => b.task),
      known,
      'small-files',
    );
    batch.forEach((b, k) => (outcomes[b.index] = done.then((all) => all[k] as LoadOutcome)));
  }

  /** The files' outcomes, read and parsed by a worker; a worker that fails makes each file's problem say so. */
  async #inWorkers(
    files: readonly ListedFile[],
    tasks: readonly ReadTask[],
    known: Known,
    mainThreadMay?: MainThreadMay,
  ): Promise<LoadOutcome[]> {
    try {
      const reads = await this.#parser.run(tasks, { mainThreadMay });
      return files.map((file, i) => this.#readOutcome(file, reads[i] ?? { kind: 'gone' }, known));
    } catch (error) {
      return files.map((file) => broken(file.path, `cannot parse: ${(error as Error).message}`));
    }
  }

  #readOutcome(file: ListedFile, read: WorkerRead, known: Known): LoadOutcome {
    if (read.kind === 'gone') return read;
    if (read.kind === 'unusable') return broken(file.path, read.message, read.refusal);
    return outcome(file, known.state(file.path), read.result, read.stamp, read.trustStamp);
  }
}

function outcome(
  file: ListedFile,
  state: FileState | undefined,
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
      // A piece the worker left out is the served one with the same digest: looked for where it was first, so that
      // an edit of one document in thousands builds no index of them (one is built once a document has moved).
      const servedPieces = state?.pieces ?? [];
      let byDigest: Map<string, StoredPiece> | undefined;
      const servedAs = (digest: string, index: number): StoredPiece | undefined => {
        const there = servedPieces[index];
        if (there?.digest === digest) return there;
        byDigest ??= new Map(servedPieces.map((p) => [p.digest, p]));
        return byDigest.get(digest);
      };
      const pieces: StoredPiece[] = [];
      for (const [index, piece] of result.pieces.entries()) {
        const stored =
          piece.content === null
            ? servedAs(piece.digest, index)
            : // A file of one piece: its digest is the file's (one string for both).
              storedPiece(piece.digest === result.digest ? result.digest : piece.digest, piece.content);
        if (stored === undefined) return broken(file.path, 'internal: lost a served document');
        pieces.push(stored);
      }
      const skipped: SkippedObject[] = [];
      let before = 0;
      for (const piece of pieces) {
        for (const s of piece.skipped) skipped.push({ ...s, document: s.document + before });
        before += piece.documents;
      }
      return {
        kind: 'new',
        skipped,
        state: {
          digest: result.digest,
          pieces,
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

/** No objects skipped: one list for every piece (kept per piece, mostly empty). */
const NOTHING_SKIPPED: readonly SkippedObject[] = Object.freeze([]);

function storedPiece(digest: string, content: PieceContent): StoredPiece {
  const skipped = content.skipped.length === 0 ? NOTHING_SKIPPED : content.skipped;
  return {
    digest,
    objects: content.objects.map((object) => filed(object)),
    skipped,
    documents: content.documents,
  };
}

function broken(path: string, message: string, refusedDigest?: string): LoadOutcome {
  return {
    kind: 'broken',
    problems: [{ file: path, message }],
    ...(refusedDigest === undefined ? {} : { refusedDigest }),
  };
}
