/// <reference lib="dom" />
// The dashboard in a real browser (Debian's chromium through playwright-core) against a real endpointd on
// loopback serving a temp directory of manifests: it lists services, follows edits of the watched files live
// without a reload, shows a broken file as a source error, respects authentication and the exposure policy, works
// on a phone-sized screen, and works from another origin through CORS, resuming its streams with Last-Event-ID.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import express from 'express';
import type { Page } from 'playwright-core';
import { DASHBOARD_DIR } from '../src/api/ui/route.ts';
import { launchBrowser, type TestBrowser } from './support/browser.ts';
import { sliceManifest, startTestEndpointd, TEST_CONFIG, type TestEndpointd } from './support/endpointd.ts';
import { startTcpProxy, type TcpProxy } from './support/tcp-proxy.ts';

/** Set to a directory to (re)take the README's screenshots there: `npm run screenshots`. */
const SCREENSHOTS = process.env.ENDPOINTD_SCREENSHOTS_DIR;

const FILES = {
  'shop/web.yaml': sliceManifest('shop', 'web', ['10.0.0.1', '10.0.0.2'], {
    notReady: ['10.0.0.3'],
    terminating: ['10.0.0.4'],
  }),
  'shop/cart.yaml': sliceManifest('shop', 'cart', ['10.0.1.1']),
  'billing/api.yaml': sliceManifest('billing', 'api', ['10.0.2.1', '10.0.2.2']),
  'billing/ledger.yaml': sliceManifest('billing', 'ledger', []),
  'secret/vault.yaml': sliceManifest('vault', 'keys', ['10.9.9.9']),
};

/** Text of the service row's cell of the given column, e.g. cellText(page, 'shop/web', 'endpoints'). */
async function cellText(page: Page, service: string, column: string): Promise<string> {
  return page.locator(`#services tr[data-service="${service}"] td.${column}`).innerText();
}

async function waitForCell(page: Page, service: string, column: string, text: string): Promise<void> {
  await page.waitForFunction(
    ([s, c, t]) => document.querySelector(`#services tr[data-service="${s}"] td.${c}`)?.textContent === t,
    [service, column, text] as const,
    { timeout: 5000 },
  );
}

/** Marks the page's JavaScript world: the mark survives only if the page was not reloaded. */
async function markPage(page: Page): Promise<void> {
  await page.evaluate(() => {
    (window as unknown as { notReloaded: boolean }).notReloaded = true;
  });
}

async function stillSamePage(page: Page): Promise<boolean> {
  return page.evaluate(() => (window as unknown as { notReloaded?: boolean }).notReloaded === true);
}

