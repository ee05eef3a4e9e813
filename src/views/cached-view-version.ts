// The version a caller's answer carries (src/views/service-view.ts viewVersion), taken through the store's
// encoded-form cache: without caller locality it is the snapshot's own and costs nothing; with it, it costs a
// view, made once per (service, version, view) for every door that compares or sends it.
import type { ServiceSnapshot } from '../model.ts';
import type { EncodedCache } from '../store/encoded-cache.ts';
import { viewForm, viewHasOwnVersion, viewVersion, type ViewOptions } from './service-view.ts';

export function cachedViewVersion(cache: EncodedCache, snapshot: ServiceSnapshot, view: ViewOptions): string {
  if (!viewHasOwnVersion(view)) return snapshot.version;
  return cache
    .get(snapshot, `version:${viewForm(view)}`, (s) => Buffer.from(viewVersion(s, view)))
    .toString();
}
