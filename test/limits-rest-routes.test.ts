// The REST limits follow the handler a request reaches, whatever its spelling: attacked from outside with case
// variants, percent-encoded path characters and query keys, trailing and double slashes, `;` parameters,
// duplicate keys and HEAD for GET. Property: every request that reaches a handler is counted by exactly the
// limits of that handler's kind — one rate-limit token for the /v1 kinds and the 404, none for health and
// metrics; one stream slot while it is held open (watch, waiting long-poll), none otherwise.
import assert from 'node:assert/strict';
import { request, type IncomingMessage } from 'node:http';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import type { LimitsConfig } from '../src/security/guards.ts';
import { eventually } from './support/http.ts';
import { sliceManifest, startTestEndpointd, TEST_CONFIG, type TestEndpointd } from './support/endpointd.ts';

const WEB = sliceManifest('demo', 'web', ['10.0.0.1']);

function withLimits(limits: Partial<LimitsConfig>): Partial<typeof TEST_CONFIG> {
  return { limits: { ...TEST_CONFIG.limits, ...limits } };
}

/** A request as sent: raw path and query (no normalisation by any client library), and its method. */
interface Spelling {
  readonly method: 'GET' | 'HEAD';
  readonly path: string;
}

interface Sent {
  /** The response head, once it arrived. */
  readonly head: () => IncomingMessage | undefined;
  readonly done: Promise<void>;
  close(): void;
}

/** Sends `spelling` from `localAddress` on a connection of its own. */
function send(port: number, spelling: Spelling, localAddress: string): Sent {
  let head: IncomingMessage | undefined;
  let settle = (): void => {};
  const done = new Promise<void>((resolve) => (settle = resolve));
  const req = request(
    { host: '127.0.0.1', port, method: spelling.method, path: spelling.path, localAddress, agent: false },
    (res) => {
      head = res;
      res.resume();
      res.on('end', settle);
      res.on('close', settle);
    },
  );
  req.on('error', settle);
  req.end();
  return { head: () => head, done, close: () => req.destroy() };
}

async function statusOf(port: number, path: string, localAddress: string): Promise<number> {
  const sent = send(port, { method: 'GET', path }, localAddress);
  await eventually(() => sent.head(), 10_000);
  const status = sent.head()?.statusCode ?? 0;
  sent.close();
  return status;
}

/** The REST door's open streams and waiting long-polls, as its metrics say. */
async function heldNow(port: number): Promise<number> {
  const text = await new Promise<string>((resolve, reject) => {
    request({ host: '127.0.0.1', port, path: '/metrics', localAddress: '127.0.0.1', agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve(body));
    })
      .on('error', reject)
      .end();
  });
  return Number(/^endpointd_subscribers\{door="rest"\} (\d+)/m.exec(text)?.[1] ?? 0);
}

// --- spellings ---

const percent = (c: string, upper: boolean): string => {
  const hex = c.charCodeAt(0).toString(16).padStart(2, '0');
  return `%${upper ? hex.toUpperCase() : hex}`;
};

type PathMutation =
  | { readonly kind: 'upper'; readonly at: number }
  | { readonly kind: 'encode'; readonly at: number; readonly upperHex: boolean }
  | { readonly kind: 'trailing-slash' }
  | { readonly kind: 'double-slash'; readonly at: number }
  | { readonly kind: 'matrix'; readonly at: number }
  | { readonly kind: 'encode-slash'; readonly at: number };

type QueryMutation =
  | { readonly kind: 'encode-key'; readonly at: number; readonly upperHex: boolean }
  | { readonly kind: 'upper-key'; readonly at: number }
  | { readonly kind: 'duplicate'; readonly at: number }
  | { readonly kind: 'empty-pair' }
  | { readonly kind: 'unknown' }
  | { readonly kind: 'plus-value'; readonly at: number };

function mutatePath(path: string, m: PathMutation): string {
  const pick = (at: number, ok: (c: string, i: number) => boolean): number => {
    const candidates = [...path].map((c, i) => (ok(c, i) ? i : -1)).filter((i) => i >= 0);
    return candidates.length === 0 ? -1 : (candidates[at % candidates.length] ?? -1);
  };
  switch (m.kind) {
    case 'upper': {
      const i = pick(m.at, (c) => /[a-z]/.test(c));
      return i < 0 ? path : path.slice(0, i) + (path[i] ?? '').toUpperCase() + path.slice(i + 1);
    }
    case 'encode': {
      const i = pick(m.at, (c) => /[a-z0-9-]/.test(c));
      return i < 0 ? path : path.slice(0, i) + percent(path[i] ?? '', m.upperHex) + path.slice(i + 1);
    }
    case 'trailing-slash':
      return `${path}/`;
    case 'double-slash': {
      const i = pick(m.at, (c) => c === '/');
      return i < 0 ? path : `${path.slice(0, i)}/${path.slice(i)}`;
    }
    case 'matrix': {
      const i = pick(m.at, (c, j) => c === '/' && j > 0);
      return i < 0 ? `${path};p=1` : `${path.slice(0, i)};p=1${path.slice(i)}`;
    }
    case 'encode-slash': {
      const i = pick(m.at, (c, j) => c === '/' && j > 0);
      return i < 0 ? path : `${path.slice(0, i)}%2F${path.slice(i + 1)}`;
    }
  }
}

