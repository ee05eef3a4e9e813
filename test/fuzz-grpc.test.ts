// Fuzzing the gRPC door: 10,000 malformed messages (random bytes, random field values, valid encodings with bytes
// flipped) to Discovery.Resolve, Watch and ListServices through a raw grpc-js client that sends bytes as given.
// Every call must end with a status a client can act on (INVALID_ARGUMENT, NOT_FOUND, OK...), never INTERNAL or
// UNKNOWN for a message that decodes; the server must keep serving and its memory must not grow.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Client, credentials, status, type ServiceError } from '@grpc/grpc-js';
import { loadSync, type ServiceDefinition } from '@grpc/proto-loader';
import fc from 'fast-check';
import { LOADER_OPTIONS } from '../src/api/grpc/index.ts';
import { sliceManifest, startTestEndpointd, type TestEndpointd } from './support/endpointd.ts';
import { hostileText, settledRetainedMiB } from './support/fault-fuzz.ts';
import { TestClient } from './support/grpc-discovery.ts';

const BATCH = 50;
const RUNS = 200; // × BATCH = 10,000 calls
const METHODS = ['Resolve', 'Watch', 'ListServices'] as const;
type Method = (typeof METHODS)[number];

const discovery = loadSync('endpointd/v1/discovery.proto', LOADER_OPTIONS)[
  'endpointd.v1.Discovery'
] as ServiceDefinition;
const serialize = (m: Method, value: object): Buffer => discovery[m]!.requestSerialize(value);
const decodes = (m: Method, bytes: Buffer): boolean => {
  try {
    discovery[m]!.requestDeserialize(bytes);
    return true;
  } catch {
    return false;
  }
};
const identity = (b: Buffer): Buffer => b;

const text = hostileText.map((t) => t.replace(/[\ud800-\udfff]/g, '\ufffd'));
const enumValue = fc.oneof(
  fc.constantFrom('ENDPOINT_SET_ROUTABLE', 'ENDPOINT_SET_ALL', 'ENDPOINT_SET_UNSPECIFIED'),
  fc.integer({ min: -5, max: 2 ** 31 - 1 }),
);
const port = fc.option(
  fc.oneof(
    text.map((name) => ({ name })),
    fc.oneof(fc.nat(70_000), fc.nat(2 ** 32 - 1)).map((number) => ({ number })),
  ),
  { nil: undefined },
);
const ref = fc.record({ namespace: text, name: text });
const structured: Record<Method, fc.Arbitrary<object>> = {
  Resolve: fc.record({ namespace: text, name: text, endpoints: enumValue, port }, { requiredKeys: [] }),
  Watch: fc.record(
    {
      services: fc.oneof(
        fc.array(ref, { maxLength: 5 }),
        fc.constant(Array.from({ length: 1001 }, (_, i) => ({ namespace: 'shop', name: `s${i}` }))),
      ),
      namespace: text,
      endpoints: enumValue,
      port,
      known: fc.array(fc.record({ namespace: text, name: text, version: text }), { maxLength: 4 }),
    },
    { requiredKeys: [] },
  ),
  ListServices: fc.record({ namespace: text }, { requiredKeys: [] }),
};

const call = fc.constantFrom(...METHODS).chain((method) =>
  fc.record({
    method: fc.constant(method),
    bytes: fc.oneof(
      fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b)),
      structured[method].map((m) => serialize(method, m)),
      fc
        .tuple(
          structured[method].map((m) => serialize(method, m)),
          fc.array(fc.tuple(fc.nat(), fc.nat(255)), { minLength: 1, maxLength: 4 }),
        )
        .map(([bytes, flips]) => {
          const copy = Buffer.from(bytes);
          if (copy.length > 0) for (const [at, value] of flips) copy[at % copy.length] = value;
          return copy;
        }),
    ),
  }),
);
type FuzzCall = typeof call extends fc.Arbitrary<infer T> ? T : never;

interface Outcome {
  readonly code: status | 'opened';
  readonly details: string;
}

