// Turns the bytes of one manifest file into what the file source applies: unchanged (same digest as the last
// read), its pieces (documents, see documents.ts) each with a digest and, unless the caller holds that piece
// already, its objects, or the problems that keep the file at its last good state. Pure and synchronous: the file
// source runs it inline for small files and in the parse workers (parse-worker.ts) for the others.
import { hash } from 'node:crypto';
import type { EndpointObject } from '../service-assembler.ts';
import { documentPieces, splitDocuments, type TextPiece } from './documents.ts';
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

export type ParseResult =
  | { readonly kind: 'unchanged' }
  | { readonly kind: 'unchanged-broken' }
  | { readonly kind: 'parsed'; readonly digest: string; readonly pieces: readonly ParsedPiece[] }
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
): ParseResult {
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
  let pieces: ParsedPiece[] = [];
  let pendingBytes = 0;
  let before = 0;
  for (const piece of splitDocuments(text)) {
    const parsed = parsedPiece(piece, before, served);
    before += parsed.documents;
    problems.push(...parsed.problems);
    if (problems.length > 0) continue; // the rest is parsed only for its problems
    pieces.push(parsed.piece);
    pendingBytes += piece.text.length;
    if (onPartial !== undefined && pendingBytes >= PARTIAL_BYTES && text.length > PARTIAL_BYTES) {
      onPartial(pieces);
      pieces = [];
      pendingBytes = 0;
    }
  }
  if (problems.length > 0) return { kind: 'broken', digest, problems };
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
    const parsed = parsedPiece(piece, before, served);
    before += parsed.documents;
    problems.push(...parsed.problems);
    if (problems.length === 0) pieces.push(parsed.piece);
    await pause();
  }
  if (problems.length > 0) return { kind: 'broken', digest, problems };
  return { kind: 'parsed', digest, pieces };
}

function parsedPiece(
  piece: TextPiece,
  before: number,
  served: ReadonlyMap<string, number>,
): {
  readonly piece: ParsedPiece;
  readonly documents: number;
  readonly problems: readonly DocumentProblem[];
} {
  const digest = hash('sha1', piece.text, 'base64');
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

function stripByteOrderMark(text: string): string {
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}
