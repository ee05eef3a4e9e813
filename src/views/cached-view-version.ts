// The version a caller's answer carries (src/views/service-view.ts viewVersion), taken through the store's
// encoded-form cache: without caller locality it is the snapshot's own and costs nothing; with it, it costs a
// view, made once per (service, version, view) for every door that compares or sends it.
import type { ServiceSnapshot } from '../model.ts';
import type { EncodedCache } from '../store/encoded-cache.ts';
import { viewForm, viewHasOwnVersion, viewVersion, type ViewOptions } from './service-view.ts';

interface CachedVersion {
  readonly version: string;
  readonly byteLength: number;
}

export function cachedViewVersion(cache: EncodedCache, snapshot: ServiceSnapshot, view: ViewOptions): string {
  if (!viewHasOwnVersion(view)) return snapshot.version;
  const form = `version:${viewForm(view)}`;
  // The version as a string with its length (the cache counts the key and bookkeeping beside it), not a Buffer:
  // a Buffer's own overhead would be several times the 16 characters.
  return cache.get(snapshot, form, (s): CachedVersion => {
    const version = viewVersion(s, view);
    return { version, byteLength: version.length };
  }).version;
}
