// Parses one manifest file (multi-document YAML, or JSON) into the objects endpointd serves (EndpointSlice,
// Endpoints, Service), the objects of other kinds it skips, and problems that each name the document (1-based, in
// file order), the field and, for syntax errors, the line and column, so that a user can find and fix them.
// Pure: the same functions run on the main thread for small files and in the parse workers.
import { serviceNameProblem } from '../../names.ts';
import {
  parseEndpointSlice,
  parseEndpoints,
  parseService,
  quoted,
  sliceServiceName,
  type FieldProblem,
  type Parsed,
} from '../../kube/objects.ts';
import type { EndpointObject } from '../service-assembler.ts';
import { loadPiece, splitDocuments, type TextPiece } from './documents.ts';

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
/** The documents of `text`: JSON is parsed as JSON (fast), anything else, or JSON that does not parse, as YAML. */
export function parseManifest(text: string, format: ManifestFormat = 'yaml'): ParsedManifest {
  const json = format === 'json' ? parseJsonManifest(text) : undefined;
  if (json !== undefined) return json;
  const out: ParsedManifest = { objects: [], problems: [], skipped: [] };
  let before = 0;
  for (const piece of splitDocuments(text)) {
    const parsed = parsePiece(piece, before);
    out.objects.push(...parsed.objects);
    out.problems.push(...parsed.problems);
    out.skipped.push(...parsed.skipped);
    before += parsed.documents;
  }
  return out;
}

/** A JSON file's one document; undefined when it is not valid JSON (YAML reads it too, and says where it breaks). */
export function parseJsonManifest(text: string): ParsedManifest | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  const out: ParsedManifest = { objects: [], problems: [], skipped: [] };
  collectDocument(value, 1, out);
  return out;
}

/**
 * The objects of one document, given as the value JSON.parse made of the JSON a parse worker wrote for it
 * (parse-file.ts RawPiece): what parsePiece gives for that document, skipped objects numbered from it (1), problems
 * by `document`, its number in the file.
 */
export function parseDocumentValue(value: unknown, document: number): ParsedManifest {
  const out: ParsedManifest = { objects: [], problems: [], skipped: [] };
  collectDocument(value, 1, out);
  if (out.problems.length > 0 && document !== 1) {
    return { ...out, problems: out.problems.map((p) => ({ ...p, document })) };
  }
  return out;
}

/** The objects of one piece of YAML (see documents.ts) whose first document is number `before + 1`. */
export function parsePiece(
  piece: TextPiece,
  before: number,
): ParsedManifest & { readonly documents: number } {
  const loaded = loadPiece(piece, before);
  const out = { objects: [], problems: loaded.problems, skipped: [], documents: loaded.documents };
  loaded.values.forEach((value, index) => collectDocument(value, before + index + 1, out));
  return out;
}

function collectDocument(value: unknown, document: number, out: ParsedManifest): void {
  if (value === null || value === undefined) return; // an empty document (after a trailing `---`), or refused
  collect(value, '', undefined, {
    objects: out.objects,
    skip: (path, kind) => out.skipped.push({ document, path, kind }),
    report: (path, message) => out.problems.push({ document, path, message }),
  });
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
    report('apiVersion', `must be "${apiVersion}" for ${kind}, got ${quoted(value.apiVersion)}`);
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