function mutateQuery(pairs: [string, string][], m: QueryMutation): [string, string][] {
  if (m.kind === 'empty-pair') return [...pairs, ['', '']];
  if (m.kind === 'unknown') return [...pairs, ['nosuch', '1']];
  if (pairs.length === 0) return pairs;
  const i = m.at % pairs.length;
  const [key, value] = pairs[i] ?? ['', ''];
  const next = [...pairs];
  switch (m.kind) {
    case 'encode-key': {
      const j = m.at % key.length;
      next[i] = [key.slice(0, j) + percent(key[j] ?? '', m.upperHex) + key.slice(j + 1), value];
      return next;
    }
    case 'upper-key':
      next[i] = [key.toUpperCase(), value];
      return next;
    case 'duplicate':
      return [...next, [key, value]];
    case 'plus-value':
      next[i] = [key, `${value}+`];
      return next;
  }
}

/** The canonical requests, one per handler kind (a long-poll carries the Service's current version). */
const bases = (version: string): { path: string; query: [string, string][] }[] => [
  { path: '/v1/services', query: [] },
  { path: '/v1/services', query: [['namespace', 'demo']] },
  { path: '/v1/namespaces/demo/services/web', query: [['port', 'http']] },
  {
    path: '/v1/namespaces/demo/services/web',
    query: [
      ['wait', '30s'],
      ['version', version],
    ],
  },
  { path: '/v1/namespaces/demo/services/web/watch', query: [] },
  { path: '/v1/watch', query: [['namespace', 'demo']] },
  { path: '/v1/xds/bootstrap', query: [] },
  { path: '/healthz', query: [] },
  { path: '/readyz', query: [] },
  { path: '/metrics', query: [] },
];

function spellings(version: string): fc.Arbitrary<Spelling> {
  const pathMutation: fc.Arbitrary<PathMutation> = fc.oneof(
    fc.record({ kind: fc.constant('upper' as const), at: fc.nat() }),
    fc.record({ kind: fc.constant('encode' as const), at: fc.nat(), upperHex: fc.boolean() }),
    fc.constant({ kind: 'trailing-slash' as const }),
    fc.record({ kind: fc.constant('double-slash' as const), at: fc.nat() }),
    fc.record({ kind: fc.constant('matrix' as const), at: fc.nat() }),
    fc.record({ kind: fc.constant('encode-slash' as const), at: fc.nat() }),
  );
  const queryMutation: fc.Arbitrary<QueryMutation> = fc.oneof(
    fc.record({ kind: fc.constant('encode-key' as const), at: fc.nat(), upperHex: fc.boolean() }),
    fc.record({ kind: fc.constant('upper-key' as const), at: fc.nat() }),
    fc.record({ kind: fc.constant('duplicate' as const), at: fc.nat() }),
    fc.constant({ kind: 'empty-pair' as const }),
    fc.constant({ kind: 'unknown' as const }),
    fc.record({ kind: fc.constant('plus-value' as const), at: fc.nat() }),
  );
  return fc
    .record({
      base: fc.constantFrom(...bases(version)),
      pathMutations: fc.array(pathMutation, { maxLength: 2 }),
      queryMutations: fc.array(queryMutation, { maxLength: 2 }),
      method: fc.constantFrom('GET' as const, 'HEAD' as const),
    })
    .map(({ base, pathMutations, queryMutations, method }) => {
      const path = pathMutations.reduce(mutatePath, base.path);
      const query = queryMutations.reduce(mutateQuery, base.query);
      const text = query.map(([k, v]) => `${k}=${v}`).join('&');
      return { method, path: text === '' ? path : `${path}?${text}` };
    });
}

/** The attacks that got through before: other spellings of rate-limited and stream routes. */
const KNOWN_ATTACKS = (version: string): Spelling[] => [
  { method: 'GET', path: '/V1/services' },
  { method: 'GET', path: '/V1/namespaces/demo/services/web/watch' },
  { method: 'GET', path: '/v1/WATCH' },
  { method: 'GET', path: `/v1/namespaces/demo/services/web?w%61it=5m&version=${version}` },
  { method: 'GET', path: `/v1/namespaces/demo/services/web?W%41IT=5m&version=${version}` },
  { method: 'HEAD', path: '/v1/watch' },
  { method: 'GET', path: '/v1/watch/' },
  { method: 'GET', path: '/v1//watch' },
  { method: 'GET', path: '/v1/watch;x=1' },
];

let nextAddress = 0;
/** A loopback address no earlier request came from: a client with a full bucket and no stream. */
const freshAddress = (): string => {
  nextAddress += 1;
  return `127.77.${Math.floor(nextAddress / 250)}.${(nextAddress % 250) + 1}`;
};