describe('dashboard in a browser, same origin', () => {
  let t: TestEndpointd;
  let browser: TestBrowser;

  before(async () => {
    t = await startTestEndpointd(FILES, {
      exposure: { ...TEST_CONFIG.exposure, hideNamespaces: ['vault'] },
    });
    browser = await launchBrowser();
  });
  after(async () => {
    await browser.close();
    await t.stop();
  });

  it('lists the visible services with their endpoint counts and the source as healthy, fetching nothing from elsewhere', async () => {
    const page = await browser.context.newPage();
    const requested: string[] = [];
    page.on('request', (request) => requested.push(request.url()));
    await page.goto(`${t.url}/`); // `/` sends the browser to /ui/
    assert.equal(new URL(page.url()).pathname, '/ui/');
    await page.waitForSelector('#services tbody tr');
    await page.waitForSelector('#connection[data-state="live"]');
    const rows = await page
      .locator('#services tbody tr')
      .evaluateAll((trs) => trs.map((tr) => (tr as HTMLElement).dataset.service));
    // vault/keys is hidden by the exposure policy: the page only knows what the public API says.
    assert.deepEqual(rows, ['billing/api', 'billing/ledger', 'shop/cart', 'shop/web']);
    assert.equal(await cellText(page, 'shop/web', 'endpoints'), '4');
    assert.equal(await cellText(page, 'shop/web', 'ready'), '2');
    assert.equal(await cellText(page, 'billing/ledger', 'endpoints'), '0');
    await page.waitForSelector(`.source[data-health="ok"]`);
    assert.match(await page.locator('#sources').innerText(), /file:.*ok/);
    for (const url of requested) assert.equal(new URL(url).origin, t.url, `only its own origin: ${url}`);
    if (SCREENSHOTS !== undefined) {
      await mkdir(SCREENSHOTS, { recursive: true });
      await page.screenshot({ path: join(SCREENSHOTS, 'dashboard.png') });
    }
    await page.close();
  });

  it('filters by namespace and by name', async () => {
    const page = await browser.context.newPage();
    await page.goto(`${t.url}/ui/`);
    await page.waitForSelector('#services tbody tr');
    const shown = (): Promise<string[]> =>
      page
        .locator('#services tbody tr')
        .evaluateAll((trs) => trs.map((tr) => (tr as HTMLElement).dataset.service ?? ''));
    await page.selectOption('#namespace', 'billing');
    await page.waitForFunction(() => document.querySelectorAll('#services tbody tr').length === 2);
    assert.deepEqual(await shown(), ['billing/api', 'billing/ledger']);
    await page.fill('#name', 'LED');
    await page.waitForFunction(() => document.querySelectorAll('#services tbody tr').length === 1);
    assert.deepEqual(await shown(), ['billing/ledger']);
    await page.selectOption('#namespace', '');
    await page.fill('#name', 'a');
    await page.waitForFunction(() => document.querySelectorAll('#services tbody tr').length === 2);
    assert.deepEqual(await shown(), ['billing/api', 'shop/cart']);
    await page.fill('#name', 'nothing-like-this');
    await page.waitForSelector('#empty:not([hidden])');
    await page.close();
  });

  it('shows an edit of a watched file without a reload, on the list and on the service page', async (context) => {
    const page = await browser.context.newPage();
    await page.goto(`${t.url}/ui/`);
    await page.waitForSelector('#connection[data-state="live"]');
    await markPage(page);
    let started = Date.now();
    await t.write('shop/cart.yaml', sliceManifest('shop', 'cart', ['10.0.1.1', '10.0.1.2', '10.0.1.3']));
    await waitForCell(page, 'shop/cart', 'endpoints', '3');
    const listMs = Date.now() - started;

    await page.click('#services tr[data-service="shop/cart"]');
    await page.waitForSelector('#endpoints tbody tr[data-address="10.0.1.3"]');
    started = Date.now();
    await t.write(
      'shop/cart.yaml',
      sliceManifest('shop', 'cart', ['10.0.1.1'], { notReady: ['10.0.1.2'], terminating: ['10.0.1.4'] }),
    );
    await page.waitForSelector('#endpoints tbody tr[data-address="10.0.1.4"]');
    const detailMs = Date.now() - started;
    assert.ok(await stillSamePage(page), 'the page was not reloaded');
    // One service's endpoints with their conditions, zone, node and ports.
    const row = (address: string): Promise<string> =>
      page.locator(`#endpoints tr[data-address="${address}"]`).innerText();
    assert.match(
      await row('10.0.1.1'),
      /ready[\s\S]*serving[\s\S]*zone-a[\s\S]*node-1[\s\S]*http 8080, metrics 9100/,
    );
    assert.match(await row('10.0.1.2'), /not ready[\s\S]*not serving/);
    assert.match(await row('10.0.1.4'), /not ready[\s\S]*serving[\s\S]*terminating/);
    assert.equal(await page.locator('#endpoints tbody tr').count(), 3);
    assert.equal(await page.locator('#endpoints tr[data-address="10.0.1.3"]').count(), 0);
    // The issue asks for changes within a second, from the file's write to the page (file watcher, store, SSE
    // stream, rendering); the measured times are printed.
    context.diagnostic(`edit to page: list ${listMs} ms, service page ${detailMs} ms`);
    assert.ok(listMs < 1000 && detailMs < 1000, `list ${listMs} ms, service page ${detailMs} ms`);
    if (SCREENSHOTS !== undefined)
      await page.screenshot({ path: join(SCREENSHOTS, 'dashboard-service.png') });

    await t.remove('shop/cart.yaml');
    await page.waitForFunction(() =>
      /deleted/.test(document.getElementById('detail-status')?.textContent ?? ''),
    );
    await page.click('text=all services');
    await page.waitForFunction(
      () => document.querySelector('#services tr[data-service="shop/cart"]') === null,
    );
    assert.ok(await stillSamePage(page), 'still not reloaded');
    await page.close();
  });

  it('shows a broken file as a source error, keeps the last good state, and clears the error when fixed', async () => {
    const page = await browser.context.newPage();
    await page.goto(`${t.url}/ui/`);
    await page.waitForSelector('.source[data-health="ok"]');
    await markPage(page);
    await t.write('shop/web.yaml', 'kind: EndpointSlice\nendpoints: [unclosed\n');
    await page.waitForSelector('.source[data-health="error"]', { timeout: 10_000 });
    assert.match(await page.locator('.source .error').innerText(), /web\.yaml/);
    assert.equal(await cellText(page, 'shop/web', 'endpoints'), '4', 'the last good state is still shown');
    await t.write('shop/web.yaml', FILES['shop/web.yaml']);
    await page.waitForSelector('.source[data-health="ok"]', { timeout: 10_000 });
    assert.ok(await stillSamePage(page));
    await page.close();
  });

  it('on a phone-sized screen shows rows as cards, with nothing wider than the screen', async () => {
    const page = await browser.context.newPage();
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${t.url}/ui/#/services/shop/web`);
    await page.waitForSelector('#endpoints tbody tr');
    assert.equal(await page.locator('#endpoints thead').isVisible(), false, 'no table header on a phone');
    const widths = await page.evaluate(() => ({
      page: document.documentElement.scrollWidth,
      screen: window.innerWidth,
    }));
    assert.ok(widths.page <= widths.screen, `page ${widths.page}px on a ${widths.screen}px screen`);
    // Each card's cells say which column they are.
    const labels = await page
      .locator('#endpoints tbody tr')
      .first()
      .locator('td')
      .evaluateAll((tds) => tds.map((td) => getComputedStyle(td, '::before').content));
    assert.deepEqual(labels, ['"Address"', '"Conditions"', '"Zone"', '"Node"', '"Ports"', '"Target"']);
    if (SCREENSHOTS !== undefined) await page.screenshot({ path: join(SCREENSHOTS, 'dashboard-phone.png') });
    await page.goto(`${t.url}/ui/#/services/vault/keys`);
    await page.waitForFunction(() =>
      /not known/.test(document.getElementById('detail-status')?.textContent ?? ''),
    );
    await page.close();
  });
});

