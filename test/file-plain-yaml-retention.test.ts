// Property: reading a manifest keeps nothing of its text. The plain YAML reader caches what it meets (the shapes of
// mappings, by their keys; scalars) across documents and files; a cached string cut from a document is a slice that
// holds the whole text it was cut from (V8 keeps substrings of 13 characters or more so). The main thread reads large
// files itself on a first load, so a slice kept there would keep a whole file's text — megabytes — for good. Keys and
// values never met before (long ones, so that V8 would slice them) are read from a large text, the text dropped, and
// the heap measured after a full GC.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { JsonBytes } from '../src/sources/file/json-bytes.ts';
import { readPlainDocument, writePlainDocument } from '../src/sources/file/plain-yaml.ts';
import { retainedBytes } from './support/memory.ts';

const DOCUMENTS = 2_000;

/** A file of DOCUMENTS documents, as one flat string, and where each document is in it. */
function manifestText(tag: string): { text: string; pieces: Array<readonly [number, number]> } {
  const documents = Array.from(
    { length: DOCUMENTS },
    (_, i) =>
      `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: retained-${tag}-${i}\n  labels:\n` +
      `    a-long-label-key-${tag}-${i % 40}: a-long-label-value-${tag}-${i}\n` +
      `data:\n  another-long-key-${tag}-${i % 40}: another-long-value-${tag}-${i}\n` +
      `  filler: "${'x'.repeat(300)}"\n`,
  );
  const text = documents.join('---\n');
  const pieces: Array<readonly [number, number]> = [];
  let at = 0;
  for (const document of documents) {
    pieces.push([at, at + document.length]);
    at += document.length + 4;
  }
  return { text, pieces };
}

/** Heap bytes still held after `read` was given a fresh text of ~DOCUMENTS × 500 bytes and let it go. */
function heldAfter(tag: string, read: (document: string) => void): { held: number; textBytes: number } {
  // A first text of other keys and values, so that the reader's code is compiled and its caches full before.
  const warm = manifestText(`${tag}-warm`);
  for (const [from, to] of warm.pieces) read(warm.text.slice(from, to));
  const before = retainedBytes();
  let textBytes = 0;
  (() => {
    const { text, pieces } = manifestText(tag);
    textBytes = text.length;
    // Each document a slice of the file's text, as the file source cuts them.
    for (const [from, to] of pieces) read(text.slice(from, to));
  })();
  const held = retainedBytes() - before;
  return { held, textBytes };
}

describe('the plain YAML reader keeps nothing of the texts it reads', () => {
  it('reading documents into values (the main thread)', () => {
    const values: unknown[] = [];
    const { held, textBytes } = heldAfter('values', (document) => {
      const value = readPlainDocument(document);
      assert.notEqual(value, undefined, 'the reader declined a plain document');
      values.length = 0; // the values are dropped too: only the reader's own caches may keep anything
    });
    assert.ok(held < textBytes / 4, `${held} bytes held after reading ${textBytes} bytes of text`);
  });

  it('writing documents as JSON (the parse workers)', () => {
    const into = new JsonBytes();
    const { held, textBytes } = heldAfter('json', (document) => {
      into.length = 0;
      assert.ok(writePlainDocument(document, into), 'the reader declined a plain document');
    });
    assert.ok(held < textBytes / 4, `${held} bytes held after reading ${textBytes} bytes of text`);
  });
});
