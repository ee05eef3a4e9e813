// When each Service object of a named cluster was created: the cross-cluster merge serves the oldest cluster's
// Service object where clusters disagree (MCS's rule, notes/multicluster.md). Validation keeps only the fields
// endpointd serves, so the age is read off the raw object — for a listed one, by the list's transform, as each
// item goes by, and taken when the list is handed over.
import { serviceKeyString } from '../../model.ts';
import type { IdentifiedObject } from '../service-assembler.ts';

export class ServiceAges {
  /** creationTimestamp (ms since the epoch) by service id. */
  readonly #createdAt = new Map<string, number>();
  /** Listed Services' ages between the list's transform and its handover. */
  readonly #listed = new Map<string, number>();

  /** A raw list item as the list's transform sees it: its age is kept until {@link note} takes it. */
  noteListed(item: unknown): void {
    const metadata = (item as { metadata?: { namespace?: unknown; name?: unknown } } | null)?.metadata;
    const at = creationOf(item);
    if (at === undefined || typeof metadata?.namespace !== 'string' || typeof metadata.name !== 'string')
      return;
    this.#listed.set(serviceKeyString({ namespace: metadata.namespace, name: metadata.name }), at);
  }

  /** A validated object and the raw one it came from: a Service's age is its own, or else the listed one. */
  note(entry: IdentifiedObject, raw: unknown): void {
    if (entry.kind !== 'Service') return;
    const id = idOf(entry);
    const at = creationOf(raw) ?? this.#listed.get(id);
    this.#listed.delete(id);
    if (at === undefined) this.#createdAt.delete(id);
    else this.#createdAt.set(id, at);
  }

  /** The object is gone. */
  forget(entry: IdentifiedObject): void {
    if (entry.kind === 'Service') this.#createdAt.delete(idOf(entry));
  }

  /** The Service's creationTimestamp in ms; undefined when unknown. */
  get(serviceId: string): number | undefined {
    return this.#createdAt.get(serviceId);
  }
}

function idOf(entry: IdentifiedObject): string {
  return serviceKeyString({ namespace: entry.object.metadata.namespace, name: entry.object.metadata.name });
}

/** An object's metadata.creationTimestamp in ms since the epoch; undefined when absent or not a time. */
function creationOf(raw: unknown): number | undefined {
  const text = (raw as { metadata?: { creationTimestamp?: unknown } } | null)?.metadata?.creationTimestamp;
  const at = typeof text === 'string' ? Date.parse(text) : Number.NaN;
  return Number.isNaN(at) ? undefined : at;
}