describe('dashboard in a browser, with authentication', () => {
  let t: TestEndpointd;
  let browser: TestBrowser;
  let dir: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'endpointd-ui-auth-'));
    const tokensFile = join(dir, 'tokens');
    await writeFile(tokensFile, 'ui-token,dashboard\n');
    t = await startTestEndpointd(FILES, {
      security: { ...TEST_CONFIG.security, auth: { ...TEST_CONFIG.security.auth, tokensFile } },
    });
    browser = await launchBrowser();
  });
  after(async () => {
    await browser.close();
    await t.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('asks for a token, refuses a wrong one, keeps the right one for the tab only, and sends it as a bearer header', async () => {
    const page = await browser.context.newPage();
    const authorizations = new Set<string>();
    page.on('request', (request) => {
      const header = request.headers().authorization;
      if (header !== undefined && request.url().includes('/v1/')) authorizations.add(header);
    });
    await page.goto(`${t.url}/ui/`);
    await page.waitForSelector('#token-form:not([hidden])');
    await page.waitForSelector('#connection[data-state="unauthorized"]');
    assert.equal(await page.locator('#services tbody tr').count(), 0);

    await page.fill('#token', 'wrong-token');
    await page.click('#token-form button');
    await page.waitForSelector('#token-error:not([hidden])');
    assert.match(await page.locator('#token-error').innerText(), /refused/);

    await page.fill('#token', 'ui-token');
    await page.click('#token-form button');
    await page.waitForSelector('#connection[data-state="live"]');
    await page.waitForSelector('#services tr[data-service="shop/web"]');
    assert.ok(authorizations.has('Bearer ui-token'));
    const stored = await page.evaluate(() => ({
      session: sessionStorage.getItem('endpointd.token'),
      local: localStorage.length,
    }));
    assert.deepEqual(stored, { session: 'ui-token', local: 0 });

    await page.reload(); // the tab keeps its token
    await page.waitForSelector('#services tr[data-service="shop/web"]');
    assert.equal(await page.locator('#token-form').isHidden(), true);
    await page.click('#forget-token');
    await page.waitForSelector('#token-form:not([hidden])');
    await page.close();
  });
});

