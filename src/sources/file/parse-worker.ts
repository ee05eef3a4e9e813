// The parse worker's thread: runs parseFile() on the large manifests the file source hands it, so that parsing
// megabytes of YAML never holds up the event loop that answers lookups. One request at a time, in order.
import { parentPort } from 'node:worker_threads';
import { parseFile, type ParseRequest, type ParseResult } from './parse-file.ts';

export interface ToParseWorker {
  readonly id: number;
  readonly bytes: Uint8Array;
  readonly request: ParseRequest;
}

export type FromParseWorker =
  { readonly id: number; readonly result: ParseResult } | { readonly id: number; readonly error: string };

parentPort?.on('message', (message: ToParseWorker) => {
  let reply: FromParseWorker;
  try {
    reply = { id: message.id, result: parseFile(message.bytes, message.request) };
  } catch (error) {
    reply = { id: message.id, error: error instanceof Error ? error.message : String(error) };
  }
  parentPort?.postMessage(reply);
});
