// An 8 MB manifest (about 2,000 Services) served by the real endpointd: one edit to it is applied while lookups keep
// being answered, a watcher sees that one Service change and no other, and the event loop never stalls for anything
// like the time parsing the file takes (the edited document is the only one parsed again, off the event loop).
// Compared with that parse time measured in the same test on the same machine, since a loaded CI box slows both
// alike; the absolute goals (applied within 1 s, no delay over 50 ms) are the benchmark's (bench/suites/file-source.ts).
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { describe, it } from 'node:test';
import { parseFile } from '../src/sources/file/parse-file.ts';
import { sliceManifest, startTestEndpointd } from './support/endpointd.ts';
import { EventStream, get } from './support/http.ts';

const EIGHT_MB = 8 * 2 ** 20;

/** About 8 MB of manifests; `edits` gives some Services other first IPs. */
function bigManifest(edits: Record<number, string> = {}): { text: string; services: number } {
  const parts: string[] = [];
  let bytes = 0;
  for (let i = 0; bytes < EIGHT_MB; i++) {
    const ips = Array.from({ length: 10 }, (_, e) => `10.${Math.floor(i / 250) % 250}.${i % 250}.${e + 1}`);
    const edited = edits[i];
    const part = sliceManifest(
      `ns-${Math.floor(i / 100)}`,
      `svc-${i}`,
      edited === undefined ? ips : [edited, ...ips.slice(1)],
    );
    parts.push(part);
    bytes += part.length + 4;
  }
  return { text: parts.join('---\n'), services: parts.length };
}

interface ServiceBody {
  readonly version: string;
  readonly endpoints: ReadonlyArray<{ readonly addresses: readonly string[] }>;
}

describe('file source, an 8 MB manifest', () => {
  it('applies one edit while lookups keep being answered, changing that one Service only', async () => {
    const first = bigManifest();
    const t = await startTestEndpointd({ 'big.yaml': first.text });
    const stream = await EventStream.open(`${t.url}/v1/watch?namespace=ns-10`);
    try {
      const lookup = (name: string) => get(`${t.url}/v1/namespaces/ns-10/services/${name}`);
      assert.equal(t.endpointd.store.list().length, first.services);
      await stream.until('SYNCED');
      const untouched = (await lookup('svc-1050')).json<ServiceBody>().version;
      const parseStarted = performance.now();
      parseFile(await readFile(join(t.dir, 'big.yaml')), { format: 'yaml' });
      const parseMs = performance.now() - parseStarted;

      const histogram = monitorEventLoopDelay({ resolution: 1 });
      histogram.enable();
      const started = performance.now();
      await t.write('big.yaml', bigManifest({ 1000: '10.255.0.2' }).text);
      // Lookups of the edited Service and of one beside it, back to back, until the edit is served.
      const answers: Array<{ readonly status: number; readonly first: string | undefined }> = [];
      for (;;) {
        for (const name of ['svc-1000', 'svc-1050']) {
          const answer = await lookup(name);
          answers.push({
            status: answer.status,
            first: answer.status === 200 ? answer.json<ServiceBody>().endpoints[0]?.addresses[0] : undefined,
          });
        }
        if (answers.at(-2)?.first === '10.255.0.2') break;
        // Generous: timing is the benchmark's; this only keeps a lost edit from looping until the test's timeout.
        assert.ok(performance.now() - started < 30_000, 'the edit was not applied within 30 s');
      }
      const applyMs = performance.now() - started;
      histogram.disable();
      const worstMs = histogram.max / 1e6;

      assert.deepEqual(
        answers.filter((a) => a.status !== 200),
        [],
        'every lookup is answered while the file is read',
      );
      assert.ok(answers.length >= 4, `${answers.length} lookups answered while the edit was applied`);
      assert.ok(
        worstMs < parseMs / 3,
        `worst event-loop delay ${worstMs.toFixed(1)} ms while parsing on the loop takes ${parseMs.toFixed(0)} ms (applied after ${applyMs.toFixed(0)} ms)`,
      );
      assert.equal((await lookup('svc-1050')).json<ServiceBody>().version, untouched);
      assert.equal(t.endpointd.store.list().length, first.services);

      // The marker: a second edit, of another Service. Anything the first edit sent wrongly arrives before it.
      await t.write('big.yaml', bigManifest({ 1000: '10.255.0.2', 1001: '10.255.0.3' }).text);
      const events = await stream.until('MODIFIED', 30_000);
      const more = await stream.until('MODIFIED', 30_000);
      const changes = [...events, ...more]
        .filter((e) => e.data.type !== 'HEARTBEAT')
        .map((e) => `${e.data.type} ${String(e.data.name)}`);
      assert.deepEqual(changes, ['MODIFIED svc-1000', 'MODIFIED svc-1001']);
    } finally {
      stream.close();
      await t.stop();
    }
  });
});
