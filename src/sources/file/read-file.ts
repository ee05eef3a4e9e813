// Opens and reads one manifest file with plain synchronous system calls: for the small files that make up most
// trees, a few microseconds each, where the promise API costs tens (a 10,000-file scan would spend seconds in
// file-handle bookkeeping). Opened non-blocking and checked to be a regular file under the size limit first, so that
// a FIFO named like a manifest never hangs the read and an accident never fills the heap.
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { formatBytes } from '../../byte-size.ts';
import { flatString } from './flat-string.ts';

/** A file unchanged this long before it was read may be trusted by its stat data later (the "racily clean" rule). */
const QUIET_BEFORE_TRUST_MS = 2000;

export type OpenedManifest =
  | {
      readonly kind: 'open';
      readonly fd: number;
      readonly size: number;
      /** inode, size, mtime, ctime: equal stamps of a trusted file mean equal content. */
      readonly stamp: string;
      /** The file had been quiet for a while when opened: a later write is bound to change the stamp. */
      readonly trustStamp: boolean;
    }
  | { readonly kind: 'gone' }
  | {
      readonly kind: 'unusable';
      readonly message: string;
      /** Identifies the refused state (e.g. too large at this stamp), so that it is not reported again. */
      readonly refusal?: string;
    };

export function openManifest(path: string, maxBytes: number): OpenedManifest {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'gone' };
    return { kind: 'unusable', message: `cannot read: ${(error as Error).message}` };
  }
  try {
    const info = fstatSync(fd);
    if (!info.isFile()) {
      closeSync(fd);
      return { kind: 'unusable', message: 'is not a regular file (a FIFO, socket or device): not read' };
    }
    // Kept with the file's state: flat, not the tree of parts a template literal builds.
    const stamp = flatString(`${info.ino}:${info.size}:${info.mtimeMs}:${info.ctimeMs}`);
    if (info.size > maxBytes) {
      closeSync(fd);
      return {
        kind: 'unusable',
        message: `is ${overLimit(info.size, maxBytes)} (--file-max-size): not read`,
        refusal: `size:${stamp}`,
      };
    }
    const trustStamp = Date.now() - info.ctimeMs > QUIET_BEFORE_TRUST_MS;
    return { kind: 'open', fd, size: info.size, stamp, trustStamp };
  } catch (error) {
    closeSync(fd);
    return { kind: 'unusable', message: `cannot read: ${(error as Error).message}` };
  }
}

/** "SIZE, over the limit of LIMIT": in exact bytes when the rounded figures would read the same (one byte over). */
function overLimit(size: number, maxBytes: number): string {
  const [shown, limit] = [formatBytes(size), formatBytes(maxBytes)];
  return shown === limit
    ? `${size} bytes, over the limit of ${maxBytes} bytes (${limit})`
    : `${shown}, over the limit of ${limit}`;
}

/**
 * Bytes up to this size are read into one buffer per thread, reused by every read: a first load of 10,000 small
 * files otherwise allocates 10,000 buffers outside V8's heap, and the malloc arena of the worker thread that read
 * them stays resident, fragmented, after the worker has ended (~20 MB at 10,000 files). Larger files get their own.
 */
export const SCRATCH_BYTES = 256 * 1024;
let scratch: Buffer | undefined;

/**
 * Reads an opened file to its end (it may have grown since it was opened) and closes it. The bytes of a small file
 * are in the thread's scratch buffer: valid until the next read on this thread, so use them before reading again.
 */
export function readOpened(
  opened: Extract<OpenedManifest, { kind: 'open' }>,
  maxBytes: number,
): Buffer | { readonly message: string } {
  try {
    const chunks: Buffer[] = [];
    let total = 0;
    let chunk =
      opened.size < SCRATCH_BYTES
        ? (scratch ??= Buffer.allocUnsafeSlow(SCRATCH_BYTES))
        : Buffer.allocUnsafe(opened.size + 1);
    for (;;) {
      const n = readSync(opened.fd, chunk, 0, chunk.length, null);
      if (n === 0) break;
      chunks.push(chunk.subarray(0, n));
      total += n;
      if (total > maxBytes) {
        return {
          message: `grew over the limit of ${formatBytes(maxBytes)} (--file-max-size) while read: not read`,
        };
      }
      if (n === chunk.length) chunk = Buffer.allocUnsafe(chunk.length);
      else chunk = chunk.subarray(n);
    }
    return chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, total);
  } catch (error) {
    return { message: `cannot read: ${(error as Error).message}` };
  } finally {
    closeSync(opened.fd);
  }
}
