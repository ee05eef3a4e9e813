// The gRPC statuses this front door answers with, built in one place so that every refusal says what to act on:
// which field and why (INVALID_ARGUMENT), which service (NOT_FOUND), and that another replica may answer
// (UNAVAILABLE).
import { status, type ServerErrorResponse } from '@grpc/grpc-js';
import type { ServiceKey } from '../../model.ts';

/** One thing wrong with a request: the field's path in the request (e.g. `services[2].name`) and why. */
export interface FieldProblem {
  readonly field: string;
  readonly reason: string;
}

/** An error grpc-js sends as the call's status (code and details). */
export class StatusError extends Error implements ServerErrorResponse {
  readonly code: status;
  readonly details: string;

  constructor(code: status, details: string) {
    super(details);
    this.name = 'StatusError';
    this.code = code;
    this.details = details;
  }
}

/**
 * INVALID_ARGUMENT naming the problems of the request at once, so a client fixes them in one go; `omitted` more
 * were found but are only counted (a bounded message, see src/limits/bounded-text.ts).
 */
export function invalidArgument(problems: readonly FieldProblem[], omitted = 0): StatusError {
  const listed = problems.map((p) => `${p.field}: ${p.reason}`).join('; ');
  return new StatusError(
    status.INVALID_ARGUMENT,
    omitted > 0 ? `${listed}; and ${omitted} more problems` : listed,
  );
}

export function serviceNotFound(key: ServiceKey): StatusError {
  return new StatusError(status.NOT_FOUND, `service ${key.namespace}/${key.name} is not known`);
}

export function notSyncedYet(): StatusError {
  return new StatusError(
    status.UNAVAILABLE,
    'endpointd has not finished its first sync yet; retry shortly or on another replica',
  );
}

export function shuttingDown(): StatusError {
  return new StatusError(status.UNAVAILABLE, 'endpointd is shutting down; reconnect to another replica');
}
