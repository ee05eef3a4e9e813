// The fast path of repeated lookups (src/api/rest/lookup.ts) writes its answers on node's own objects, without
// express: it must answer exactly what the routed way answers — the same bytes on the wire, head included (Date
// aside) — count each request once, and leave every refusal (401, 429, a 404, a HEAD, a browser's Origin) to the
// routed way. One RestApi, with the real guards of a tokens file and a rate limit, served twice: by its express app
// alone (every request routed) and by its listener (a repeat answered before express).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { UNLIMITED } from '../src/config/index.ts';
import { readyEndpoint } from './support/services.ts';
import {
  added,
  counted,
  exchange,
  LOOKUP,
  openDoor,
  TOKEN,
  type Door,
} from './support/rest-fast-path-door.ts';

const RUNS = 200;

interface Spelling {
  readonly method: 'GET' | 'HEAD';
  readonly target: string;
  readonly version: '1.1' | '1.0';
  readonly headers: readonly (readonly [string, string])[];
}

function requestText(spelling: Spelling): string {
  const lines = [`${spelling.method} ${spelling.target} HTTP/${spelling.version}`, 'Host: 127.0.0.1'];
  for (const [name, value] of spelling.headers) lines.push(`${name}: ${value}`);
  return `${lines.join('\r\n')}\r\n\r\n`;
}

/** The lookup URLs a client may send: views, ports, spellings of the same path, a wait, a service or port unknown. */
const TARGETS = [
  LOOKUP,
  `${LOOKUP}?port=http`,
  `${LOOKUP}?port=8080`,
  `${LOOKUP}?port=metrics&endpoints=all`,
  `${LOOKUP}?endpoints=all&port=metrics`,
  `${LOOKUP}?endpoints=routable`,
  `${LOOKUP}?zone=zone-a`,
  `${LOOKUP}?zone=zone-b&node=node-2&port=http`,
  '/v1/namespaces/sh%6fp/services/web',
  `${LOOKUP}?port=nosuch`,
  `${LOOKUP}?port=http&port=metrics`,
  `${LOOKUP}?wait=0s`,
  `${LOOKUP}?bogus=1`,
  '/v1/namespaces/shop/services/nope',
  '/V1/namespaces/shop/services/web',
  `${LOOKUP}/`,
];

const authorization = fc.oneof(
  {
    weight: 2,
    arbitrary: fc.constantFrom<readonly (readonly [string, string])[]>(
      [['Authorization', `Bearer ${TOKEN}`]],
      [['Authorization', `bearer ${TOKEN}`]],
      [['authorization', `Bearer   ${TOKEN}  `]],
    ),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom<readonly (readonly [string, string])[]>(
      [['Authorization', `Bearer ${TOKEN}x`]],
      [['Authorization', `Basic ${TOKEN}`]],
      [],
    ),
  },
);

const spelling: fc.Arbitrary<Spelling> = fc
  .record({
    method: fc.constantFrom<'GET' | 'HEAD'>('GET', 'GET', 'GET', 'HEAD'),
    target: fc.constantFrom(...TARGETS),
    version: fc.constantFrom<'1.1' | '1.0'>('1.1', '1.1', '1.0'),
    auth: authorization,
    conditional: fc.constantFrom('none', 'match', 'weak', 'list', 'star', 'other'),
    origin: fc.constantFrom<readonly (readonly [string, string])[]>(
      [],
      [],
      [],
      [],
      [['Origin', 'https://dash.example.com']],
      [['Origin', 'https://elsewhere.example']],
    ),
    extra: fc.subarray<readonly [string, string]>([
      ['Connection', 'close'],
      ['Connection', 'keep-alive'],
      ['Accept', 'application/json'],
      ['Accept-Encoding', 'gzip, br'],
      ['X-Drain', '1'],
      ['Origin', 'https://dash.example.com'],
      ['Origin', 'https://elsewhere.example'],
      ['Cache-Control', 'no-cache'],
      ['Content-Length', '0'],
    ]),
  })
  .map(({ method, target, version, auth, conditional, extra }) => ({
    method,
    target,
    version,
    headers: [
      ...auth,
      ...(conditional === 'none' ? [] : [['If-None-Match', conditional] as const]),
      ...extra,
    ],
  }));