describe('dashboard in a browser, from another origin (CORS)', () => {
  let t: TestEndpointd;
  let proxy: TcpProxy;
  let pages: Server;
  let pageOrigin: string;
  let browser: TestBrowser;

  before(async () => {
    // The dashboard's files served by some other web server, on another loopback port: another origin.
    pages = express().use(express.static(DASHBOARD_DIR)).listen(0, '127.0.0.1');
    await once(pages, 'listening');
    pageOrigin = `http://127.0.0.1:${(pages.address() as AddressInfo).port}`;
    t = await startTestEndpointd(FILES, { cors: { allowOrigins: [pageOrigin] } });
    // The browser reaches endpointd through a proxy that can cut its connections, as a network blip would.
    proxy = await startTcpProxy(t.endpointd.httpAddress.port);
    browser = await launchBrowser();
  });
  after(async () => {
    await browser.close();
    await proxy.close();
    await t.stop();
    await new Promise<void>((resolve) => pages.close(() => resolve()));
  });

  const api = (): string => `http://127.0.0.1:${proxy.port}`;

  it('reads the API across origins and, after a cut connection, resumes the service stream with Last-Event-ID', async () => {
    const page = await browser.context.newPage();
    await page.goto(`${pageOrigin}/index.html?api=${encodeURIComponent(api())}#/services/shop/web`);
    await page.waitForSelector('#endpoints tbody tr[data-address="10.0.0.1"]');
    await page.waitForSelector('#detail-view[data-synced="true"]');
    await markPage(page);
    const version = await page.evaluate(
      () => /version (\S+)/.exec(document.getElementById('detail-status')?.textContent ?? '')?.[1],
    );
    assert.ok(version);
    const seenBefore = proxy.requests.length;

    proxy.cutAll();
    await page.waitForSelector('#detail-view[data-resumed="true"][data-synced="true"]', { timeout: 10_000 });
    const resumed = proxy.requests
      .slice(seenBefore)
      .filter((head) => head.startsWith('GET /v1/namespaces/shop/services/web/watch'));
    assert.ok(resumed.length > 0, 'the stream was reopened');
    assert.match(resumed[0] ?? '', new RegExp(`\\r\\nlast-event-id: ${version}\\r\\n`, 'i'));
    // Last-Event-ID is not a CORS-safelisted header: the browser asked first, and was allowed.
    assert.ok(
      proxy.requests.some((head) => head.startsWith('OPTIONS /v1/namespaces/shop/services/web/watch')),
      'a preflight was sent',
    );

    await t.write('shop/web.yaml', sliceManifest('shop', 'web', ['10.0.0.1', '10.0.0.7']));
    await page.waitForSelector('#endpoints tbody tr[data-address="10.0.0.7"]');
    assert.ok(await stillSamePage(page));
    await t.write('shop/web.yaml', FILES['shop/web.yaml']);
    await page.close();
  });

  it("lets the browser's own EventSource resume across origins: after a cut it is sent only SYNCED, then changes", async () => {
    const page = await browser.context.newPage();
    await page.goto(`${pageOrigin}/index.html?api=${encodeURIComponent(api())}`);
    await page.evaluate((base) => {
      const events: string[] = [];
      (window as unknown as { events: string[] }).events = events;
      const source = new EventSource(`${base}/v1/namespaces/shop/services/cart/watch`);
      source.onmessage = (m: MessageEvent<string>) =>
        events.push(`${(JSON.parse(m.data) as { type: string }).type} ${m.lastEventId}`);
      source.onerror = () => events.push('error');
    }, api());
    const events = (): Promise<string[]> =>
      page.evaluate(() => (window as unknown as { events: string[] }).events);
    await page.waitForFunction(() => (window as unknown as { events: string[] }).events.length >= 2);
    const [added, synced] = await events();
    assert.match(added ?? '', /^ADDED \S+$/);
    const version = (added ?? '').split(' ')[1];
    assert.equal(synced, `SYNCED ${version}`);

    proxy.cutAll();
    // EventSource reconnects by itself (after ~3 s) and sends Last-Event-ID: the state it has is not resent.
    await page.waitForFunction(
      () => (window as unknown as { events: string[] }).events.length >= 4,
      undefined,
      {
        timeout: 15_000,
      },
    );
    assert.deepEqual((await events()).slice(2, 4), ['error', `SYNCED ${version}`]);
    // A change after the resume arrives (and is the marker that nothing else came in between).
    await t.write('shop/cart.yaml', sliceManifest('shop', 'cart', ['10.0.1.9']));
    await page.waitForFunction(() => (window as unknown as { events: string[] }).events.length >= 5);
    assert.match((await events())[4] ?? '', /^MODIFIED \S+$/);
    await page.close();
  });

  it('is refused by a browser when its origin is not allowed', async () => {
    const other = await startTestEndpointd(FILES); // no --cors-allow-origin
    try {
      const page = await browser.context.newPage();
      await page.goto(`${pageOrigin}/index.html?api=${encodeURIComponent(other.url)}`);
      const outcome = await page.evaluate(async (base) => {
        try {
          await fetch(`${base}/v1/services`);
          return 'read';
        } catch (error) {
          return (error as Error).name;
        }
      }, other.url);
      assert.equal(outcome, 'TypeError', 'the browser kept the answer from the page');
      await page.close();
    } finally {
      await other.stop();
    }
  });
});
