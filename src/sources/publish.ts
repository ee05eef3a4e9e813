// How a source hands the Services a change touched to the store: assembled from their objects, filtered by the
// exposure policy, and written (or deleted) under the source's name. One path for every source, so that the policy
// and the conflict rules cannot differ between them.
import type { Logger } from 'pino';
import { serviceKeyString, type ServiceKey } from '../model.ts';
import type { ExposurePolicy } from '../policy/exposure.ts';
import type { EndpointStore } from '../store/endpoint-store.ts';
import type { ServiceAssembler } from './service-assembler.ts';

export interface PublishTarget {
  readonly store: EndpointStore;
  /** The source's name in the store (who defines the Service). */
  readonly source: string;
  readonly policy: ExposurePolicy;
  readonly logger: Logger;
}

export function publishServices(
  target: PublishTarget,
  assembler: ServiceAssembler,
  touched: Iterable<ServiceKey>,
): void {
  for (const key of touched) {
    const { service, metadata, warnings } = assembler.assemble(key);
    for (const warning of warnings) target.logger.warn({ service: serviceKeyString(key) }, warning);
    if (service === undefined || !target.policy.allows(key, metadata))
      target.store.delete(target.source, key);
    else target.store.upsert(target.source, service);
  }
}