/** The spelling with its If-None-Match made of the ETag the resource has now. */
function withEtag(s: Spelling, etag: string): Spelling {
  const value = (kind: string): string =>
    kind === 'match'
      ? etag
      : kind === 'weak'
        ? `W/${etag}`
        : kind === 'list'
          ? `"a", W/${etag} ,"b"`
          : kind === 'star'
            ? '*'
            : '"other"';
  return {
    ...s,
    headers: s.headers.map(([name, v]) => (name === 'If-None-Match' ? [name, value(v)] : [name, v])),
  };
}

describe('the fast path of repeated lookups', () => {
  let door: Door;
  let etags: Map<string, string>;
  before(async () => {
    door = await openDoor({ ...UNLIMITED, lookupRate: { perSecond: 1e6, burst: 1e6 } });
    // Every URL's current ETag, as a client would have it from an earlier answer.
    etags = new Map();
    for (const target of TARGETS) {
      const head = await exchange(
        door.routedPort,
        requestText({
          method: 'GET',
          target,
          version: '1.1',
          headers: [['Authorization', `Bearer ${TOKEN}`]],
        }),
        false,
      );
      const etag = /\r\nETag: ([^\r]*)/.exec(head)?.[1];
      if (etag !== undefined) etags.set(target, etag);
    }
  });
  after(() => door.stop());

  it('answers every spelling of a request byte for byte as the router does, counted once, express never reached for a 200 or 304', async () => {
    let fastAnswers = 0;
    await fc.assert(
      fc.asyncProperty(spelling, async (drawn) => {
        const s = withEtag(drawn, etags.get(drawn.target) ?? '"none"');
        const text = requestText(s);
        const head = s.method === 'HEAD';
        const before = await counted(door.metrics);
        const routed = await exchange(door.routedPort, text, head);
        const reached = door.reachedExpress();
        const fast = await exchange(door.fastPort, text, head);
        assert.equal(fast, routed, `${JSON.stringify(s)}: the fast server's answer differs`);
        const status = Number(routed.slice(9, 12));
        const origin = s.headers.some(([name]) => name === 'Origin');
        const answeredFast = door.reachedExpress() === reached;
        assert.equal(
          answeredFast,
          // A long-poll's URL (wait) is never remembered: it is not a plain repeat.
          s.method === 'GET' && !origin && !s.target.includes('wait=') && (status === 200 || status === 304),
          `${JSON.stringify(s)} (${status}): answered ${answeredFast ? 'before' : 'by'} express`,
        );
        if (answeredFast) fastAnswers += 1;
        // Each of the two requests counted once, under the same series.
        const grown = added(before, await counted(door.metrics));
        assert.equal(grown.size, 1, `${JSON.stringify(s)}: ${JSON.stringify([...grown])}`);
        assert.equal([...grown.values()][0], 2);
        assert.match([...grown.keys()][0] ?? '', new RegExp(`code="${status}"`));
      }),
      { numRuns: RUNS },
    );
    assert.ok(fastAnswers >= RUNS / 20, `only ${fastAnswers} of ${RUNS} were answered on the fast path`);
  });

  it('serves a new version at once, its new ETag and body, as the router does', async () => {
    const request = requestText({
      method: 'GET',
      target: `${LOOKUP}?port=http`,
      version: '1.1',
      headers: [['Authorization', `Bearer ${TOKEN}`]],
    });
    const before = await exchange(door.fastPort, request, false);
    door.store.upsert('manual', {
      namespace: 'shop',
      name: 'web',
      ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
      endpoints: [readyEndpoint('10.0.0.7')],
    });
    const reached = door.reachedExpress();
    const fast = await exchange(door.fastPort, request, false);
    assert.equal(door.reachedExpress(), reached, 'answered on the fast path');
    assert.notEqual(fast, before);
    assert.match(fast, /10\.0\.0\.7/);
    assert.equal(fast, await exchange(door.routedPort, request, false));
  });
});