function send(client: Client, c: FuzzCall): Promise<Outcome> {
  const path = `/endpointd.v1.Discovery/${c.method}`;
  const deadline = Date.now() + 5000;
  if (c.method !== 'Watch') {
    return new Promise((resolve) =>
      client.makeUnaryRequest(path, identity, identity, c.bytes, { deadline }, (error: ServiceError | null) =>
        resolve(
          error === null ? { code: status.OK, details: '' } : { code: error.code, details: error.details },
        ),
      ),
    );
  }
  return new Promise((resolve) => {
    const stream = client.makeServerStreamRequest(path, identity, identity, c.bytes, { deadline });
    let opened = false;
    stream.on('data', () => {
      if (opened) return;
      opened = true;
      resolve({ code: 'opened', details: '' });
      stream.cancel(); // a valid Watch: it streamed, which is all this test needs
    });
    stream.on('error', (error: ServiceError) => {
      if (!opened) resolve({ code: error.code, details: error.details });
    });
    stream.on('status', (s: { code: status; details: string }) => {
      if (!opened) resolve({ code: s.code, details: s.details });
    });
  });
}

/** What a client can act on; INTERNAL only where grpc-js itself could not decode the bytes (see the report). */
const ACCEPTABLE = new Set<status | 'opened'>([
  'opened',
  status.OK,
  status.INVALID_ARGUMENT,
  status.NOT_FOUND,
  status.RESOURCE_EXHAUSTED,
]);

describe('gRPC fuzzing', () => {
  let t: TestEndpointd;
  let client: Client;

  before(async () => {
    t = await startTestEndpointd({ 'web.yaml': sliceManifest('shop', 'web', ['10.0.0.1']) });
    client = new Client(`127.0.0.1:${t.endpointd.grpcPort}`, credentials.createInsecure());
  });
  after(async () => {
    client.close();
    await t.stop();
  });

  it('ends 10,000 malformed Resolve/Watch/ListServices calls with client-error statuses, keeps serving, steady memory', async () => {
    const control = new TestClient(`127.0.0.1:${t.endpointd.grpcPort}`);
    const watch = control.watch({ services: [{ namespace: 'shop', name: 'web' }] });
    await watch.until((m) => m.event === 'synced');
    const codes = new Map<string, number>();
    const problems: string[] = [];
    let sent = 0;
    let undecodable = 0;
    await Promise.all(fc.sample(call, { seed: 7, numRuns: 300 }).map((c) => send(client, c)));
    const before = await settledRetainedMiB();

    await fc
      .assert(
        fc.asyncProperty(fc.array(call, { minLength: BATCH, maxLength: BATCH }), async (batch) => {
          const outcomes = await Promise.all(batch.map((c) => send(client, c)));
          sent += batch.length;
          let ok = true;
          outcomes.forEach((o, i) => {
            const c = batch[i]!;
            const name = typeof o.code === 'string' ? o.code : status[o.code];
            codes.set(name ?? String(o.code), (codes.get(name ?? String(o.code)) ?? 0) + 1);
            // grpc-js answers INTERNAL "Error deserializing request" itself, before any handler, when the bytes are
            // not a message of the request type; anything else must be a status endpointd chose.
            if (o.code === status.INTERNAL && !decodes(c.method, c.bytes) && /deserializ/i.test(o.details)) {
              undecodable += 1;
              return;
            }
            if (!ACCEPTABLE.has(o.code)) {
              ok = false;
              if (problems.length < 10)
                problems.push(`${c.method} ${c.bytes.toString('hex').slice(0, 200)} → ${name}: ${o.details}`);
            }
          });
          return ok;
        }),
        { seed: 42, numRuns: RUNS, endOnFailure: true },
      )
      .catch((error: unknown) => {
        throw new Error(`${problems.join('\n')}\n${String(error)}`);
      });

    const afterMiB = await settledRetainedMiB();
    console.log(
      `gRPC fuzz: ${sent} calls; statuses ${JSON.stringify(Object.fromEntries(codes))}; ` +
        `INTERNAL from grpc-js for undecodable bytes: ${undecodable}; retained ${before.toFixed(1)} → ${afterMiB.toFixed(1)} MiB`,
    );
    assert.ok(sent >= 10_000);
    assert.ok(afterMiB - before < 16, `retained memory grew by ${(afterMiB - before).toFixed(1)} MiB`);
    const resolved = await control.resolve({ namespace: 'shop', name: 'web' });
    assert.equal(resolved.service.name, 'web', 'still answering');
    await t.write('web.yaml', sliceManifest('shop', 'web', ['10.0.0.1', '10.0.0.9']));
    const change = await watch.until((m) => m.event === 'modified', 5000);
    assert.equal(change.at(-1)?.event, 'modified', 'the control Watch stream still follows changes');
    watch.cancel();
    control.close();
  });
});
