// Serves the dashboard's static files (src/api/ui/static/, copied to dist/ by the build) at /ui/, and sends `/` there.
// The files are public: they hold no data. What the page then asks the API passes the security gate as any client.
import express, { type Router } from 'express';
import { fileURLToPath } from 'node:url';

/** The dashboard's files: the same relative place in the source tree and in dist/. */
export const DASHBOARD_DIR = fileURLToPath(new URL('./static/', import.meta.url));

/**
 * The page may only talk to its own origin: a link such as `/ui/?api=https://elsewhere` must not make it send the
 * token a user types to another server. (A copy hosted elsewhere and pointed at endpointd uses CORS instead.)
 */
const CONTENT_SECURITY_POLICY =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

export function createDashboardRouter(): Router {
  const router = express.Router({ caseSensitive: true, strict: true });
  router.get('/', (_req, res) => res.redirect(302, '/ui/'));
  router.get('/ui', (_req, res) => res.redirect(301, '/ui/'));
  router.use(
    '/ui/',
    express.static(DASHBOARD_DIR, {
      index: 'index.html',
      redirect: false,
      dotfiles: 'ignore',
      // Revalidate every time: a new endpointd version must not leave an old page in browsers' caches.
      cacheControl: true,
      maxAge: 0,
      setHeaders: (res) => {
        res.setHeader('Content-Security-Policy', CONTENT_SECURITY_POLICY);
        res.setHeader('X-Content-Type-Options', 'nosniff');
        res.setHeader('Referrer-Policy', 'no-referrer');
      },
    }),
  );
  return router;
}
