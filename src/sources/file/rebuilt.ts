// What a parse worker sent, made into what the file source keeps, on the main thread. The values of the plain
// documents it wrote as JSON (parse-file.ts RawPiece) are checked and converted here, by the validator and its fast
// path (src/kube/fast-accept.ts), as the Kubernetes source converts a list page: JSON.parse builds them several
// times faster than a reader in JavaScript could, and the fast path keeps what the Kubernetes source keeps (one
// conditions object per combination, one copy of each repeated string). The objects of the other documents, which
// the worker checked itself, are rebuilt by the same fast path: JSON.parse gives every endpoint its own conditions
// object and its own copy of each repeated string. Done as each answer arrives, while the parsed copy is still
// young: it dies in the young generation instead of being kept (and moved, GC after GC) with the served state.
import { acceptEndpointSlice, acceptService } from '../../kube/fast-accept.ts';
import type { EndpointObject } from '../service-assembler.ts';
import { parseDocumentValue, type DocumentProblem } from './manifest.ts';
import type { ParsedPiece, RawPiece } from './parse-file.ts';
import type { SentRead, WorkerRead } from './parse-worker.ts';

/** Pieces made so far of one file, and the problems found in them (any makes the file refused). */
export interface Rebuilt {
  readonly pieces: ParsedPiece[];
  readonly problems: DocumentProblem[];
}

/** `sent`'s pieces made into `into`; `values` are the values of its RawPieces, in order. */
export function rebuildPieces(
  sent: readonly (ParsedPiece | RawPiece)[],
  values: readonly unknown[],
  into: Rebuilt = { pieces: [], problems: [] },
): Rebuilt {
  for (const piece of sent) {
    if ('raw' in piece) {
      const parsed = parseDocumentValue(values[piece.raw], piece.document);
      if (parsed.problems.length > 0) into.problems.push(...parsed.problems);
      else {
        const content = { objects: parsed.objects, skipped: parsed.skipped, documents: 1 };
        into.pieces.push({ digest: piece.digest, content });
      }
    } else if (piece.content === null) into.pieces.push(piece);
    else {
      const content = { ...piece.content, objects: piece.content.objects.map(rebuilt) };
      into.pieces.push({ digest: piece.digest, content });
    }
  }
  return into;
}

/** `read` made into what the file source keeps; `ahead`: what was made of the pieces its worker sent before it. */
export function rebuiltRead(read: SentRead, values: readonly unknown[], ahead?: Rebuilt): WorkerRead {
  if (read.kind !== 'parsed' || read.result.kind !== 'parsed') {
    // A refused file: whatever was sent ahead of it is void.
    return read as WorkerRead;
  }
  const made = rebuildPieces(read.result.pieces, values, ahead);
  const result =
    made.problems.length > 0
      ? { kind: 'broken' as const, digest: read.result.digest, problems: made.problems }
      : { kind: 'parsed' as const, digest: read.result.digest, pieces: made.pieces };
  return { ...read, result };
}

function rebuilt(entry: EndpointObject): EndpointObject {
  if (entry.kind === 'EndpointSlice') {
    const object = acceptEndpointSlice(entry.object);
    return object === undefined ? entry : { kind: entry.kind, object };
  }
  if (entry.kind === 'Service') {
    const object = acceptService(entry.object);
    return object === undefined ? entry : { kind: entry.kind, object };
  }
  return entry;
}
