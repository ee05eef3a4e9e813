// Parses one manifest file (multi-document YAML, or JSON) into the objects endpointd serves (EndpointSlice,
// Endpoints, Service), the objects of other kinds it skips, and problems that each name the document (1-based, in
// file order), the field and, for syntax errors, the line and column, so that a user can find and fix them.
// Pure: the same function runs on the main thread for small files and in the parse worker for large ones.
import { loadAll, YAMLException } from 'js-yaml';
import { serviceNameProblem } from '../../names.ts';
import {
  parseEndpointSlice,
  parseEndpoints,
  parseService,
  sliceServiceName,
  type FieldProblem,
  type Parsed,
} from '../../kube/objects.ts';
import type { EndpointObject } from '../service-assembler.ts';

export interface DocumentProblem {
  /** 1-based position of the YAML document in the file. */
  readonly document: number;
  /** Where inside the document, e.g. `items.2.endpoints.0.addresses.0`; `(document)` for the whole of it. */
  readonly path: string;
  readonly message: string;
  /** 1-based, for syntax errors. */
  readonly line?: number;
  readonly column?: number;
}

/** An object of a kind endpointd does not read (a Deployment in `kubectl get all -o yaml`): skipped, not an error. */
export interface SkippedObject {
  readonly document: number;
  /** `(document)` for a whole document, else the item's path, e.g. `items.3`. */
  readonly path: string;
  readonly kind: string;
}

export interface ParsedManifest {
  readonly objects: EndpointObject[];
  readonly problems: DocumentProblem[];
  readonly skipped: SkippedObject[];
}

export type ManifestFormat = 'yaml' | 'json';

const LIST_KINDS = new Set(['List', 'EndpointsList', 'EndpointSliceList', 'ServiceList']);
const API_VERSIONS: Record<EndpointObject['kind'], string> = {
  Endpoints: 'v1',
  EndpointSlice: 'discovery.k8s.io/v1',
  Service: 'v1',
};
/** Size of the pieces a large file is parsed in. */
const CHUNK_BYTES = 256 * 1024;
/** Aliases a document may use; the expanded size is bounded apart from this (see withinExpansionBudget). */
const MAX_ALIASES = 100;

/** The documents of `text`: JSON is parsed as JSON (fast), anything else, or JSON that does not parse, as YAML. */
/**
 * `flush`, when given, is handed the objects parsed so far after each chunk of a large file (and they are left out
 * of the result), so that a caller streaming them elsewhere never holds all of them at once.
 */
export function parseManifest(
  text: string,
  format: ManifestFormat = 'yaml',
  flush?: (objects: EndpointObject[]) => void,
): ParsedManifest {
  const out: ParsedManifest = { objects: [], problems: [], skipped: [] };
  const chunkDone =
    flush === undefined
      ? undefined
      : (): void => {
          if (out.objects.length > 0 && out.problems.length === 0) flush(out.objects.splice(0));
        };
  forEachDocument(
    text,
    format,
    out.problems,
    (value, document) => {
      if (value === null || value === undefined) return; // an empty document, e.g. after a trailing `---`
      collect(value, '', undefined, {
        objects: out.objects,
        skip: (path, kind) => out.skipped.push({ document, path, kind }),
        report: (path, message) => out.problems.push({ document, path, message }),
      });
    },
    chunkDone,
  );
  return out;
}

/**
 * Calls `visit` with each document and its 1-based position. Large files are parsed a chunk of documents at a time
 * and each chunk's documents are visited before the next is parsed: the parser's intermediate state for 8 MB of
 * YAML at once would take hundreds of megabytes, and a heap that grew that far does not give the memory back.
 */
function forEachDocument(
  text: string,
  format: ManifestFormat,
  problems: DocumentProblem[],
  visit: (value: unknown, document: number) => void,
  chunkDone?: () => void,
): void {
  if (format === 'json') {
    try {
      visit(JSON.parse(text), 1);
      return;
    } catch {
      // Fall through: YAML reads JSON too, and says where the syntax breaks in lines and columns.
    }
  }
  let seen = 0;
  for (const chunk of documentChunks(text)) {
    let documents: unknown[];
    try {
      documents = loadAll(chunk.text, { maxAliases: MAX_ALIASES });
    } catch (error) {
      const problem = syntaxProblem(chunk.text, error);
      const line = problem.line === undefined ? undefined : problem.line + chunk.lineOffset;
      problems.push({
        ...problem,
        document: problem.document + seen,
        ...(line === undefined ? {} : { line }),
        message: problem.message.replace(/^invalid YAML at line \d+/, `invalid YAML at line ${line}`),
      });
      return;
    }
    // Anchors: aliases share one object, so a few of them can stand for billions of nodes once walked.
    const budget = chunk.text.includes('&') ? Math.max(100_000, chunk.text.length * 4) : undefined;
    for (const [index, value] of documents.entries()) {
      const document = seen + index + 1;
      if (budget !== undefined && !withinExpansionBudget(value, budget)) {
        problems.push({
          document,
          path: '(document)',
          message: `invalid YAML: aliases expand this document beyond ${budget} nodes`,
        });
        continue;
      }
      visit(value, document);
    }
    seen += documents.length;
    chunkDone?.();
  }
}

