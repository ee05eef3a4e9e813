// Round 12 attacks from outside on the fast paths and the general paths they stand in for. No defect was found in
// the time given; these tests keep the properties checked that the existing suites did not cover:
// - the repeated-lookup fast path (src/api/rest/lookup.ts) against the routed way on odd request targets (empty
//   queries, fragments, absolute-form targets, percent-encoded path and query, dot segments, double slashes,
//   prototype-named and bracketed parameters): byte-identical answers, each request counted once, under one series;
// - a token taken out of the tokens file while the server runs is refused on the fast path as soon as the file is
//   re-read, as on the routed way;
// - a list page written one byte at a time (multi-byte UTF-8 and escapes split at every boundary, a non-ASCII
//   continue token) lists exactly the objects served;
// - the validation fast path (src/kube/fast-accept.ts) on keys that name Object.prototype members.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { UNLIMITED } from '../src/config/index.ts';
import { KubeClient } from '../src/kube/kube-client.ts';
import { acceptEndpointSlice } from '../src/kube/fast-accept.ts';
import { parseEndpointSliceBySchema } from '../src/kube/objects.ts';
import { listAllPages, listItemTransform } from '../src/sources/kubernetes/list-pager.ts';
import { plainHttpKubeConfig } from './support/fake-apiserver/kubeconfig.ts';
import {
  added,
  counted,
  exchange,
  LOOKUP,
  openDoor,
  TOKEN,
  type Door,
} from './support/rest-fast-path-door.ts';

const request = (target: string, token = TOKEN): string =>
  [`GET ${target} HTTP/1.1`, 'Host: 127.0.0.1', `Authorization: Bearer ${token}`].join('\r\n') + '\r\n\r\n';

describe('round 12: the repeated-lookup fast path on odd request targets', () => {
  let door: Door;
  before(async () => {
    door = await openDoor({ ...UNLIMITED, lookupRate: { perSecond: 1e6, burst: 1e6 } });
  });
  after(() => door.stop());

  const TARGETS = [
    `${LOOKUP}?`,
    `${LOOKUP}?&`,
    `${LOOKUP}?port=http&`,
    `${LOOKUP}?=x`,
    `${LOOKUP}?port`,
    `${LOOKUP}?zone=`,
    `${LOOKUP}?zone=&node=`,
    `${LOOKUP}#x`,
    `${LOOKUP}?port=http#x`,
    `http://127.0.0.1${LOOKUP}`,
    `http://elsewhere.example${LOOKUP}?port=http`,
    `${LOOKUP}?port=ht%74p`,
    `${LOOKUP}?po%72t=http`,
    `${LOOKUP}?version=abcdefabcdefabcd`,
    `${LOOKUP}?constructor=x`,
    `${LOOKUP}?__proto__=x`,
    '//v1/namespaces/shop/services/web',
    '/v1//namespaces/shop/services/web',
    '/v1/namespaces/shop/services/./web',
    '/v1/namespaces/shop/services/web/../web',
    '/v1/namespaces/shop/services/web%2F',
    '/v1/namespaces/shop/services/we%62',
    '/v1/namespaces/shop/services/web;x',
    `${LOOKUP}?cluster=`,
    `${LOOKUP}?port=+http`,
    `${LOOKUP}?endpoints=all&endpoints=all`,
    `${LOOKUP}?port[]=http`,
    `${LOOKUP}?wait=`,
  ];

  it('answers each byte for byte as the routed way, counted once each under one series', async () => {
    let fast = 0;
    for (const target of TARGETS) {
      const before = await counted(door.metrics);
      const routed = await exchange(door.routedPort, request(target), false);
      const reached = door.reachedExpress();
      const second = await exchange(door.fastPort, request(target), false);
      const answeredFast = door.reachedExpress() === reached;
      assert.equal(second, routed, `${target}: the fast server's answer differs`);
      const status = Number(routed.slice(9, 12));
      assert.equal(
        answeredFast,
        status === 200,
        `${target} (${status}) answered ${answeredFast ? 'before' : 'by'} express`,
      );
      if (answeredFast) fast += 1;
      const grown = added(before, await counted(door.metrics));
      assert.equal(grown.size, 1, `${target}: ${JSON.stringify([...grown])}`);
      assert.equal([...grown.values()][0], 2, target);
    }
    assert.ok(fast >= 10, `only ${fast} targets were answered on the fast path`);
  });
});

