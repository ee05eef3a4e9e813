// metav1.Status bodies exactly as the apiserver writes them for each failure the fake can produce.

import { qualifiedResource } from './resources.ts';
import type { ResourceInfo } from './resources.ts';
import type { FaultStatus, Verb } from './types.ts';

export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  retryAfterSeconds?: number;
}

export interface Status {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never>;
  status: 'Failure';
  message: string;
  reason: string;
  details?: StatusDetails;
  code: number;
}

export function status(code: number, reason: string, message: string, details?: StatusDetails): Status {
  // Key order follows the apiserver's (details before code); it only matters to people reading logs.
  const head = {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message,
    reason,
  } as const;
  return details === undefined ? { ...head, code } : { ...head, details, code };
}

export function unauthorized(): Status {
  return status(401, 'Unauthorized', 'Unauthorized');
}

export function forbidden(
  info: ResourceInfo,
  verb: Verb,
  user: string,
  namespace: string | undefined,
  name: string | undefined,
): Status {
  const subject = name === undefined ? qualifiedResource(info) : `${qualifiedResource(info)} "${name}"`;
  const scope = namespace === undefined ? 'at the cluster scope' : `in the namespace "${namespace}"`;
  const message =
    `${subject} is forbidden: User "${user}" cannot ${verb} resource "${info.name}" ` +
    `in API group "${info.group}" ${scope}`;
  const details: StatusDetails = { group: info.group, kind: info.name };
  if (name !== undefined) details.name = name;
  return status(403, 'Forbidden', message, details);
}

export function notFound(info: ResourceInfo, name: string): Status {
  return status(404, 'NotFound', `${qualifiedResource(info)} "${name}" not found`, {
    name,
    group: info.group,
    kind: info.name,
  });
}

export function pathNotFound(): Status {
  return status(404, 'NotFound', 'the server could not find the requested resource', {});
}

export function methodNotAllowed(method: string): Status {
  return status(405, 'MethodNotAllowed', `the server does not allow this method on the requested resource`, {
    kind: method,
  });
}

export function badRequest(message: string): Status {
  return status(400, 'BadRequest', message);
}

export function tooOldResourceVersion(requested: number, oldest: number): Status {
  return status(410, 'Expired', `too old resource version: ${requested} (${oldest})`);
}

export function continueExpired(): Status {
  return status(
    410,
    'Expired',
    'The provided continue parameter is too old to display a consistent list result. You can start a new list ' +
      'without the continue parameter, or use the continue token in this response to retrieve the remainder of ' +
      'the results. Continuing with the provided token results in an inconsistent list - objects that were ' +
      'created, modified, or deleted between the time the first chunk was returned and now may show up in the list.',
  );
}

/** The body an injected `failNext` fault answers with. */
export function injected(
  code: FaultStatus,
  info: ResourceInfo,
  verb: Verb,
  namespace: string | undefined,
  name: string | undefined,
  retryAfterSeconds: number | undefined,
  floor: number,
): Status {
  switch (code) {
    case 401:
      return unauthorized();
    case 403:
      return forbidden(info, verb, 'system:anonymous', namespace, name);
    case 410:
      return verb === 'watch'
        ? tooOldResourceVersion(floor - 1, floor)
        : status(410, 'Expired', 'The resourceVersion for the provided list is too old.');
    case 429:
      return status(429, 'TooManyRequests', 'Too many requests, please try again later.', {
        retryAfterSeconds: retryAfterSeconds ?? 1,
      });
    case 500:
      return status(500, 'InternalError', 'Internal error occurred: injected by the fake apiserver', {});
    case 503:
      return status(503, 'ServiceUnavailable', 'the server is currently unable to handle the request', {});
    case 504:
      return status(
        504,
        'Timeout',
        'Timeout: request did not complete within the allotted timeout - context deadline exceeded',
        {},
      );
  }
}