interface DocumentChunk {
  readonly text: string;
  /** Lines of the file before this chunk. */
  readonly lineOffset: number;
}

/**
 * `text` cut at document markers (`---` at the start of a line: never inside a document, where such a line is an
 * error) into pieces of about CHUNK_BYTES, each a sequence of whole documents.
 */
function documentChunks(text: string): DocumentChunk[] {
  if (text.length <= CHUNK_BYTES) return [{ text, lineOffset: 0 }];
  const chunks: DocumentChunk[] = [];
  let start = 0;
  let lineOffset = 0;
  const marker = /\n---(?=[ \t\r\n]|$)/g;
  while (start < text.length) {
    marker.lastIndex = start + CHUNK_BYTES;
    const found = text.length - start <= CHUNK_BYTES ? null : marker.exec(text);
    const end = found === null ? text.length : found.index + 1;
    const piece = text.slice(start, end);
    chunks.push({ text: piece, lineOffset });
    lineOffset += countLines(piece);
    start = end;
  }
  return chunks;
}

function countLines(text: string): number {
  let lines = 0;
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) lines += 1;
  return lines;
}

function syntaxProblem(text: string, error: unknown): DocumentProblem {
  if (!(error instanceof YAMLException) || error.mark === undefined) {
    return { document: 1, path: '(document)', message: `invalid YAML: ${(error as Error).message}` };
  }
  const line = error.mark.line + 1;
  const column = error.mark.column + 1;
  return {
    document: documentAt(text, error.mark.position),
    path: '(document)',
    message: `invalid YAML at line ${line}, column ${column}: ${error.reason}`,
    line,
    column,
  };
}

/** The 1-based document that `position` falls in: `---` lines before it, a leading one not starting a second. */
function documentAt(text: string, position: number): number {
  const marker = /^---(?=[ \t\r\n]|$)/gm;
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

interface Collector {
  readonly objects: EndpointObject[];
  readonly skip: (path: string, kind: string) => void;
  readonly report: (path: string, message: string) => void;
}

function collect(value: unknown, prefix: string, impliedKind: string | undefined, into: Collector): void {
  const at = (path: string): string =>
    prefix === '' ? path : path === '(object)' ? prefix : `${prefix}.${path}`;
  const report = (path: string, message: string): void => into.report(at(path), message);
  if (!isRecord(value)) {
    report('(object)', 'must be a Kubernetes object (a mapping with kind, apiVersion and metadata)');
    return;
  }
  // Items of a typed list (EndpointSliceList, as the API server lists them) may leave their kind out.
  const kind = value.kind ?? impliedKind;
  if (typeof kind !== 'string' || kind === '') {
    report('kind', 'is required: EndpointSlice, Endpoints, Service or a List of them');
    return;
  }
  if (LIST_KINDS.has(kind)) {
    if (!Array.isArray(value.items)) {
      report('items', `must be a list of objects in a ${kind}`);
      return;
    }
    const itemKind = kind === 'List' ? undefined : kind.slice(0, -'List'.length);
    value.items.forEach((item, i) => collect(item, at(`items.${i}`), itemKind, into));
    return;
  }
  if (!isServedKind(kind)) {
    into.skip(prefix === '' ? '(document)' : prefix, kind);
    return;
  }
  const apiVersion = API_VERSIONS[kind];
  if (value.apiVersion !== undefined && value.apiVersion !== apiVersion) {
    report('apiVersion', `must be "${apiVersion}" for ${kind}, got ${JSON.stringify(value.apiVersion)}`);
    return;
  }
  const entry = validate(kind, value);
  if (!entry.ok) {
    for (const p of entry.problems) report(p.path, p.message);
    return;
  }
  into.objects.push(entry.value);
}

function validate(kind: EndpointObject['kind'], value: unknown): Parsed<EndpointObject> {
  if (kind === 'EndpointSlice') {
    const parsed = parseEndpointSlice(value);
    if (!parsed.ok) return parsed;
    const service = sliceServiceName(parsed.value);
    if (service === undefined) {
      return failed(
        'metadata.labels',
        'must carry kubernetes.io/service-name: the Service this slice belongs to',
      );
    }
    const problem = serviceNameProblem(service);
    if (problem !== undefined) {
      return failed('metadata.labels.kubernetes.io/service-name', `is not a valid Service name: ${problem}`);
    }
    return { ok: true, value: { kind, object: parsed.value } };
  }
  const parsed = kind === 'Service' ? parseService(value) : parseEndpoints(value);
  if (!parsed.ok) return parsed;
  const problem = serviceNameProblem(parsed.value.metadata.name);
  if (problem !== undefined) return failed('metadata.name', `is not a valid Service name: ${problem}`);
  return { ok: true, value: { kind, object: parsed.value } as EndpointObject };
}

function failed(path: string, message: string): { ok: false; problems: FieldProblem[] } {
  return { ok: false, problems: [{ path, message }] };
}

function isServedKind(kind: string): kind is EndpointObject['kind'] {
  return Object.hasOwn(API_VERSIONS, kind);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