describe('round 12: a token removed from the tokens file while the server runs', () => {
  it('is refused on the fast path as soon as the file is re-read, as on the routed way', async () => {
    const door = await openDoor({ ...UNLIMITED }, 50);
    try {
      assert.match(await exchange(door.routedPort, request(LOOKUP), false), /^HTTP\/1\.1 200 /);
      const reached = door.reachedExpress();
      assert.match(await exchange(door.fastPort, request(LOOKUP), false), /^HTTP\/1\.1 200 /);
      assert.equal(door.reachedExpress(), reached, 'the repeat was answered on the fast path');
      await writeFile(door.tokensFile, 'another-token,other\n');
      const deadline = Date.now() + 5000;
      let routed = '';
      while (Date.now() < deadline) {
        routed = await exchange(door.routedPort, request(LOOKUP), false);
        if (routed.startsWith('HTTP/1.1 401')) break;
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
      assert.match(routed, /^HTTP\/1\.1 401 /, 'the routed way refuses the removed token');
      assert.equal(await exchange(door.fastPort, request(LOOKUP), false), routed);
      assert.match(
        await exchange(door.fastPort, request(LOOKUP, 'another-token'), false),
        /^HTTP\/1\.1 200 /,
      );
    } finally {
      await door.stop();
    }
  });
});

describe('round 12: a list page that arrives one byte at a time', () => {
  it('lists exactly the objects of its pages, multi-byte text and escapes split at every byte', async () => {
    const item = (i: number): unknown => ({
      metadata: {
        name: `web-${i}`,
        namespace: 'shop',
        labels: { 'kubernetes.io/service-name': 'web', note: `ü日本🎉\u2028"\\${i}` },
      },
      addressType: 'IPv4',
      endpoints: [{ addresses: [`10.0.0.${i}`], zone: 'zöne-🎉', conditions: { ready: true } }],
    });
    const pages: Record<string, unknown> = {
      '': {
        kind: 'EndpointSliceList',
        apiVersion: 'discovery.k8s.io/v1',
        metadata: { resourceVersion: '7', continue: 'tok-é🎉1' },
        items: [item(1), item(2)],
      },
      'tok-é🎉1': { kind: 'EndpointSliceList', metadata: { resourceVersion: '7' }, items: [item(3)] },
    };
    const server = createServer((req, res) => {
      const token = new URL(req.url ?? '/', 'http://x').searchParams.get('continue') ?? '';
      const body = Buffer.from(JSON.stringify(pages[token] ?? { metadata: {}, items: 'no such page' }));
      res.writeHead(200, { 'Content-Type': 'application/json' });
      void (async () => {
        for (let i = 0; i < body.length; i++) {
          res.write(body.subarray(i, i + 1));
          if (i % 5 === 0) await new Promise((resolve) => setImmediate(resolve));
        }
        res.end();
      })();
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    try {
      const client = new KubeClient(
        plainHttpKubeConfig(`http://127.0.0.1:${(server.address() as AddressInfo).port}`),
      );
      const path = '/apis/discovery.k8s.io/v1/endpointslices';
      const transform = listItemTransform(path);
      const listed = await listAllPages({
        client,
        path,
        pageSize: 2,
        transform,
        signal: AbortSignal.timeout(30_000),
      });
      assert.equal(listed.resourceVersion, '7');
      assert.deepEqual(
        JSON.parse(JSON.stringify(listed.items)),
        JSON.parse(JSON.stringify([item(1), item(2), item(3)].map(transform))),
      );
      assert.equal(
        (listed.items[0] as { metadata: { labels: Record<string, string> } }).metadata.labels['note'],
        'ü日本🎉\u2028"\\1',
      );
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });
});

describe('round 12: validation fast path on keys named after Object.prototype members', () => {
  it('accepts only what the schema accepts, and builds what the schema builds', () => {
    const texts = [
      '{"metadata":{"name":"a","namespace":"n","labels":{"__proto__":"x","kubernetes.io/service-name":"web"}},"addressType":"IPv4","endpoints":[]}',
      '{"metadata":{"name":"a","namespace":"n","annotations":{"__proto__":"x"}},"addressType":"IPv4"}',
      '{"metadata":{"name":"a","namespace":"n","labels":{"__proto__":{"a":"b"}}},"addressType":"IPv4"}',
      '{"metadata":{"name":"a","namespace":"n","labels":{"constructor":"x","toString":"y","hasOwnProperty":"z"}},"addressType":"IPv4"}',
      '{"__proto__":{"addressType":"IPv4"},"metadata":{"name":"a","namespace":"n"},"addressType":"IPv4"}',
      '{"metadata":{"name":"a","namespace":"n"},"addressType":"IPv4","endpoints":[{"addresses":["10.0.0.1"],"conditions":{"ready":true,"__proto__":null}}]}',
      '{"metadata":{"name":"a","namespace":"n"},"addressType":"IPv4","endpoints":[{"addresses":["10.0.0.1"],"hints":{"forZones":[{"name":"a","__proto__":1}]}}]}',
      '{"metadata":{"name":"a","namespace":"n"},"addressType":"IPv4","ports":[{"port":1e1,"name":"http"}]}',
    ];
    for (const text of texts) {
      const fast = acceptEndpointSlice(JSON.parse(text));
      const schema = parseEndpointSliceBySchema(JSON.parse(text));
      if (fast === undefined) continue;
      assert.ok(schema.ok, `${text}: the fast path accepts what the schema refuses`);
      assert.deepEqual(JSON.parse(JSON.stringify(fast)), JSON.parse(JSON.stringify(schema.value)), text);
    }
  });
});
