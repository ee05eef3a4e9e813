// Bearer-token authentication and RBAC-like authorisation: who may get/list/watch what, where.

import { forbidden, unauthorized } from './status.ts';
import type { Status } from './status.ts';
import type { ResourceInfo } from './resources.ts';
import type { TokenScope, Verb } from './types.ts';

export const DEFAULT_USER = 'system:serviceaccount:default:endpointd';

export function bearerToken(authorization: string | undefined): string | undefined {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
  return m?.[1];
}

/** Whether any request at all may pass (discovery endpoints need only authentication). */
export function authenticate(
  tokens: Readonly<Record<string, TokenScope>> | undefined,
  token: string | undefined,
): Status | undefined {
  if (tokens === undefined) return undefined;
  if (token === undefined || !Object.hasOwn(tokens, token)) return unauthorized();
  return undefined;
}

export function authorize(
  tokens: Readonly<Record<string, TokenScope>> | undefined,
  token: string | undefined,
  info: ResourceInfo,
  verb: Verb,
  namespace: string | undefined,
  name: string | undefined,
): Status | undefined {
  if (tokens === undefined) return undefined;
  const scope = token === undefined || !Object.hasOwn(tokens, token) ? undefined : tokens[token];
  if (scope === undefined) return unauthorized();
  const allowed =
    (scope.verbs === undefined || scope.verbs.includes(verb)) &&
    (scope.resources === undefined || scope.resources.includes(info.name)) &&
    (scope.namespaces === undefined || (namespace !== undefined && scope.namespaces.includes(namespace)));
  return allowed ? undefined : forbidden(info, verb, scope.user ?? DEFAULT_USER, namespace, name);
}
