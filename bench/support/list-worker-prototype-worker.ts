// The worker of bench/list-worker-prototype.ts (a prototype of the list worker of bench/README.md's start-up
// design, not endpointd's code): lists both collections as the floor does (node:http, one keep-alive connection
// each, 500 a page, `JSON.parse`), puts each item through the Kubernetes source's own per-object path (the list's
// fast path, validation, filing, the assembler: endpointd's compiled modules), and as soon as both lists have passed
// a namespace assembles its Services, hashes each (its content version) and posts them to the main thread as
// `[id, version, JSON text, …]`: strings only, so that the hand-over costs the main thread a copy, not a decoding.
// workerData.mode: 'parse' drops every item after JSON.parse, 'accept' stops after the fast path, 'full' does it all.
import { Agent } from 'node:http';
import { getListPage } from './list-page.ts';
import { parentPort, workerData } from 'node:worker_threads';
import type * as FastAccept from '../../src/kube/fast-accept.ts';
import type * as Model from '../../src/model.ts';
import type * as Objects from '../../src/kube/objects.ts';
import type * as Assembler from '../../src/sources/service-assembler.ts';

export interface PrototypeWorkerData {
  readonly server: string;
  /** endpointd's compiled modules (dist/), as a file: URL. */
  readonly dist: string;
  readonly mode: 'parse' | 'accept' | 'full';
}

/** A batch of Services (id, version, text repeated), or the end. */
export type FromPrototypeWorker =
  | readonly string[]
  | {
      readonly done: true;
      readonly services: number;
      /** Worker time from its first line to the last page's items filed, and from there to the last post. */
      readonly listMs: number;
      readonly tailMs: number;
    };

const { server, dist, mode } = workerData as PrototypeWorkerData;
const [{ acceptEndpointSlice, acceptService }, { filed, ServiceAssembler }, objects, model] =
  (await Promise.all([
    import(`${dist}/kube/fast-accept.js`),
    import(`${dist}/sources/service-assembler.js`),
    import(`${dist}/kube/objects.js`),
    import(`${dist}/model.js`),
  ])) as [typeof FastAccept, typeof Assembler, typeof Objects, typeof Model];
const started = performance.now();
const port = parentPort;
if (port === null) throw new Error('list-worker-prototype-worker.ts runs as a worker thread');

const base = new URL(server);

const assembler = new ServiceAssembler();
/** Services put and not yet posted, by namespace (both collections come sorted by namespace, then name). */
const pending = new Map<string, Map<string, Model.ServiceKey>>();
/** The namespace of the last item of each collection's last page: a namespace before both is complete. */
const reached = { EndpointSlice: '', Service: '' };
let posted = 0;
let counted = 0;

function post(namespaces: readonly string[]): void {
  let batch: string[] = [];
  for (const namespace of namespaces) {
    for (const [id, key] of pending.get(namespace) ?? []) {
      const { service } = assembler.assemble(key);
      if (service === undefined) continue;
      batch.push(id, model.contentVersion(service), JSON.stringify(service));
      posted += 1;
      if (batch.length >= 1_500) {
        port?.postMessage(batch);
        batch = [];
      }
    }
    pending.delete(namespace);
  }
  if (batch.length > 0) port?.postMessage(batch);
}

function take(kind: 'EndpointSlice' | 'Service', raw: unknown): void {
  const accepted = kind === 'EndpointSlice' ? acceptEndpointSlice(raw) : acceptService(raw);
  if (mode === 'accept') {
    counted += accepted === undefined ? 0 : 1;
    return;
  }
  // As the source's #validate does: the item with its kind, validated, then filed.
  const parsed =
    kind === 'EndpointSlice'
      ? objects.parseEndpointSlice({ kind, ...accepted })
      : objects.parseService({ kind, ...accepted });
  if (!parsed.ok) return;
  const entry =
    kind === 'EndpointSlice'
      ? filed({ kind, object: parsed.value as Objects.EndpointSliceObject })
      : filed({ kind, object: parsed.value as Objects.ServiceObject });
  const key = assembler.put('kubernetes', entry);
  if (key === undefined) return;
  let ofNamespace = pending.get(key.namespace);
  if (ofNamespace === undefined)
    pending.set(key.namespace, (ofNamespace = new Map<string, Model.ServiceKey>()));
  ofNamespace.set(model.serviceKeyString(key), key);
}

async function listAll(collection: string, kind: 'EndpointSlice' | 'Service'): Promise<void> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  let token: string | undefined;
  try {
    do {
      const query = new URLSearchParams({ limit: '500' });
      if (token !== undefined) query.set('continue', token);
      const body = await getListPage(base, `${collection}?${query.toString()}`, agent);
      const items = body.items ?? [];
      if (mode !== 'parse') for (const raw of items) take(kind, raw);
      const last = items.at(-1) as { metadata?: { namespace?: string } } | undefined;
      reached[kind] = last?.metadata?.namespace ?? reached[kind];
      if (mode === 'full') {
        const before = reached.EndpointSlice < reached.Service ? reached.EndpointSlice : reached.Service;
        post([...pending.keys()].filter((namespace) => namespace < before));
      }
      token = body.metadata?.continue === '' ? undefined : body.metadata?.continue;
    } while (token !== undefined);
  } finally {
    agent.destroy();
  }
}

await Promise.all([
  listAll('/apis/discovery.k8s.io/v1/endpointslices', 'EndpointSlice'),
  listAll('/api/v1/services', 'Service'),
]);
const listed = performance.now();
post([...pending.keys()]);
const done: FromPrototypeWorker = {
  done: true,
  services: mode === 'accept' ? counted : posted,
  listMs: listed - started,
  tailMs: performance.now() - listed,
};
port.postMessage(done);
