// What every Discovery handler needs from the rest of the process, and the one rule they share: answer only once
// the first sync is in and until shutdown begins; otherwise UNAVAILABLE, so that clients go to another replica.
import type { Readiness } from '../../observability/readiness.ts';
import type { StoreReader } from '../../store/faces.ts';
import { notSyncedYet, shuttingDown, type StatusError } from './errors.ts';
import type { DiscoveryCodec } from './messages.ts';

export interface DiscoveryContext {
  readonly store: StoreReader;
  readonly readiness: Readiness;
  readonly codec: DiscoveryCodec;
  /** At most this many services named in one Watch request. */
  readonly maxWatchedServices: number;
  /** True once this server's shutdown has begun (it may begin before the process's readiness says so). */
  closing(): boolean;
}

/** Why a call must not be answered now, or undefined when it may. */
export function unavailability(context: DiscoveryContext): StatusError | undefined {
  if (context.closing() || context.readiness.shuttingDown) return shuttingDown();
  if (!context.readiness.synced) return notSyncedYet();
  return undefined;
}
