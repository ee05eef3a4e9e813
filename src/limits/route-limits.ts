// Which limits a REST request is subject to, decided by the route that handles it — never by the spelling of its
// path or query. The router (case-sensitive, strict) picks the handler; the handler names its kind and asks for
// its limits before doing anything, and asks for a stream slot at the moment it starts holding the request open.
// A request thus cannot reach a handler by a spelling the limits do not count.
import type { Request, Response } from 'express';

/** What a REST handler is, as far as limits go. */
export type RouteKind =
  | 'list'
  | 'lookup'
  | 'watch'
  | 'xds-bootstrap'
  | 'health'
  | 'metrics'
  /** The 404 answer: a request no route took still costs its client a token. */
  | 'unmatched';

/** Held requests: they occupy a stream slot from the moment they start waiting until they end. */
export type StreamKind = 'watch' | 'long-poll';

/** The lookup rate limit applies to these; health and metrics stay out of it (probes and scrapers). */
export const RATE_LIMITED_KINDS: ReadonlySet<RouteKind> = new Set([
  'list',
  'lookup',
  'watch',
  'xds-bootstrap',
  'unmatched',
]);

/** The limits of the REST door as its handlers see them. Each refusal has been answered when false is returned. */
export interface RouteLimits {
  /** Once per request, by the handler of `kind`, before anything else. */
  request(kind: RouteKind, req: Request, res: Response): boolean;
  /** When a handler starts holding the request open (a watch stream, a long-poll that waits); freed on close. */
  stream(kind: StreamKind, req: Request, res: Response): boolean;
}

/** No limits (the REST door without a gate, e.g. in tests of the API alone). */
export const NO_ROUTE_LIMITS: RouteLimits = { request: () => true, stream: () => true };
