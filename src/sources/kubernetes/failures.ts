// What went wrong with a list or a watch, in the terms the reflector acts on: the kind of failure (which backoff
// policy applies), a description for people, and a signature that tells one failure from another (so that a
// failure repeated a thousand times is logged once, and a different one at once).
import type { FailureKind } from './backoff.ts';
import { KubeApiError, ResponseTooLargeError } from '../../kube/kube-client.ts';

/** The resourceVersion asked for is older than the server keeps: only a new list can continue. */
export class ExpiredError extends Error {}

/** A watch that sent nothing (no event, no bookmark) for too long: the connection is presumed dead. */
export class IdleTimeoutError extends Error {}

/** A list (all its pages) that took longer than its bound. */
export class ListTimeoutError extends Error {}

/** An ERROR event's Status: 410 means the resourceVersion expired; anything else is a failure to retry. */
export function statusError(object: unknown): Error {
  const status = (object ?? {}) as { code?: unknown; message?: unknown; reason?: unknown };
  const message = typeof status.message === 'string' ? status.message : 'watch ERROR event';
  if (status.code === 410 || status.reason === 'Expired' || status.reason === 'Gone')
    return new ExpiredError(message);
  return new KubeApiError(
    typeof status.code === 'number' ? status.code : 500,
    message,
    typeof status.reason === 'string' ? status.reason : undefined,
  );
}

/** 401/403 need a human or a new token; any other answer is the server's trouble; no answer is the network's. */
export function failureKind(error: unknown): FailureKind {
  // An answer too large to accept came from the server (or a proxy in front of it): its trouble, not the network's.
  if (error instanceof ResponseTooLargeError) return 'server';
  if (error instanceof KubeApiError) {
    if (error.status === 401 || error.status === 403) return 'auth';
    return 'server';
  }
  return 'network';
}

/** For people: the HTTP status and the Status message, or the error and its system cause (e.g. ECONNREFUSED). */
export function describeFailure(error: unknown): string {
  if (error instanceof KubeApiError) return `HTTP ${error.status}: ${error.message}`;
  if (error instanceof Error) {
    const detail = causeCode(error) ?? causeMessage(error) ?? '';
    return detail === '' ? error.message : `${error.message} (${detail})`;
  }
  return String(error);
}

/**
 * Two failures with the same signature are the same trouble going on: the HTTP status and reason, or the system
 * error code, or the error's class — never the message, which may carry changing numbers. A refusal (401/403) is
 * also told apart by the collection `path`: each collection needs its own RBAC rule, so each refusal is news.
 */
export function failureSignature(error: unknown, path: string): string {
  if (error instanceof KubeApiError) {
    const status = `HTTP ${error.status} ${error.reason ?? ''}`.trimEnd();
    return failureKind(error) === 'auth' ? `${status} ${path}` : status;
  }
  if (error instanceof Error) return causeCode(error) ?? `${error.name}: ${error.message}`;
  return String(error);
}

function causeCode(error: Error): string | undefined {
  const cause = (error as Error & { cause?: { code?: unknown } }).cause;
  return typeof cause?.code === 'string' ? cause.code : undefined;
}

function causeMessage(error: Error): string | undefined {
  const cause = (error as Error & { cause?: { message?: unknown } }).cause;
  return typeof cause?.message === 'string' ? cause.message : undefined;
}
