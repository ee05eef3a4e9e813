// Fuzzing the xDS door: 10,000 malformed ADS requests — random DiscoveryRequest / DeltaDiscoveryRequest contents
// (hostile names, type URLs, nonces, versions, error details) and raw bytes — on many SotW and delta streams.
// No crash, no INTERNAL/UNKNOWN for a message that decodes, and a well-behaved ADS client is served throughout.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Client, credentials, status, type ClientDuplexStream } from '@grpc/grpc-js';
import fc from 'fast-check';
import { adsServiceDefinition } from '../src/api/xds/encoding.ts';
import { TYPE_URL } from '../src/api/xds/wire.ts';
import { sliceManifest, startTestEndpointd, type TestEndpointd } from './support/endpointd.ts';
import { hostileText, settledRetainedMiB } from './support/fault-fuzz.ts';
import { rawSotw } from './support/xds-harness.ts';

const STREAMS = 500;
const PER_STREAM = 20; // × STREAMS = 10,000 requests
const CONCURRENT = 25;
const identity = (b: Buffer): Buffer => b;
const text = hostileText.map((t) => t.replace(/[\ud800-\udfff]/g, '\ufffd'));
const typeUrl = fc.oneof(fc.constantFrom(...Object.values(TYPE_URL)), text);
const names = fc.array(
  fc.oneof(fc.constantFrom('web.shop:8080', 'web.shop', '*', '', 'web.shop:http', 'nope.x:1'), text),
  { maxLength: 6 },
);
const node = fc.option(
  fc.record({ id: text, cluster: text, locality: fc.record({ region: text, zone: text }) }),
  { nil: undefined },
);
const errorDetail = fc.option(fc.record({ code: fc.integer(), message: text }), { nil: undefined });

const sotwRequest = fc.record(
  {
    version_info: text,
    node,
    resource_names: names,
    type_url: typeUrl,
    response_nonce: text,
    error_detail: errorDetail,
  },
  { requiredKeys: [] },
);
const deltaRequest = fc.record(
  {
    node,
    type_url: typeUrl,
    resource_names_subscribe: names,
    resource_names_unsubscribe: names,
    initial_resource_versions: fc.dictionary(text, text, { maxKeys: 3 }),
    response_nonce: text,
    error_detail: errorDetail,
  },
  { requiredKeys: [] },
);

const serializer = {
  sotw: adsServiceDefinition.StreamAggregatedResources,
  delta: adsServiceDefinition.DeltaAggregatedResources,
};
const decodes = (kind: 'sotw' | 'delta', bytes: Buffer): boolean => {
  try {
    serializer[kind].requestDeserialize(bytes);
    return true;
  } catch {
    return false;
  }
};

const stream = fc.constantFrom('sotw' as const, 'delta' as const).chain((kind) => {
  const request = (kind === 'sotw' ? sotwRequest : deltaRequest).map((m) =>
    serializer[kind].requestSerialize(m as never),
  );
  const bytes = fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b));
  return fc.record({
    kind: fc.constant(kind),
    // Most streams carry decodable requests only (an undecodable one ends a stream at once, see below); the
    // others mix in raw bytes.
    messages: fc.oneof(
      { weight: 4, arbitrary: fc.array(request, { minLength: PER_STREAM, maxLength: PER_STREAM }) },
      {
        weight: 1,
        arbitrary: fc.array(fc.oneof(request, bytes), { minLength: PER_STREAM, maxLength: PER_STREAM }),
      },
    ),
  });
});
type FuzzStream = typeof stream extends fc.Arbitrary<infer T> ? T : never;

interface Outcome {
  readonly code: status;
  readonly details: string;
  readonly responses: number;
}

/** Opens one ADS stream, writes its messages, lets it run briefly, and reports how it ended. */
function run(client: Client, s: FuzzStream): Promise<Outcome> {
  const path = serializer[s.kind].path;
  const call: ClientDuplexStream<Buffer, Buffer> = client.makeBidiStreamRequest(path, identity, identity, {
    deadline: Date.now() + 10_000,
  });
  let responses = 0;
  call.on('data', () => (responses += 1));
  call.on('error', () => {});
  return new Promise((resolve) => {
    let ended = false;
    call.on('status', (st: { code: status; details: string }) => {
      ended = true;
      clearTimeout(timer);
      resolve({ code: st.code, details: st.details, responses });
    });
    for (const message of s.messages) call.write(message);
    const timer = setTimeout(() => {
      if (!ended) call.cancel(); // still open: the server took it all; end it from our side
    }, 250);
  });
}

describe('xDS (ADS) fuzzing', () => {
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

  it('survives 10,000 malformed SotW and delta requests without INTERNAL, serving a good client throughout', async () => {
    const good = rawSotw(t.endpointd.grpcPort);
    good.send({ node: { id: 'good' }, type_url: TYPE_URL.endpoint, resource_names: ['web.shop:8080'] });
    const first = await good.next(5000);
    good.send({
      type_url: TYPE_URL.endpoint,
      resource_names: ['web.shop:8080'],
      version_info: first.version_info,
      response_nonce: first.nonce,
    });
    const codes = new Map<string, number>();
    const problems: string[] = [];
    let requests = 0;
    let undecodable = 0;
    await Promise.all(fc.sample(stream, { seed: 7, numRuns: 20 }).map((s) => run(client, s)));
    const before = await settledRetainedMiB();

    await fc
      .assert(
        fc.asyncProperty(
          fc.array(stream, { minLength: CONCURRENT, maxLength: CONCURRENT }),
          async (batch) => {
            const outcomes = await Promise.all(batch.map((s) => run(client, s)));
            let ok = true;
            outcomes.forEach((o, i) => {
              const s = batch[i]!;
              requests += s.messages.length;
              const name = status[o.code] ?? String(o.code);
              codes.set(name, (codes.get(name) ?? 0) + 1);
              if (
                o.code === status.INTERNAL &&
                /deserializ/i.test(o.details) &&
                s.messages.some((m) => !decodes(s.kind, m))
              ) {
                undecodable += 1;
                return;
              }
              if (o.code === status.INTERNAL || o.code === status.UNKNOWN || o.code === status.UNAVAILABLE) {
                ok = false;
                if (problems.length < 10) problems.push(`${s.kind} → ${name}: ${o.details}`);
              }
            });
            return ok;
          },
        ),
        { seed: 42, numRuns: STREAMS / CONCURRENT, endOnFailure: true },
      )
      .catch((error: unknown) => {
        throw new Error(`${problems.join('\n')}\n${String(error)}`);
      });

    const afterMiB = await settledRetainedMiB();
    console.log(
      `xDS fuzz: ${requests} requests on ${STREAMS} streams; stream statuses ${JSON.stringify(Object.fromEntries(codes))}; ` +
        `INTERNAL from grpc-js for undecodable bytes: ${undecodable}; retained ${before.toFixed(1)} → ${afterMiB.toFixed(1)} MiB`,
    );
    assert.ok(requests >= 10_000);
    assert.ok(afterMiB - before < 16, `retained memory grew by ${(afterMiB - before).toFixed(1)} MiB`);
    // The good client is still served: a change reaches it.
    await t.write('web.yaml', sliceManifest('shop', 'web', ['10.0.0.1', '10.0.0.7']));
    const update = await good.next(5000);
    assert.equal(update.resources.length, 1, 'the good client got the change');
    assert.equal(good.status, undefined, 'its stream is still open');
    good.close();
  });
});
