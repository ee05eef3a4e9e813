// Turns the bytes of one manifest file into what the file source applies: unchanged (same digest as the last
// read), parsed objects, or the problems that keep the file at its last good state. Pure and synchronous: the
// file source runs it inline for small files and in the parse worker (parse-worker.ts) for large ones.
import { hash } from 'node:crypto';
import type { EndpointObject } from '../service-assembler.ts';
import { parseManifest, type DocumentProblem, type ManifestFormat, type SkippedObject } from './manifest.ts';

export interface ParseRequest {
  readonly format: ManifestFormat;
  /** Digest of the content now served from this file: the same bytes again are `unchanged`. */
  readonly servedDigest?: string | undefined;
  /** Digest of content already refused: the same bytes again are `unchanged-broken`, not parsed nor logged again. */
  readonly refusedDigest?: string | undefined;
  /**
   * Per-object digests of the served objects. When given, the result carries a digest per object and leaves out
   * (null) the objects whose digest is among these: a large file's one edit then costs the caller one object.
   */
  readonly servedObjectDigests?: readonly string[] | undefined;
}

export type ParseResult =
  | { readonly kind: 'unchanged' }
  | { readonly kind: 'unchanged-broken' }
  | {
      readonly kind: 'parsed';
      readonly digest: string;
      /** null: the same as the served object with the same digest (only with servedObjectDigests). */
      readonly objects: ReadonlyArray<EndpointObject | null>;
      readonly objectDigests: readonly string[] | undefined;
      readonly skipped: readonly SkippedObject[];
    }
  | {
      readonly kind: 'broken';
      readonly digest: string;
      readonly problems: readonly DocumentProblem[];
      readonly skipped: readonly SkippedObject[];
    };

/** Objects of a large file sent ahead of its result (see parseFile's `onPartial`), in file order. */
export interface PartialObjects {
  readonly objects: ReadonlyArray<EndpointObject | null>;
  readonly objectDigests: readonly string[];
}

/**
 * With `request.servedObjectDigests` and `onPartial`, the objects of each chunk of a large file are handed to
 * `onPartial` as they are parsed and the result holds only the rest: concatenated in order they are the file's.
 * A broken result makes whatever was handed ahead void.
 */
export function parseFile(
  bytes: Uint8Array,
  request: ParseRequest,
  onPartial?: (part: PartialObjects) => void,
): ParseResult {
  const digest = hash('sha1', bytes, 'base64');
  if (digest === request.servedDigest) return { kind: 'unchanged' };
  if (digest === request.refusedDigest) return { kind: 'unchanged-broken' };
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
  const served = request.servedObjectDigests === undefined ? undefined : new Set(request.servedObjectDigests);
  const withDigests = (objects: readonly EndpointObject[]): PartialObjects => {
    const objectDigests = objects.map((o) => hash('sha1', JSON.stringify(o), 'base64'));
    return {
      objects: objects.map((o, i) => (served?.has(objectDigests[i] ?? '') === true ? null : o)),
      objectDigests,
    };
  };
  const flush =
    served === undefined || onPartial === undefined
      ? undefined
      : (objects: EndpointObject[]): void => onPartial(withDigests(objects));
  const { objects, problems, skipped } = parseManifest(stripByteOrderMark(text), request.format, flush);
  if (problems.length > 0) return { kind: 'broken', digest, problems, skipped };
  if (served === undefined) return { kind: 'parsed', digest, objects, objectDigests: undefined, skipped };
  return { kind: 'parsed', digest, ...withDigests(objects), skipped };
}

function stripByteOrderMark(text: string): string {
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}
