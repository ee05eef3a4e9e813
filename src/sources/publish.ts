// How a source hands the Services a change touched to the store: assembled from their objects, filtered by the
// exposure policy, and written (or deleted) under the source's name. One path for every source, so that the policy
// and the conflict rules cannot differ between them.
import type { Logger } from 'pino';
import { serviceKeyString, type ServiceEndpoints, type ServiceKey } from '../model.ts';
import type { ExposurePolicy, ServiceMetadata } from '../policy/exposure.ts';
import type { StoreWriter } from '../store/faces.ts';
import type { ServiceAssembler } from './service-assembler.ts';

export interface PublishTarget {
  readonly store: StoreWriter;
  /** The source's name in the store (who defines the Service). */
  readonly source: string;
  readonly policy: ExposurePolicy;
  readonly logger: Logger;
}

/** What a publish changed in the store under the source's name (for a source's "what changed" log line). */
export interface PublishSummary {
  readonly added: ServiceKey[];
  readonly changed: ServiceKey[];
  readonly removed: ServiceKey[];
}

/**
 * The Service `key` as a source shows it: assembled from its objects (the conflicts found logged) and allowed by
 * the exposure policy; undefined when no object defines it any more or the policy hides it. publishServices writes
 * it to the store; a named cluster hands it to the cross-cluster merge instead.
 */
export function shownService(
  assembler: ServiceAssembler,
  key: ServiceKey,
  policy: ExposurePolicy,
  logger: Logger,
): { readonly service: ServiceEndpoints; readonly metadata: ServiceMetadata | undefined } | undefined {
  const { service, metadata, warnings } = assembler.assemble(key);
  for (const warning of warnings) logger.warn({ service: serviceKeyString(key) }, warning);
  return service === undefined || !policy.allows(key, metadata) ? undefined : { service, metadata };
}

export function publishServices(
  target: PublishTarget,
  assembler: ServiceAssembler,
  touched: Iterable<ServiceKey>,
): PublishSummary {
  const summary: PublishSummary = { added: [], changed: [], removed: [] };
  for (const key of touched) {
    const shown = shownService(assembler, key, target.policy, target.logger);
    if (shown === undefined) {
      if (target.store.delete(target.source, key)) summary.removed.push(key);
      continue;
    }
    const result = target.store.upsert(target.source, shown.service);
    if (result === 'created') summary.added.push(key);
    else if (result === 'updated') summary.changed.push(key);
  }
  return summary;
}
