// What a watch stream has told its caller, per service, so that a change the caller's view does not show (another
// zone's endpoints, for a caller in this one) is not sent as news. Without caller locality every change is news
// and nothing is remembered: the snapshot's own version already changes exactly when the answer does.
import type { ServiceChange } from '../store/subscription.ts';
import type { EncodedCache } from '../store/encoded-cache.ts';
import { cachedViewVersion } from './cached-view-version.ts';
import { viewHasOwnVersion, type ViewOptions } from './service-view.ts';

export interface SentViewVersions {
  /** The client holds `version` of service `id` already (a resume, `known` versions): the same is not news. */
  holds(id: string, version: string): void;
  /** Whether `change` shows the caller something it has not been sent; if so, it counts as sent from now on. */
  isNews(change: ServiceChange): boolean;
}

const EVERYTHING_IS_NEWS: SentViewVersions = { holds: () => {}, isNews: () => true };

export function sentViewVersions(cache: EncodedCache, view: ViewOptions): SentViewVersions {
  if (!viewHasOwnVersion(view)) return EVERYTHING_IS_NEWS;
  const sent = new Map<string, string>();
  return {
    holds: (id, version) => void sent.set(id, version),
    isNews: ({ id, current }) => {
      if (current === undefined) {
        sent.delete(id);
        return true;
      }
      const version = cachedViewVersion(cache, current, view);
      if (sent.get(id) === version) return false;
      sent.set(id, version);
      return true;
    },
  };
}
