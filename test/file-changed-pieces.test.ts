// Property: changedPieces (served-files.ts), which skips the runs two states of a file share and compares only
// what lies between, drops and brings exactly the pieces a comparison of the whole lists would: every piece of the
// old state absent from the new one, every piece of the new state absent from the old one — whatever the edit
// (documents changed, inserted, removed, moved, duplicated) and however long the lists.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { changedPieces, type StoredPiece } from '../src/sources/file/served-files.ts';

const POOL: readonly StoredPiece[] = Array.from({ length: 40 }, (_, i) => ({
  digest: `d${i}`,
  objects: [],
  skipped: [],
  documents: 1,
}));

const piece = fc.integer({ min: 0, max: POOL.length - 1 }).map((i) => POOL[i] as StoredPiece);

/** A state and the next one: the next made by edits of the first, so that long shared runs are common. */
const states = fc
  .tuple(
    fc.array(piece, { maxLength: 60 }),
    fc.array(
      fc.record({
        at: fc.nat(),
        op: fc.constantFrom('replace', 'insert', 'remove', 'duplicate', 'move'),
        piece,
      }),
      { maxLength: 25 },
    ),
  )
  .map(([before, edits]) => {
    const next = [...before];
    for (const { at, op, piece: p } of edits) {
      const i = next.length === 0 ? 0 : at % next.length;
      if (op === 'insert' || next.length === 0) next.splice(i, 0, p);
      else if (op === 'replace') next[i] = p;
      else if (op === 'remove') next.splice(i, 1);
      else if (op === 'duplicate') next.splice(at % (next.length + 1), 0, next[i] as StoredPiece);
      else {
        const [moved] = next.splice(i, 1);
        next.splice(at % (next.length + 1), 0, moved as StoredPiece);
      }
    }
    return { before, next };
  });

const digests = (pieces: readonly StoredPiece[]): string[] =>
  [...new Set(pieces.map((p) => p.digest))].sort();
const absent = (from: readonly StoredPiece[], other: readonly StoredPiece[]): StoredPiece[] =>
  from.filter((p) => !other.includes(p));

describe('changedPieces', () => {
  it('drops and brings what a whole-list comparison does', () => {
    fc.assert(
      fc.property(states, ({ before, next }) => {
        const { dropped, taken } = changedPieces(before, next);
        assert.deepEqual(digests(dropped), digests(absent(before, next)));
        assert.deepEqual(digests(taken), digests(absent(next, before)));
      }),
      { numRuns: 2_000 },
    );
  });

  it('finds one changed document among thousands, and nothing where nothing changed', () => {
    const many = Array.from({ length: 5_000 }, (_, i) => ({
      digest: `m${i}`,
      objects: [],
      skipped: [],
      documents: 1,
    }));
    const edited = { digest: 'edited', objects: [], skipped: [], documents: 1 };
    const next = many.map((p, i) => (i === 2_500 ? edited : p));
    assert.deepEqual(changedPieces(many, next), { dropped: [many[2_500]], taken: [edited] });
    assert.deepEqual(changedPieces(many, [...many]), { dropped: [], taken: [] });
    // A document the file holds twice, one copy removed: still served.
    const twice = [many[0] as StoredPiece, ...many.slice(0, 10)];
    assert.deepEqual(changedPieces(twice, many.slice(0, 10)), { dropped: [], taken: [] });
  });
});
