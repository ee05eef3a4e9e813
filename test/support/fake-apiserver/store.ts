// Objects, the global resourceVersion, the per-type event log with its compaction floor, and list snapshots.

import { randomUUID } from 'node:crypto';
import { RESOURCE_NAMES } from './resources.ts';
import type { KubeObject, ResourceName } from './types.ts';

export interface ChangeRecord {
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  resource: ResourceName;
  rv: number;
  /** The new state; for DELETED the last state stamped with the deletion's resourceVersion. */
  object: KubeObject;
  /** The state before the change (undefined for ADDED); watch filters need it for enter/leave. */
  previous: KubeObject | undefined;
}

export type ChangeListener = (change: ChangeRecord) => void;

export class StoreError extends Error {
  readonly code: number;
  constructor(code: number, message: string) {
    super(message);
    this.code = code;
  }
}

// The alphabet apiserver's names.SimpleNameGenerator uses for generateName suffixes.
const SUFFIX_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

export function randomSuffix(length = 5): string {
  let out = '';
  for (let i = 0; i < length; i++) out += SUFFIX_ALPHABET[Math.floor(Math.random() * SUFFIX_ALPHABET.length)];
  return out;
}

export function keyOf(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}

/** Lists are sorted by namespace, then name; paging relies on the same order. */
export function compareObjects(a: KubeObject, b: KubeObject): number {
  const ns = (a.metadata.namespace ?? '').localeCompare(b.metadata.namespace ?? '', 'en');
  return ns !== 0 ? ns : (a.metadata.name ?? '').localeCompare(b.metadata.name ?? '', 'en');
}

function clone<T>(value: T): T {
  return structuredClone(value);
}