describe('REST limits follow the handler reached, whatever the spelling', () => {
  let rate: TestEndpointd;
  let streams: TestEndpointd;
  let version = '';
  before(async () => {
    // Rate: 2 tokens per address, refilled too slowly to matter. Streams: 2 per address.
    rate = await startTestEndpointd(
      { 'web.yaml': WEB },
      withLimits({ lookupRate: { perSecond: 0.0001, burst: 2 } }),
    );
    streams = await startTestEndpointd(
      { 'web.yaml': WEB },
      withLimits({ restStreams: { total: 0, perClient: 2 } }),
    );
    const res = await fetch(`${rate.url}/v1/namespaces/demo/services/web`);
    version = (res.headers.get('etag') ?? '').replaceAll('"', '');
    await res.arrayBuffer();
  });
  after(() => Promise.all([rate.stop(), streams.stop()]));

  /** Tokens `spelling` took from its client: what is left of a 2-token bucket, read by two markers. */
  async function tokensTaken(spelling: Spelling): Promise<{ taken: number; rateLimited: boolean }> {
    const port = rate.endpointd.httpAddress.port;
    const address = freshAddress();
    const sent = send(port, spelling, address);
    // Answered, or held (a watch's head comes at once; a waiting long-poll sends nothing until its wait ends).
    await eventually(
      async () => (sent.head() !== undefined || (await heldNow(port)) > 0 ? true : undefined),
      10_000,
    );
    const head = sent.head();
    // Health and metrics answer in text or JSON of their own; everything else a /v1 kind or the 404.
    const status = head?.statusCode;
    const type = String(head?.headers['content-type'] ?? '');
    const healthOrMetrics =
      status === 200 &&
      (type.startsWith('text/plain') ||
        (type.startsWith('application/json') && /^\/readyz(\?|$)/.test(spelling.path)));
    const markers = [
      await statusOf(port, '/v1/services', address),
      await statusOf(port, '/v1/services', address),
    ];
    sent.close();
    await eventually(async () => ((await heldNow(port)) === 0 ? true : undefined), 10_000);
    const taken = markers.filter((s) => s === 429).length;
    return { taken, rateLimited: !healthOrMetrics };
  }

  /** Slots `spelling` holds while open, and whether it is held at all (a stream or a waiting long-poll). */
  async function slotsTaken(spelling: Spelling): Promise<{ slots: number; held: boolean }> {
    const port = streams.endpointd.httpAddress.port;
    const address = freshAddress();
    const sent = send(port, spelling, address);
    const held = await eventually(async () => {
      if ((await heldNow(port)) > 0) return true;
      // Answered and not held: the whole answer is in (a held request's head alone is not an end).
      const head = sent.head();
      if (head !== undefined && head.complete) return false;
      return undefined;
    }, 10_000);
    const markers = [
      send(port, { method: 'GET', path: '/v1/watch' }, address),
      send(port, { method: 'GET', path: '/v1/watch' }, address),
    ];
    await eventually(() => (markers.every((m) => m.head() !== undefined) ? true : undefined), 10_000);
    const refused = markers.filter((m) => m.head()?.statusCode === 429).length;
    for (const m of [sent, ...markers]) m.close();
    await eventually(async () => ((await heldNow(port)) === 0 ? true : undefined), 10_000);
    return { slots: refused, held };
  }

  it('counts the spellings that used to bypass the limits', async () => {
    for (const spelling of KNOWN_ATTACKS(version)) {
      const { taken, rateLimited } = await tokensTaken(spelling);
      assert.equal(taken, rateLimited ? 1 : 0, `${spelling.method} ${spelling.path}: tokens`);
      const { slots, held } = await slotsTaken(spelling);
      assert.equal(slots, held ? 1 : 0, `${spelling.method} ${spelling.path}: held ${held}, slots ${slots}`);
    }
    // The old bypass of the stream cap (a long-poll by an encoded key) is a held long-poll with its slot.
    const encoded = await slotsTaken({
      method: 'GET',
      path: `/v1/namespaces/demo/services/web?w%61it=5m&version=${version}`,
    });
    assert.deepEqual(encoded, { slots: 1, held: true });
    // Other spellings of a route are no route: 404, which still costs a token.
    assert.equal(await statusOf(rate.endpointd.httpAddress.port, '/V1/services', freshAddress()), 404);
    assert.equal(await statusOf(rate.endpointd.httpAddress.port, '/v1/watch/', freshAddress()), 404);
  });

  it('takes exactly one token per rate-limited request and none for health, metrics (property)', async () => {
    await fc.assert(
      fc.asyncProperty(spellings(version), async (spelling) => {
        const { taken, rateLimited } = await tokensTaken(spelling);
        assert.equal(taken, rateLimited ? 1 : 0, `${spelling.method} ${spelling.path}`);
      }),
      { numRuns: 60 },
    );
  });

  it('holds exactly one stream slot per request held open, and none otherwise (property)', async () => {
    await fc.assert(
      fc.asyncProperty(spellings(version), async (spelling) => {
        const { slots, held } = await slotsTaken(spelling);
        assert.equal(slots, held ? 1 : 0, `${spelling.method} ${spelling.path}: held ${held}`);
      }),
      { numRuns: 60 },
    );
  });
});
