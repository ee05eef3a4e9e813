// Cuts a multi-document YAML text into its documents and parses each piece with js-yaml, giving syntax errors the
// line and column of the whole file and the document they are in. A piece is the unit the parse workers digest:
// an edit to one document of a large file re-parses that document only (parse-file.ts).
import { loadAll, YAMLException } from 'js-yaml';
import type { DocumentProblem } from './manifest.ts';
import { readPlainDocument } from './plain-yaml.ts';

/** Aliases a document may use; the expanded size is bounded apart from this (see withinExpansionBudget). */
const MAX_ALIASES = 100;
/** A document marker: `---` at the start of a line, then a blank or the end of the line. */
const MARKER = /^---(?=[ \t\r\n]|$)/gm;

export interface TextPiece {
  readonly text: string;
  /** Lines of the file before this piece. */
  readonly lineOffset: number;
}

/** What one piece holds: its documents' values (undefined for one refused whole), and what is wrong with it. */
export interface LoadedPiece {
  readonly values: unknown[];
  /** How many documents it spans (also when a syntax error left no values), for numbering those after it. */
  readonly documents: number;
  readonly problems: DocumentProblem[];
}

/**
 * `text` cut before every document marker. A marker line can never be inside a document (YAML forbids it even in
 * block and quoted scalars), so every piece is whole documents, or none (comments before the first marker).
 * Directives (`%YAML`, `%TAG`) belong to the document after them: a text with any is kept in one piece.
 */
export function splitDocuments(text: string): TextPiece[] {
  return [...documentPieces(text)];
}

/** The pieces of `text` as splitDocuments cuts them, one at a time (a caller may pause between them). */
export function* documentPieces(text: string): Generator<TextPiece, void, undefined> {
  if (hasDirective(text)) {
    yield { text, lineOffset: 0 };
    return;
  }
  // A marker search of its own: another walk (a pause between pieces) may use the module's meanwhile.
  const marker = new RegExp(MARKER.source, 'gm');
  let start = 0;
  let lineOffset = 0;
  for (let match = marker.exec(text); match !== null; match = marker.exec(text)) {
    if (match.index === start) continue;
    const piece = text.slice(start, match.index);
    yield { text: piece, lineOffset };
    lineOffset += countLines(piece);
    start = match.index;
  }
  yield { text: text.slice(start), lineOffset };
}

/** Whether a line of `text` starts with `%` (a directive): two searches for a character, much faster than /^%/m. */
function hasDirective(text: string): boolean {
  return text.startsWith('%') || text.includes('\n%') || text.includes('\r%');
}

/** Parses one piece whose first document is number `before + 1` of the file. */
export function loadPiece(piece: TextPiece, before: number): LoadedPiece {
  // Most documents of large sets are kubectl's or js-yaml's plain output: read faster, the same values (plain-yaml.ts).
  const plain = readPlainDocument(piece.text);
  if (plain !== undefined) return { values: [plain], documents: 1, problems: [] };
  let values: unknown[];
  try {
    values = loadAll(piece.text, { maxAliases: MAX_ALIASES });
  } catch (error) {
    const documents = documentAt(piece.text, piece.text.length);
    return { values: [], documents, problems: [syntaxProblem(piece, before, error)] };
  }
  const problems: DocumentProblem[] = [];
  // Anchors: aliases share one object, so a few of them can stand for billions of nodes once walked.
  const budget = piece.text.includes('&') ? Math.max(100_000, piece.text.length * 4) : undefined;
  if (budget !== undefined) {
    values = values.map((value, index) => {
      if (withinExpansionBudget(value, budget)) return value;
      problems.push({
        document: before + index + 1,
        path: '(document)',
        message: `invalid YAML: aliases expand this document beyond ${budget} nodes`,
      });
      return undefined;
    });
  }
  return { values, documents: values.length, problems };
}

function countLines(text: string): number {
  let lines = 0;
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) lines += 1;
  return lines;
}

function syntaxProblem(piece: TextPiece, before: number, error: unknown): DocumentProblem {
  if (!(error instanceof YAMLException) || error.mark === undefined) {
    return { document: before + 1, path: '(document)', message: `invalid YAML: ${(error as Error).message}` };
  }
  const line = error.mark.line + 1 + piece.lineOffset;
  const column = error.mark.column + 1;
  return {
    document: before + documentAt(piece.text, error.mark.position),
    path: '(document)',
    message: `invalid YAML at line ${line}, column ${column}: ${error.reason}`,
    line,
    column,
  };
}

/** The 1-based document that `position` falls in: `---` lines before it, a leading one not starting a second. */
function documentAt(text: string, position: number): number {
  const marker = new RegExp(MARKER.source, 'gm');
  let markers = 0;
  let leading = false;
  for (let match = marker.exec(text); match !== null && match.index < position; match = marker.exec(text)) {
    if (markers === 0) leading = /^(\s|#.*|%.*)*$/.test(text.slice(0, match.index));
    markers += 1;
  }
  return Math.max(1, leading ? markers : markers + 1);
}

function withinExpansionBudget(value: unknown, budget: number): boolean {
  let left = budget;
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const next = stack.pop();
    if (--left < 0) return false;
    if (typeof next === 'object' && next !== null) {
      for (const child of Object.values(next)) stack.push(child);
    }
  }
  return true;
}
