// Parses one manifest file (multi-document YAML or JSON) into endpoint objects, or into problems that each name
// the document (1-based, in file order) and the field, so that a user can find and fix them.
import { parseAllDocuments } from 'yaml';
import { serviceNameProblem } from '../../names.ts';
import { parseEndpointSlice, parseEndpoints, sliceServiceName } from '../kubernetes/objects.ts';
import type { EndpointObject } from '../service-assembler.ts';

export interface DocumentProblem {
  /** 1-based position of the YAML document in the file. */
  readonly document: number;
  /** Where inside the document, e.g. `items.2.endpoints.0.addresses.0`; `(document)` for the whole of it. */
  readonly path: string;
  readonly message: string;
}

export interface ParsedManifest {
  readonly objects: EndpointObject[];
  readonly problems: DocumentProblem[];
}

const LIST_KINDS = new Set(['List', 'EndpointsList', 'EndpointSliceList']);
const API_VERSIONS: Record<string, string> = { Endpoints: 'v1', EndpointSlice: 'discovery.k8s.io/v1' };

export function parseManifest(text: string): ParsedManifest {
  const objects: EndpointObject[] = [];
  const problems: DocumentProblem[] = [];
  const documents = parseAllDocuments(text, { uniqueKeys: true, prettyErrors: false });
  // A stream that is broken beyond documents (e.g. an unterminated flow collection) comes back as one EmptyStream.
  const list = Array.isArray(documents) ? documents : [documents];
  list.forEach((document, index) => {
    const position = index + 1;
    const report = (path: string, message: string): void => {
      problems.push({ document: position, path, message });
    };
    if (document.errors.length > 0) {
      for (const error of document.errors) report('(document)', `invalid YAML: ${error.message}`);
      return;
    }
    let value: unknown;
    try {
      value = document.toJS({ maxAliasCount: 100 });
    } catch (error) {
      report('(document)', `invalid YAML: ${(error as Error).message}`);
      return;
    }
    if (value === null || value === undefined) return; // an empty document, e.g. after a trailing `---`
    collect(value, '', objects, report);
  });
  return { objects, problems };
}

function collect(
  value: unknown,
  prefix: string,
  objects: EndpointObject[],
  report: (path: string, message: string) => void,
): void {
  const at = (path: string): string =>
    prefix === '' ? path : path === '(object)' ? prefix : `${prefix}.${path}`;
  if (!isRecord(value)) {
    report(at('(object)'), 'must be a Kubernetes object (a mapping with kind, apiVersion and metadata)');
    return;
  }
  const kind = value.kind;
  if (typeof kind !== 'string') {
    report(at('kind'), 'is required: Endpoints, EndpointSlice or a List of them');
    return;
  }
  if (LIST_KINDS.has(kind)) {
    if (!Array.isArray(value.items)) {
      report(at('items'), `must be a list of objects in a ${kind}`);
      return;
    }
    value.items.forEach((item, i) => collect(item, at(`items.${i}`), objects, report));
    return;
  }
  const apiVersion = API_VERSIONS[kind];
  if (apiVersion === undefined) {
    report(at('kind'), `"${kind}" is not supported: use Endpoints, EndpointSlice or a List of them`);
    return;
  }
  if (value.apiVersion !== undefined && value.apiVersion !== apiVersion) {
    report(at('apiVersion'), `must be "${apiVersion}" for ${kind}, got ${JSON.stringify(value.apiVersion)}`);
    return;
  }
  if (kind === 'EndpointSlice') {
    const parsed = parseEndpointSlice(value);
    if (!parsed.ok) {
      for (const p of parsed.problems) report(at(p.path), p.message);
      return;
    }
    const service = sliceServiceName(parsed.value);
    if (service === undefined) {
      report(
        at('metadata.labels'),
        'must carry kubernetes.io/service-name: the Service this slice belongs to',
      );
      return;
    }
    const problem = serviceNameProblem(service);
    if (problem !== undefined) {
      report(at('metadata.labels.kubernetes.io/service-name'), `is not a valid Service name: ${problem}`);
      return;
    }
    objects.push({ kind: 'EndpointSlice', object: parsed.value });
    return;
  }
  const parsed = parseEndpoints(value);
  if (!parsed.ok) {
    for (const p of parsed.problems) report(at(p.path), p.message);
    return;
  }
  const problem = serviceNameProblem(parsed.value.metadata.name);
  if (problem !== undefined) {
    report(at('metadata.name'), `is not a valid Service name: ${problem}`);
    return;
  }
  objects.push({ kind: 'Endpoints', object: parsed.value });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
