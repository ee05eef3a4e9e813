// Error messages sized by us, not by the attacker: requests with 100,000 bad names, huge values and a thousand
// unknown parameters get a prompt INVALID_ARGUMENT / 400 that lists the first problems, counts the others and
// clips each quoted value — on the gRPC door and the REST door alike.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { status, type ServiceError } from '@grpc/grpc-js';
import type { ProblemBody } from '../src/api/rest/wire.ts';
import { MAX_LISTED_PROBLEMS } from '../src/limits/bounded-text.ts';
import { fetchWith, GrpcCaller } from './support/auth-clients.ts';
import { sliceManifest, startTestEndpointd, type TestEndpointd } from './support/endpointd.ts';

/** The most bytes an error message may take, whatever the request: ten problems, each value clipped. */
const MAX_MESSAGE_BYTES = 4096;

describe('bounded error messages', () => {
  let e: TestEndpointd;
  let grpc: GrpcCaller;
  before(async () => {
    e = await startTestEndpointd({ 'web.yaml': sliceManifest('demo', 'web', ['10.0.0.1']) });
    grpc = new GrpcCaller(e.endpointd.grpcPort);
  });
  after(async () => {
    grpc.close();
    await e.stop();
  });

  async function watchError(request: object): Promise<{ error: ServiceError; ms: number }> {
    const started = performance.now();
    const error = await grpc.watch(request).ended;
    assert.ok(error !== undefined, 'the Watch is refused');
    return { error, ms: performance.now() - started };
  }

  it('answers a gRPC Watch of 100,000 bad names (~800 KB) at once with a short INVALID_ARGUMENT', async () => {
    const services = Array.from({ length: 100_000 }, (_, i) => ({ namespace: 'Bad_NS', name: `X${i}` }));
    const { error, ms } = await watchError({ services });
    assert.equal(error.code, status.INVALID_ARGUMENT);
    assert.match(error.details, /at most 1000 services per stream, got 100000/);
    assert.ok(Buffer.byteLength(error.details) < MAX_MESSAGE_BYTES, `${error.details.length} characters`);
    assert.ok(ms < 5000, `answered after ${ms.toFixed(0)} ms`);
  });

  it('lists the first problems of a gRPC request, counts the rest and clips each quoted value', async () => {
    const huge = 'Q'.repeat(1500); // 1,000 × 2 × 1.5 KB: within the 4 MiB message limit
    const services = Array.from({ length: 1000 }, () => ({ namespace: huge, name: huge }));
    const { error } = await watchError({ services });
    assert.equal(error.code, status.INVALID_ARGUMENT);
    assert.ok(Buffer.byteLength(error.details) < MAX_MESSAGE_BYTES, `${error.details.length} characters`);
    assert.match(
      error.details,
      /^services\[0\]\.namespace: "Q{100}"… \(1500 characters\) is not a valid name/,
    );
    assert.match(error.details, new RegExp(`and ${2000 - MAX_LISTED_PROBLEMS} more problems$`));
    // 100,000 bad known versions, with a watch of everything: the same bounds.
    const known = Array.from({ length: 100_000 }, () => ({ namespace: 'x', name: 'y', version: '' }));
    const second = await watchError({ known });
    assert.equal(second.error.code, status.INVALID_ARGUMENT);
    assert.ok(Buffer.byteLength(second.error.details) < MAX_MESSAGE_BYTES);
    assert.match(second.error.details, /and 99990 more problems$/);
    assert.ok(second.ms < 5000, `answered after ${second.ms.toFixed(0)} ms`);
  });

  it('answers a REST lookup with a thousand unknown parameters with a short 400 that counts them', async () => {
    const query = Array.from({ length: 1000 }, (_, i) => `p${i}=1`).join('&');
    const answer = await fetchWith(`${e.url}/v1/namespaces/demo/services/web?${query}`);
    assert.equal(answer.status, 400);
    assert.ok(answer.text.length < MAX_MESSAGE_BYTES * 2, `${answer.text.length} bytes`);
    const body = JSON.parse(answer.text) as ProblemBody;
    assert.equal(body.invalidParams?.length, MAX_LISTED_PROBLEMS);
    assert.match(body.detail, /and 990 more problems$/);
  });

  it('clips a huge value or path quoted in a REST answer', async () => {
    const huge = 'a'.repeat(12_000);
    const port = await fetchWith(`${e.url}/v1/namespaces/demo/services/web?port=${huge}`);
    assert.equal(port.status, 400);
    assert.ok(port.text.length < MAX_MESSAGE_BYTES, `${port.text.length} bytes`);
    const wait = await fetchWith(`${e.url}/v1/namespaces/demo/services/web?wait=${huge}`);
    assert.match((JSON.parse(wait.text) as ProblemBody).detail, /\(12000 characters\)/);
    const name = await fetchWith(`${e.url}/v1/namespaces/demo/services/${huge.toUpperCase()}`);
    assert.equal(name.status, 400);
    assert.ok(name.text.length < MAX_MESSAGE_BYTES, `${name.text.length} bytes`);
    // A bare number is no duration (Go-style, as documented): 30 could be seconds or milliseconds.
    const bare = await fetchWith(`${e.url}/v1/namespaces/demo/services/web?wait=30`);
    assert.equal(bare.status, 400);
    assert.match((JSON.parse(bare.text) as ProblemBody).detail, /wait: must be a duration .*e\.g\. 30s/);
    const nowhere = await fetchWith(`${e.url}/${huge}`);
    assert.equal(nowhere.status, 404);
    assert.ok(nowhere.text.length < MAX_MESSAGE_BYTES, `${nowhere.text.length} bytes`);
  });
});