function timestamp(): string {
  // Kubernetes writes RFC 3339 with second precision.
  return new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** The object minus its metadata and type fields: what a generation bump is about. */
function content(obj: KubeObject): string {
  const rest: Record<string, unknown> = { ...obj };
  delete rest['metadata'];
  delete rest['kind'];
  delete rest['apiVersion'];
  return JSON.stringify(rest);
}

export interface Snapshot {
  resource: ResourceName;
  rv: number;
  items: KubeObject[];
}

export class Store {
  #rv: number;
  #floor: number;
  readonly #objects = new Map<ResourceName, Map<string, KubeObject>>();
  readonly #logs = new Map<ResourceName, ChangeRecord[]>();
  readonly #snapshots = new Map<string, Snapshot>();
  readonly #listeners = new Set<ChangeListener>();

  constructor(initialResourceVersion: number) {
    this.#rv = initialResourceVersion;
    this.#floor = initialResourceVersion;
    for (const r of RESOURCE_NAMES) {
      this.#objects.set(r, new Map());
      this.#logs.set(r, []);
    }
  }

  get resourceVersion(): number {
    return this.#rv;
  }

  /** Watches from a resourceVersion below this answer 410 Expired. */
  get floor(): number {
    return this.#floor;
  }

  subscribe(listener: ChangeListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #map(resource: ResourceName): Map<string, KubeObject> {
    const map = this.#objects.get(resource);
    if (map === undefined) throw new Error(`unknown resource ${resource}`);
    return map;
  }

  #record(change: ChangeRecord): void {
    this.#logs.get(change.resource)?.push(change);
    for (const listener of [...this.#listeners]) listener(change);
  }

  create(resource: ResourceName, input: KubeObject): KubeObject {
    const obj = clone(input);
    delete obj.kind;
    delete obj.apiVersion;
    const meta = obj.metadata;
    meta.namespace = meta.namespace ?? 'default';
    if (meta.name === undefined || meta.name === '') {
      if (meta.generateName === undefined) throw new StoreError(422, 'name or generateName is required');
      meta.name = meta.generateName + randomSuffix();
    }
    const key = keyOf(meta.namespace, meta.name);
    const map = this.#map(resource);
    if (map.has(key)) throw new StoreError(409, `${resource} "${meta.name}" already exists`);
    this.#rv++;
    meta.uid = randomUUID();
    meta.resourceVersion = String(this.#rv);
    meta.generation = 1;
    // The API server sets it; a test may set it first to play a Service created long ago (multicluster's oldest-wins).
    meta.creationTimestamp = meta.creationTimestamp ?? timestamp();
    map.set(key, obj);
    this.#record({ type: 'ADDED', resource, rv: this.#rv, object: obj, previous: undefined });
    return clone(obj);
  }

  update(resource: ResourceName, input: KubeObject): KubeObject {
    const obj = clone(input);
    delete obj.kind;
    delete obj.apiVersion;
    const meta = obj.metadata;
    meta.namespace = meta.namespace ?? 'default';
    const key = keyOf(meta.namespace, meta.name ?? '');
    const map = this.#map(resource);
    const previous = map.get(key);
    if (previous === undefined) throw new StoreError(404, `${resource} "${meta.name ?? ''}" not found`);
    this.#rv++;
    // Server-owned fields survive an update whatever the caller sent; the caller's resourceVersion is ignored
    // (tests update from fixtures, so optimistic concurrency would only get in the way).
    meta.uid = previous.metadata.uid;
    meta.creationTimestamp = previous.metadata.creationTimestamp;
    const specChanged = content(previous) !== content(obj);
    meta.generation = (previous.metadata.generation ?? 1) + (specChanged ? 1 : 0);
    meta.resourceVersion = String(this.#rv);
    map.set(key, obj);
    this.#record({ type: 'MODIFIED', resource, rv: this.#rv, object: obj, previous });
    return clone(obj);
  }

  delete(resource: ResourceName, namespace: string, name: string): KubeObject {
    const key = keyOf(namespace, name);
    const map = this.#map(resource);
    const previous = map.get(key);
    if (previous === undefined) throw new StoreError(404, `${resource} "${name}" not found`);
    this.#rv++;
    map.delete(key);
    const last = clone(previous);
    last.metadata.resourceVersion = String(this.#rv);
    this.#record({ type: 'DELETED', resource, rv: this.#rv, object: last, previous });
    return clone(last);
  }

  get(resource: ResourceName, namespace: string, name: string): KubeObject | undefined {
    const obj = this.#map(resource).get(keyOf(namespace, name));
    return obj === undefined ? undefined : clone(obj);
  }

  /** Current objects of a type, sorted; callers must not mutate them (they are the stored instances). */
  current(resource: ResourceName): KubeObject[] {
    return [...this.#map(resource).values()].sort(compareObjects);
  }

  /** Changes after `rv`, or undefined when `rv` is below the compaction floor. */
  changesSince(resource: ResourceName, rv: number): ChangeRecord[] | undefined {
    if (rv < this.#floor) return undefined;
    return (this.#logs.get(resource) ?? []).filter((c) => c.rv > rv);
  }

  /** Remembers the current state of a type so later pages of a list see the same resourceVersion. */
  snapshot(resource: ResourceName): Snapshot {
    const id = `${resource}@${this.#rv}`;
    let snap = this.#snapshots.get(id);
    if (snap === undefined) {
      snap = { resource, rv: this.#rv, items: this.current(resource) };
      this.#snapshots.set(id, snap);
    }
    return snap;
  }

  findSnapshot(resource: ResourceName, rv: number): Snapshot | undefined {
    return this.#snapshots.get(`${resource}@${rv}`);
  }

  /**
   * Forgets history up to now: watches from an older RV answer 410 Expired, and so does every continue token
   * issued so far (even one taken at this very RV, so a test needs no extra write to expire a token).
   */
  compact(): void {
    this.#floor = this.#rv;
    for (const [resource, log] of this.#logs) {
      this.#logs.set(
        resource,
        log.filter((c) => c.rv > this.#floor),
      );
    }
    for (const [id, snap] of this.#snapshots) {
      if (snap.rv <= this.#floor) this.#snapshots.delete(id);
    }
  }

  clear(): void {
    this.#listeners.clear();
    this.#snapshots.clear();
  }
}
