// The store's two faces: what a source may do to it (write its own definitions of Services) and what a front door
// may do with it (read snapshots, subscribe to changes, share encoded forms). The composition root hands the one
// EndpointStore to both as these narrow types, so that data flows one way: a source cannot read what doors see, a
// door cannot write, and neither depends on how the store is built (eslint.config.js keeps it so).
import type { ServiceEndpoints, ServiceKey, ServiceSnapshot } from '../model.ts';
import type { EncodedCache } from './encoded-cache.ts';
import type { Subscription, SubscriptionScope } from './subscription.ts';

export type { EncodedCache } from './encoded-cache.ts';
export type { ServiceChange, Subscription, SubscriptionScope } from './subscription.ts';

/**
 * What the store did with an upsert: 'unchanged' when the content (hence the version) is the one already held, so
 * nobody was notified; 'shadowed' when another source defines the Service first and keeps serving it.
 */
export type UpsertResult = 'created' | 'updated' | 'unchanged' | 'shadowed';

/** The face a source gets: it writes and removes its own definitions, under its own name, and nothing else. */
export interface StoreWriter {
  /** Sets `source`'s definition of a service. */
  upsert(source: string, service: ServiceEndpoints): UpsertResult;
  /** Removes `source`'s definition; another source's definition of the same service, if any, takes over. False
   * when `source` had none. */
  delete(source: string, key: ServiceKey): boolean;
}

/** The face a front door gets: immutable, versioned snapshots, change notifications, and the encoded-form cache. */
export interface StoreReader {
  /** Encoded forms per (service, version, form), shared by every door and subscriber. */
  readonly encoded: EncodedCache;
  get(key: ServiceKey): ServiceSnapshot | undefined;
  /** Every service (of one namespace when given), sorted by namespace then name. */
  list(namespace?: string): ServiceSnapshot[];
  /**
   * Registers a subscriber. It is told of changes only; a consumer that needs the current state first reads it
   * with get()/list() right after subscribing (both are synchronous, so nothing can slip in between).
   */
  subscribe(scope: SubscriptionScope, onPending: () => void): Subscription;
}
