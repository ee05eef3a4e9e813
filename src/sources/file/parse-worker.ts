// The parse worker's thread: reads and parses the manifests the file source hands it (by path, in batches), so
// that neither reading nor parsing megabytes of YAML holds up the event loop that answers lookups.
import { parentPort } from 'node:worker_threads';
import { compactHeap } from '../../observability/heap-compaction.ts';
import { JsonBytes } from './json-bytes.ts';
import {
  parseFile,
  parseFileInSlices,
  type ParsedPiece,
  type ParseRequest,
  type ParseResult,
  type RawPiece,
} from './parse-file.ts';
import { openManifest, readOpened, SCRATCH_BYTES, type OpenedManifest } from './read-file.ts';

export interface ReadTask {
  readonly path: string;
  readonly maxBytes: number;
  readonly request: ParseRequest;
}

/** A batch to read and parse. */
export interface ParseBatch {
  readonly id: number;
  readonly tasks: readonly ReadTask[];
}

/** A batch, or the word to end: the worker gives its heap back (see endWorker) and exits by itself. */
export type ToParseWorker = ParseBatch | { readonly end: true };

/** What became of one file: gone, unusable (why), or read and parsed. */
export type WorkerRead<Piece = ParsedPiece> =
  | { readonly kind: 'gone' }
  | { readonly kind: 'unusable'; readonly message: string; readonly refusal?: string }
  | {
      readonly kind: 'parsed';
      readonly stamp: string;
      readonly trustStamp: boolean;
      readonly result: ParseResult<Piece>;
    };

/** A read as a worker sends it: its plain documents as RawPieces, their values beside it (rebuilt.ts). */
export type SentRead = WorkerRead<ParsedPiece | RawPiece>;

/**
 * A worker's answers, each sent as its JSON text (every value in them is plain JSON data). `values` are the values
 * of the RawPieces: of each read, in order (`values[i]` for `reads[i]`), or of the partial.
 */
export type FromParseWorker =
  | {
      readonly id: number;
      readonly reads: readonly SentRead[];
      readonly values: readonly (readonly unknown[])[];
    }
  /** Pieces of task `index` ahead of its read (a large file, sent a part at a time to bound both heaps). */
  | {
      readonly id: number;
      readonly index: number;
      readonly partial: readonly (ParsedPiece | RawPiece)[];
      readonly values: readonly unknown[];
    }
  | { readonly id: number; readonly error: string };

/** Opens, reads and parses one file: the same steps inline (small files) and in the worker. */
export function readAndParse(
  task: ReadTask,
  onPartial?: (pieces: readonly ParsedPiece[]) => void,
): WorkerRead {
  return readTask(task, (bytes) => parseFile(bytes, task.request, onPartial));
}

/** readAndParse in a worker: its plain documents written into `values` as JSON (parse-file.ts RawPiece). */
function readAndWrite(
  task: ReadTask,
  onPartial: (pieces: readonly (ParsedPiece | RawPiece)[]) => void,
  values: JsonBytes,
): SentRead {
  return readTask(task, (bytes) => parseFile(bytes, task.request, onPartial, values));
}

function readTask<Piece>(task: ReadTask, parse: (bytes: Buffer) => ParseResult<Piece>): WorkerRead<Piece> {
  const opened = openManifest(task.path, task.maxBytes);
  if (opened.kind !== 'open') return opened;
  const bytes = readOpened(opened, task.maxBytes);
  if (!Buffer.isBuffer(bytes)) return { kind: 'unusable', message: bytes.message };
  return parsed(opened, parse(bytes));
}

function parsed<Piece>(
  opened: Extract<OpenedManifest, { kind: 'open' }>,
  result: ParseResult<Piece>,
): WorkerRead<Piece> {
  return { kind: 'parsed', stamp: opened.stamp, trustStamp: opened.trustStamp, result };
}

/**
 * `readAndParse` on the main thread for a large YAML file (see parseFileInSlices): the pieces parsed a slice at a
 * time, `pause` awaited between them.
 */
export async function readAndParseInSlices(task: ReadTask, pause: () => Promise<void>): Promise<WorkerRead> {
  const opened = openManifest(task.path, task.maxBytes);
  if (opened.kind !== 'open') return opened;
  const bytes = readOpened(opened, task.maxBytes);
  if (!Buffer.isBuffer(bytes)) return { kind: 'unusable', message: bytes.message };
  await pause();
  // A small file's bytes are in the thread's scratch buffer, which another read may reuse while this one pauses.
  const own = opened.size < SCRATCH_BYTES ? Buffer.from(bytes) : bytes;
  return parsed(opened, await parseFileInSlices(own, task.request, pause));
}

// Answers go as JSON text, not as objects: the main thread's JSON.parse of it costs about half of what decoding the
// structured clone of the same objects does (measured: 16 vs 27–40 ms per 1,000 Services), and the main thread
// is the one that must stay free. Each file's read is turned into text as soon as it is parsed, so that its objects
// die young instead of being held (and moved to the old generation) until the whole batch is done; its plain
// documents are never objects here at all, only JSON written from their text (plain-yaml.ts).

/** Where a file's plain documents are written, one file (or partial) at a time; its buffer let go after a large one. */
const values = new JsonBytes();
const KEEP_VALUES_BYTES = 4 * 2 ** 20;

/** The values written so far as the text of a JSON array, and `values` emptied (the same object: parseFile holds it). */
function takeValues(): string {
  const text = `[${values.text()}]`;
  values.clear(KEEP_VALUES_BYTES);
  return text;
}

/**
 * Ends this worker with its heap given back first. The pages of an isolate that ends go to V8's page pool, shared by
 * the process, which frees them 8 s later: until then they stay resident (~45 MB per worker after a first load).
 * A last-resort GC shrinks the heap to what is live (~6 MB of modules) and frees the pages it empties at once.
 */
function endWorker(): void {
  try {
    compactHeap();
  } catch {
    // No gc to be had (another runtime, or heap-compaction.ts's tries all lost a race): the pages are then freed
    // by V8 ~8 s after the thread ends, and the worker ends all the same instead of dying of an uncaught error.
  } finally {
    parentPort?.close();
  }
}

parentPort?.on('message', (message: ToParseWorker) => {
  if ('end' in message) {
    endWorker();
    return;
  }
  const { id } = message;
  let text: string;
  try {
    const reads: string[] = [];
    const written: string[] = [];
    for (const [index, task] of message.tasks.entries()) {
      values.length = 0;
      const read = readAndWrite(
        task,
        (partial) =>
          parentPort?.postMessage(
            `{"id":${id},"index":${index},"partial":${JSON.stringify(partial)},"values":${takeValues()}}`,
          ),
        values,
      );
      reads.push(JSON.stringify(read));
      written.push(takeValues());
    }
    text = `{"id":${id},"reads":[${reads.join(',')}],"values":[${written.join(',')}]}`;
  } catch (error) {
    text = JSON.stringify({ id, error: error instanceof Error ? error.message : String(error) });
  }
  parentPort?.postMessage(text);
});
