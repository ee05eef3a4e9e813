// Turns the bytes of one manifest file into what the file source applies: unchanged (same digest as the last
// read), its pieces (documents, see documents.ts) each with a digest and, unless the caller holds that piece
// already, its objects, or the problems that keep the file at its last good state. Pure and synchronous: the file
// source runs it inline for small files and in the parse workers (parse-worker.ts) for the others.
import { hash } from 'node:crypto';
import type { EndpointObject } from '../service-assembler.ts';
import { documentPieces, splitDocuments, type TextPiece } from './documents.ts';
import type { JsonBytes } from './json-bytes.ts';
import { writePlainDocument } from './plain-yaml.ts';
import {
  parseJsonManifest,
  parsePiece,
  type DocumentProblem,
  type ManifestFormat,
  type SkippedObject,
} from './manifest.ts';

/** Parsed pieces are handed ahead (see parseFile's `onPartial`) every this many bytes of text. */
const PARTIAL_BYTES = 256 * 1024;

/** A piece the caller holds: its digest and how many documents it spans (to number the documents after it). */
export type ServedPiece = readonly [digest: string, documents: number];

export interface ParseRequest {
  readonly format: ManifestFormat;
  /** Digest of the content now served from this file: the same bytes again are `unchanged`. */
  readonly servedDigest?: string | undefined;
  /** Digest of content already refused: the same bytes again are `unchanged-broken`, not parsed nor logged again. */
  readonly refusedDigest?: string | undefined;
  /** The pieces now served from this file: a piece with one of these digests is not parsed again. */
  readonly servedPieces?: readonly ServedPiece[] | undefined;
}

/** What a piece holds. Skipped objects are numbered from the piece's first document (1), not the file's. */
export interface PieceContent {
  readonly objects: readonly EndpointObject[];
  readonly skipped: readonly SkippedObject[];
  readonly documents: number;
}

export interface ParsedPiece {
  readonly digest: string;
  /** null: the same as the served piece with this digest. */
  readonly content: PieceContent | null;
}

/**
 * A piece of one plain document that a parse worker wrote as JSON rather than parsed (see parseFile's `values`):
 * `raw` is the position of its value among the values written; the thread that parses them is the one that makes
 * its objects (rawContent).
 */
export interface RawPiece {
  readonly digest: string;
  readonly raw: number;
  /** Its document's number in the file (1-based), for its problems. */
  readonly document: number;
}

export type ParseResult<Piece = ParsedPiece> =
  | { readonly kind: 'unchanged' }
  | { readonly kind: 'unchanged-broken' }
  | { readonly kind: 'parsed'; readonly digest: string; readonly pieces: readonly Piece[] }
  | { readonly kind: 'broken'; readonly digest: string; readonly problems: readonly DocumentProblem[] };

/**
 * With `onPartial`, the pieces of a large file are handed to it as they are parsed (every PARTIAL_BYTES of text)
 * and the result holds only the rest: concatenated in order they are the file's. This bounds the heap of a worker
 * sending them elsewhere. A broken result makes whatever was handed ahead void.
 */
export function parseFile(
  bytes: Uint8Array,
  request: ParseRequest,
  onPartial?: (pieces: readonly ParsedPiece[]) => void,
): ParseResult;
/**
 * With `values`, a parse worker's: a piece of one plain document (nearly all of a large set) is not parsed but
 * written as JSON into `values`, after a `,` if something is written there already, and given as a RawPiece; the
 * others (js-yaml's) are parsed and checked here. `values` holds this file's values only: empty when called, and
 * emptied by `onPartial` (given the pieces whose values it holds so far). Problems of the raw pieces are found where
 * their values are parsed (rawContent); when another piece is refused, the file is parsed whole here instead, so
 * that the result names every problem of the file, as without `values`.
 */
