// Which Services a named cluster exports in `--cluster-export=serviceexport` mode: those named by a ServiceExport
// (MCS API, multicluster.x-k8s.io; only its namespace/name is read, the watch is read-only). Each call says which
// Services it changed, so that the source republishes only those.
import { serviceKeyString, type ServiceKey } from '../../model.ts';
import type { WatchEventType } from './reflector.ts';

export class ServiceExports {
  readonly #exported = new Set<string>();

  has(serviceId: string): boolean {
    return this.#exported.has(serviceId);
  }

  /** A (re)list of one scope (a namespace, or all when undefined): its exported set is replaced. */
  replace(namespace: string | undefined, items: readonly unknown[]): Map<string, ServiceKey> {
    const touched = new Map<string, ServiceKey>();
    const now = new Map<string, ServiceKey>();
    for (const raw of items) {
      const key = exportedService(raw);
      if (key !== undefined) now.set(serviceKeyString(key), key);
    }
    for (const id of [...this.#exported]) {
      if (namespace !== undefined && !id.startsWith(`${namespace}/`)) continue;
      if (now.has(id)) continue;
      this.#exported.delete(id);
      const [ns = '', name = ''] = id.split('/');
      touched.set(id, { namespace: ns, name });
    }
    for (const [id, key] of now) {
      if (!this.#exported.has(id)) touched.set(id, key);
      this.#exported.add(id);
    }
    return touched;
  }

  /** One watch event of a ServiceExport. */
  apply(type: WatchEventType, raw: unknown): Map<string, ServiceKey> {
    const key = exportedService(raw);
    if (key === undefined) return new Map();
    const id = serviceKeyString(key);
    if (type === 'DELETED') this.#exported.delete(id);
    else this.#exported.add(id);
    return new Map([[id, key]]);
  }
}

/** The Service a ServiceExport exports: its own namespace/name; undefined for a malformed object. */
function exportedService(raw: unknown): ServiceKey | undefined {
  const metadata = (raw as { metadata?: { namespace?: unknown; name?: unknown } } | null)?.metadata;
  const { namespace, name } = metadata ?? {};
  return typeof namespace === 'string' && typeof name === 'string' && namespace !== '' && name !== ''
    ? { namespace, name }
    : undefined;
}
