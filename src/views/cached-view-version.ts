// The version a caller's answer carries (src/views/service-view.ts viewVersion), taken through the store's
// encoded-form cache: without caller locality it is the snapshot's own and costs nothing; with it, it costs a
// view, made once per (service, version, view) for every door that compares or sends it.
import type { ServiceSnapshot } from '../model.ts';
import type { EncodedCache } from '../store/encoded-cache.ts';
import { viewForm, viewHasOwnVersion, viewVersion, type ViewOptions } from './service-view.ts';

/**
 * What one version entry keeps alive besides its key's characters: the key string's copies (built, then flattened
 * when hashed), the value, and lru-cache's and its Map's slots — ~400 bytes in all for a 75-character key, measured
 * on Node 24. The 16 characters of the version alone would let a client that names a new node at every request
 * (each its own view, answered 304 to `If-None-Match: *` from this entry alone) fill the cache with entries that
 * hold ~25 times --encoded-cache-size.
 */
const ENTRY_OVERHEAD_BYTES = 256;

interface CachedVersion {
  readonly version: string;
  readonly byteLength: number;
}

export function cachedViewVersion(cache: EncodedCache, snapshot: ServiceSnapshot, view: ViewOptions): string {
  if (!viewHasOwnVersion(view)) return snapshot.version;
  const form = `version:${viewForm(view)}`;
  return cache.get(snapshot, form, (s): CachedVersion => {
    const version = viewVersion(s, view);
    // The cache's key: `${namespace}/${name}@${version}#${form}`.
    const keyLength = s.namespace.length + s.name.length + s.version.length + form.length + 3;
    return { version, byteLength: 2 * keyLength + version.length + ENTRY_OVERHEAD_BYTES };
  }).version;
}
