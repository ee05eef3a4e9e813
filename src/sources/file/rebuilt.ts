// The objects a parse worker sent, rebuilt on the main thread as its validator builds them (src/kube/fast-accept.ts):
// JSON.parse gives every endpoint its own conditions object and its own copy of each repeated string (zone, node,
// the pod reference's kind and namespace), which the validator shares. Done as each answer arrives, while the parsed
// copy is still young: it dies in the young generation instead of being kept (and moved, GC after GC) with the
// served state, which would then hold more than the same objects from the Kubernetes source.
import { acceptEndpointSlice, acceptService } from '../../kube/fast-accept.ts';
import type { EndpointObject } from '../service-assembler.ts';
import type { ParsedPiece } from './parse-file.ts';
import type { WorkerRead } from './parse-worker.ts';

/** `read` with its objects rebuilt (the same values; compact); what the fast path is unsure of is kept as sent. */
export function rebuiltRead(read: WorkerRead): WorkerRead {
  if (read.kind !== 'parsed' || read.result.kind !== 'parsed') return read;
  return { ...read, result: { ...read.result, pieces: rebuiltPieces(read.result.pieces) } };
}

export function rebuiltPieces(pieces: readonly ParsedPiece[]): ParsedPiece[] {
  return pieces.map((piece) =>
    piece.content === null
      ? piece
      : { digest: piece.digest, content: { ...piece.content, objects: piece.content.objects.map(rebuilt) } },
  );
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