export function parseFile(
  bytes: Uint8Array,
  request: ParseRequest,
  onPartial: ((pieces: readonly (ParsedPiece | RawPiece)[]) => void) | undefined,
  values: JsonBytes,
): ParseResult<ParsedPiece | RawPiece>;
export function parseFile(
  bytes: Uint8Array,
  request: ParseRequest,
  onPartial?:
    ((pieces: readonly ParsedPiece[]) => void) | ((pieces: readonly (ParsedPiece | RawPiece)[]) => void),
  values?: JsonBytes,
): ParseResult<ParsedPiece | RawPiece> {
  const digest = hash('sha1', bytes, 'base64');
  if (digest === request.servedDigest) return { kind: 'unchanged' };
  if (digest === request.refusedDigest) return { kind: 'unchanged-broken' };
  const text = stripByteOrderMark(
    Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'),
  );
  const json = request.format === 'json' ? parseJsonManifest(text) : undefined;
  if (json !== undefined) {
    if (json.problems.length > 0) return { kind: 'broken', digest, problems: json.problems };
    const content = { objects: json.objects, skipped: json.skipped, documents: 1 };
    return { kind: 'parsed', digest, pieces: [{ digest, content }] };
  }
  const served = new Map(request.servedPieces ?? []);
  const problems: DocumentProblem[] = [];
  let pieces: Array<ParsedPiece | RawPiece> = [];
  let pendingBytes = 0;
  let before = 0;
  let written = 0;
  for (const piece of splitDocuments(text)) {
    const pieceDigest = hash('sha1', piece.text, 'base64');
    const raw =
      values === undefined || problems.length > 0
        ? undefined
        : rawPiece(piece, pieceDigest, served, values, written, before + 1);
    if (raw === undefined) {
      const parsed = parsedPiece(piece, pieceDigest, before, served);
      before += parsed.documents;
      problems.push(...parsed.problems);
      if (problems.length > 0) continue; // the rest is parsed only for its problems
      pieces.push(parsed.piece);
    } else {
      before += 1;
      pieces.push(raw);
      written += 1;
    }
    pendingBytes += piece.text.length;
    if (onPartial !== undefined && pendingBytes >= PARTIAL_BYTES && text.length > PARTIAL_BYTES) {
      // Without `values`, every piece is a ParsedPiece.
      (onPartial as (pieces: readonly (ParsedPiece | RawPiece)[]) => void)(pieces);
      pieces = [];
      pendingBytes = 0;
      written = 0;
    }
  }
  if (problems.length > 0) {
    if (values === undefined) {
      // A .json file JSON.parse refused was read as YAML (JSON is YAML) for js-yaml's line and column.
      const named = request.format === 'json' ? problems.map(asJsonProblem) : problems;
      return { kind: 'broken', digest, problems: named };
    }
    // Pieces were written rather than checked: the whole file again, without, for all its problems.
    values.length = 0;
    return parseFile(bytes, { ...request, servedDigest: undefined, refusedDigest: undefined });
  }
  return { kind: 'parsed', digest, pieces };
}

/**
 * `parseFile` for the main thread, on a YAML file of many documents: the same result, parsed a piece at a time with
 * `pause` awaited between pieces (it yields to the event loop every few milliseconds). Only reading, hashing and
 * cutting the text are done in one go (a few tens of milliseconds for 10 MB).
 */
export async function parseFileInSlices(
  bytes: Uint8Array,
  request: ParseRequest,
  pause: () => Promise<void>,
): Promise<ParseResult> {
  const digest = hash('sha1', bytes, 'base64');
  if (digest === request.servedDigest) return { kind: 'unchanged' };
  if (digest === request.refusedDigest) return { kind: 'unchanged-broken' };
  await pause();
  const text = stripByteOrderMark(
    Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'),
  );
  await pause();
  const served = new Map(request.servedPieces ?? []);
  const problems: DocumentProblem[] = [];
  const pieces: ParsedPiece[] = [];
  let before = 0;
  for (const piece of documentPieces(text)) {
    const parsed = parsedPiece(piece, hash('sha1', piece.text, 'base64'), before, served);
    before += parsed.documents;
    problems.push(...parsed.problems);
    if (problems.length === 0) pieces.push(parsed.piece);
    await pause();
  }
  if (problems.length > 0) return { kind: 'broken', digest, problems };
  return { kind: 'parsed', digest, pieces };
}

/**
 * The piece as a RawPiece when it is one plain document not served already, its value written into `values` (the
 * `written`th there); undefined for a piece to be parsed here (or found served) by parsedPiece.
 */
function rawPiece(
  piece: TextPiece,
  digest: string,
  served: ReadonlyMap<string, number>,
  values: JsonBytes,
  written: number,
  document: number,
): RawPiece | undefined {
  if (served.has(digest)) return undefined;
  const mark = values.length;
  if (written > 0) values.raw(',');
  if (writePlainDocument(piece.text, values)) return { digest, raw: written, document };
  values.length = mark;
  return undefined;
}

function parsedPiece(
  piece: TextPiece,
  digest: string,
  before: number,
  served: ReadonlyMap<string, number>,
): {
  readonly piece: ParsedPiece;
  readonly documents: number;
  readonly problems: readonly DocumentProblem[];
} {
  const known = served.get(digest);
  if (known !== undefined) return { piece: { digest, content: null }, documents: known, problems: [] };
  const parsed = parsePiece(piece, before);
  const skipped = parsed.skipped.map((s) => ({ ...s, document: s.document - before }));
  return {
    piece: { digest, content: { objects: parsed.objects, skipped, documents: parsed.documents } },
    documents: parsed.documents,
    problems: parsed.problems,
  };
}

/** A syntax problem of a `.json` file, named as JSON's (the position is js-yaml's, which read it). */
function asJsonProblem(problem: DocumentProblem): DocumentProblem {
  return problem.message.startsWith('invalid YAML')
    ? { ...problem, message: `invalid JSON${problem.message.slice('invalid YAML'.length)}` }
    : problem;
}

function stripByteOrderMark(text: string): string {
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}