describe('refusals of a repeated lookup', () => {
  it('past the rate limit: the same 429 as the router, from the router; the count by code', async () => {
    const door = await openDoor({ ...UNLIMITED, lookupRate: { perSecond: 0.0001, burst: 4 } });
    try {
      const request = requestText({
        method: 'GET',
        target: LOOKUP,
        version: '1.1',
        headers: [['Authorization', `Bearer ${TOKEN}`]],
      });
      const statuses: number[] = [];
      const answers: string[] = [];
      for (let i = 0; i < 4; i += 1) {
        const port = i % 2 === 0 ? door.routedPort : door.fastPort;
        const answer = await exchange(port, request, false);
        statuses.push(Number(answer.slice(9, 12)));
        // Retry-After counts down the seconds to the next token: it may tick between two answers.
        answers.push(answer.replace(/\r\nRetry-After: \d+/, ''));
      }
      const reached = door.reachedExpress();
      const refused = await exchange(door.fastPort, request, false);
      const refusedRouted = await exchange(door.routedPort, request, false);
      assert.deepEqual(statuses, [200, 200, 200, 200], 'the burst is shared by both ways');
      assert.match(refused, /^HTTP\/1\.1 429 Too Many Requests\r\n/);
      assert.match(refused, /\r\nRetry-After: \d+\r\n/);
      assert.equal(door.reachedExpress(), reached + 1, 'the refusal came from the routed way');
      const masked = (text: string): string => text.replace(/\r\nRetry-After: \d+/, '');
      assert.equal(masked(refused), masked(refusedRouted));
      assert.equal(answers[1], answers[0]);
      const series = await counted(door.metrics);
      const route = 'route="/v1/namespaces/:namespace/services/:name",method="GET"';
      assert.equal(series.get(`endpointd_http_requests_total{${route},code="200"}`), 4);
      assert.equal(series.get(`endpointd_http_requests_total{${route},code="429"}`), 2);
    } finally {
      await door.stop();
    }
  });

  it('a wrong token, again and again: 401s then the failed-attempts 429, as the router answers them', async () => {
    const door = await openDoor({ ...UNLIMITED, failedAuthRate: { perSecond: 0.0001, burst: 3 } });
    try {
      const good = requestText({
        method: 'GET',
        target: LOOKUP,
        version: '1.1',
        headers: [['Authorization', `Bearer ${TOKEN}`]],
      });
      const wrong = requestText({
        method: 'GET',
        target: LOOKUP,
        version: '1.1',
        headers: [['Authorization', 'Bearer not-the-token']],
      });
      assert.match(await exchange(door.routedPort, good, false), /^HTTP\/1\.1 200 /);
      const reached = door.reachedExpress();
      const statuses: number[] = [];
      for (let i = 0; i < 5; i += 1) {
        statuses.push(Number((await exchange(door.fastPort, wrong, false)).slice(9, 12)));
      }
      assert.deepEqual(statuses, [401, 401, 401, 429, 429]);
      assert.equal(door.reachedExpress(), reached + 5, 'every refusal came from the routed way');
      // The good token from the same address is refused too now, as the router refuses it.
      const masked = (text: string): string =>
        text.replace(/\r\nRetry-After: \d+/, '').replace(/retry in \d+ s/, '');
      assert.equal(
        masked(await exchange(door.fastPort, good, false)),
        masked(await exchange(door.routedPort, good, false)),
      );
      const series = await counted(door.metrics);
      assert.equal(series.get('endpointd_http_requests_total{route="unmatched",method="GET",code="401"}'), 3);
    } finally {
      await door.stop();
    }
  });
});
