// Cross-origin access for browsers (CORS): which page origins may call the REST API, and the answers to their
// preflight requests. Mounted before authentication, because browsers send preflights without credentials; the
// actual requests that follow still pass the security gate like any other.
import type { RequestHandler } from 'express';
import { HttpProblem, sendProblem } from './problem.ts';

export interface CorsOptions {
  /**
   * Exact origins (`https://dash.example.com:8443`) allowed to read answers, or the single entry `*` for any
   * origin. Empty: no cross-origin access (preflights are refused with a 403 that says how to allow them).
   */
  readonly allowOrigins: readonly string[];
}

/**
 * Request headers a page may send: the bearer token, resuming a stream, conditional lookups, and the Accept that
 * picks SSE. (Accept alone is CORS-safelisted only for short, plain values.)
 */
const ALLOWED_HEADERS = 'Authorization, Last-Event-ID, If-None-Match, Accept, Cache-Control';
/** Response headers a page may read beyond the safelisted ones. */
const EXPOSED_HEADERS = 'ETag, Retry-After, WWW-Authenticate';
const ALLOWED_METHODS = 'GET, HEAD, OPTIONS';
/** How long a browser may reuse a preflight's answer, in seconds (Chromium caps this at 2 hours). */
const PREFLIGHT_MAX_AGE_S = 600;

/**
 * What is wrong with one `--cors-allow-origin` value, or undefined when it is usable: an origin is exactly
 * `scheme://host[:port]` as browsers send it (lower-case, no path, no trailing slash, default port left out).
 */
export function corsOriginProblem(text: string, all: readonly string[]): string | undefined {
  if (text === '*') {
    return all.length > 1
      ? 'is * together with other origins: give either * or a list of origins'
      : undefined;
  }
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return 'must be an origin such as https://dash.example.com or http://localhost:3000';
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return 'must be an http: or https: origin';
  if (url.origin !== text) {
    return `must be exactly an origin as a browser sends it (${url.origin}): no path, no trailing slash, lower-case, no default port`;
  }
  return undefined;
}

export function corsMiddleware(options: CorsOptions): RequestHandler {
  const anyOrigin = options.allowOrigins.includes('*');
  const allowed = new Set(options.allowOrigins);
  return (req, res, next) => {
    const origin = req.get('Origin');
    if (origin === undefined) return next(); // not a cross-origin request from a browser
    const preflight = req.method === 'OPTIONS' && req.get('Access-Control-Request-Method') !== undefined;
    // The answer depends on Origin whenever the allowed origin is echoed: caches must keep them apart.
    if (!anyOrigin) res.vary('Origin');
    const permitted = anyOrigin || allowed.has(origin);
    if (!permitted) {
      if (!preflight) return next(); // answered without CORS headers: the browser keeps it from the page
      sendProblem(
        res,
        new HttpProblem(
          403,
          'Forbidden',
          allowed.size === 0
            ? `cross-origin requests are not allowed; start endpointd with --cors-allow-origin ${origin}`
            : `origin ${origin} is not one of --cors-allow-origin`,
        ),
      );
      return;
    }
    if (anyOrigin) {
      // `*` is for tokens the page sends itself; ambient credentials (cookies, client certificates) need a list.
      res.setHeader('Access-Control-Allow-Origin', '*');
    } else {
      res.setHeader('Access-Control-Allow-Origin', origin);
      res.setHeader('Access-Control-Allow-Credentials', 'true');
    }
    if (!preflight) {
      res.setHeader('Access-Control-Expose-Headers', EXPOSED_HEADERS);
      return next();
    }
    res.setHeader('Access-Control-Allow-Methods', ALLOWED_METHODS);
    res.setHeader('Access-Control-Allow-Headers', ALLOWED_HEADERS);
    res.setHeader('Access-Control-Max-Age', String(PREFLIGHT_MAX_AGE_S));
    res.status(204).end();
  };
}
