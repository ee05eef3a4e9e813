// Attack on the gRPC door's authentication through its metadata (round 6): other spellings of the bearer header,
// padding, a scheme that is not Bearer, binary and unknown keys, large values.
// Property: a call is answered OK exactly when its `authorization` value is `Bearer <a known token>` (the
// scheme in any case, spaces before the token), else UNAUTHENTICATED — never INTERNAL or UNKNOWN — and every
// refusal is counted once in endpointd_rejected_requests_total{door="grpc"}. Real endpointd with a tokens file,
// real grpc-js client on loopback.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client, credentials, Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { loadSync, type ServiceDefinition } from '@grpc/proto-loader';
import fc from 'fast-check';
import { LOADER_OPTIONS } from '../src/api/grpc/index.ts';
import { sliceManifest, startTestEndpointd, TEST_CONFIG, type TestEndpointd } from './support/endpointd.ts';
import { get } from './support/http.ts';

const TOKEN = 'good-token';
const discovery = loadSync('endpointd/v1/discovery.proto', LOADER_OPTIONS)[
  'endpointd.v1.Discovery'
] as ServiceDefinition;

/** Authorization values, each with whether it must be accepted (as the first value). */
const AUTHORIZATION: ReadonlyArray<readonly [string, boolean]> = [
  [`Bearer ${TOKEN}`, true],
  [`bearer ${TOKEN}`, true],
  [`BEARER ${TOKEN}`, true],
  // (No space after the token: HTTP/2 forbids a field value to end with one, and the server never sees such a value.)
  [`Bearer    ${TOKEN}`, true],
  [`Bearer ${TOKEN} extra`, false],
  [`Bearer ${TOKEN}x`, false],
  [`Bearer x${TOKEN}`, false],
  ['Bearer', false],
  ['Bearer ', false],
  ['', false],
  [TOKEN, false],
  [`Basic ${Buffer.from(`${TOKEN}:`).toString('base64')}`, false],
  [`Token ${TOKEN}`, false],
  [`Bearer ${'x'.repeat(4000)}`, false],
  [`Bearer ${TOKEN},Bearer other`, false],
];

const extraKey = fc.stringMatching(/^x-[a-z0-9._-]{1,24}$/);
const asciiValue = fc.stringMatching(/^[\x21-\x7e]{0,200}$/);
const binValue = fc.uint8Array({ maxLength: 300 }).map((bytes) => Buffer.from(bytes));
const call = fc.record({
  method: fc.constantFrom('Resolve', 'ListServices'),
  // At most one: grpc-js refuses to send two `authorization` values (INTERNAL, on the client).
  authorization: fc.array(fc.nat(AUTHORIZATION.length - 1), { maxLength: 1 }),
  // Text keys never end in -bin: grpc-js refuses (on the client) a string value under a binary key.
  extra: fc.array(
    fc.tuple(
      extraKey.filter((k) => !k.endsWith('-bin')),
      asciiValue,
    ),
    { maxLength: 4 },
  ),
  binary: fc.array(
    fc.tuple(
      extraKey.map((k) => `${k}-bin`),
      binValue,
    ),
    { maxLength: 2 },
  ),
});

describe('gRPC authentication through odd metadata', () => {
  let dir: string;
  let t: TestEndpointd;
  let client: Client;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'endpointd-attack6-meta-'));
    const tokensFile = join(dir, 'tokens');
    await writeFile(tokensFile, `${TOKEN},alice\n`);
    t = await startTestEndpointd(
      { 'web.yaml': sliceManifest('demo', 'web', ['10.0.0.1']) },
      {
        security: {
          ...TEST_CONFIG.security,
          auth: { ...TEST_CONFIG.security.auth, tokensFile, openMetrics: true },
        },
      },
    );
    client = new Client(`127.0.0.1:${t.endpointd.grpcPort}`, credentials.createInsecure());
  });
  after(async () => {
    client.close();
    await t.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const refusals = async (): Promise<number> => {
    const text = (await get(`${t.url}/metrics`)).text;
    let sum = 0;
    for (const match of text.matchAll(/^endpointd_rejected_requests_total\{([^}]*)\} (\S+)$/gm))
      if ((match[1] ?? '').includes('door="grpc"')) sum += Number(match[2]);
    return sum;
  };

  it('answers OK exactly for a Bearer value holding the token, else UNAUTHENTICATED; counts each refusal', async () => {
    const before = await refusals();
    let refused = 0;
    await fc.assert(
      fc.asyncProperty(call, async ({ method, authorization, extra, binary }) => {
        const metadata = new Metadata();
        for (const index of authorization) metadata.add('authorization', AUTHORIZATION[index]?.[0] ?? '');
        for (const [key, value] of extra) metadata.add(key, value);
        for (const [key, value] of binary) metadata.add(key, value);
        const first = authorization[0];
        const accepted = first !== undefined && AUTHORIZATION[first]?.[1] === true;
        const definition = discovery[method];
        assert.ok(definition !== undefined);
        const request = method === 'Resolve' ? { namespace: 'demo', name: 'web' } : {};
        const outcome = await new Promise<number>((resolve) => {
          client.makeUnaryRequest(
            definition.path,
            definition.requestSerialize,
            definition.responseDeserialize,
            request,
            metadata,
            { deadline: Date.now() + 5000 },
            (error: ServiceError | null) => resolve(error === null ? status.OK : error.code),
          );
        });
        if (!accepted) refused += 1;
        assert.equal(
          status[outcome],
          status[accepted ? status.OK : status.UNAUTHENTICATED],
          `authorization ${JSON.stringify(authorization.map((i) => AUTHORIZATION[i]?.[0].slice(0, 40)))}`,
        );
      }),
      { numRuns: 300 },
    );
    assert.equal((await refusals()) - before, refused, 'each refusal counted once');
  });
});
