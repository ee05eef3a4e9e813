// The file source's info lines about what a pass changed: files read and removed, Services added, changed and
// removed (names listed up to a bound), the objects of kinds it skipped in a file, and those a file defines twice.
import type { Logger } from 'pino';
import { serviceKeyString, type ServiceKey } from '../../model.ts';
import type { PublishSummary } from '../publish.ts';
import type { SkippedObject } from './manifest.ts';

/** How many names a "what changed" log line lists per kind of change. */
const LOGGED_NAMES = 20;

export function describeServices(summary: PublishSummary, served: number): Record<string, unknown> {
  const names = (keys: readonly ServiceKey[]): string[] => keys.slice(0, LOGGED_NAMES).map(serviceKeyString);
  return {
    added: summary.added.length,
    changed: summary.changed.length,
    removed: summary.removed.length,
    served,
    ...(summary.added.length > 0 ? { addedNames: names(summary.added) } : {}),
    ...(summary.changed.length > 0 ? { changedNames: names(summary.changed) } : {}),
    ...(summary.removed.length > 0 ? { removedNames: names(summary.removed) } : {}),
  };
}

export function logPass(
  logger: Logger,
  files: { readonly read: readonly string[]; readonly removed: readonly string[]; readonly served: number },
  services: Record<string, unknown>,
  first: boolean,
): void {
  const { read, removed, served } = files;
  logger.info(
    {
      files: {
        read: read.length,
        removed: removed.length,
        served,
        ...(read.length + removed.length <= LOGGED_NAMES ? { readNames: read, removedNames: removed } : {}),
      },
      services,
    },
    first ? 'manifests loaded' : 'manifests changed',
  );
}

export function logSkipped(logger: Logger, path: string, skipped: readonly SkippedObject[]): void {
  logger.info(
    {
      file: path,
      skippedCount: skipped.length,
      skipped: skipped
        .slice(0, LOGGED_NAMES)
        .map((s) => ({ kind: s.kind, document: s.document, at: s.path })),
    },
    'skipping objects of kinds endpointd does not serve',
  );
}

/**
 * Objects that two documents of one file define: a file that was concatenated twice, or an object pasted again
 * with changes. The last definition is served, as `kubectl apply -f` leaves the last one applied; said at warn,
 * since the earlier one was probably meant.
 */
export function logRepeated(logger: Logger, path: string, objects: readonly string[]): void {
  logger.warn(
    { file: path, objectCount: objects.length, objects: objects.slice(0, LOGGED_NAMES) },
    'objects defined in more than one document of this file: the last definition of each is served',
  );
}
