// Child process of test/file-parse-pool.test.ts (run with --expose-gc): how much resident memory the parse workers
// leave behind. Parses N small manifests in batches on one worker, then releases the pool; prints, as one JSON line,
// the RSS of V8's 256 KiB heap pages (/proc/self/smaps) before the pool started, with the worker loaded, and once
// release() has resolved — each after a full GC of this thread, so that only the worker's pages make the difference.
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ParsePool } from '../../src/sources/file/parse-pool.ts';
import type { ReadTask } from '../../src/sources/file/parse-worker.ts';

const FILES = Number(process.argv[2] ?? 2000);
const BATCH = 100;
/**
 * Endpoints per slice: enough for the worker's heap to grow well past the ~6 MB it ends with. With 10, the plain YAML
 * reader now leaves so little garbage that the worker's heap stays near 20 MB, and what a release gives back is close
 * to the test's bound whatever the release does.
 */
const ENDPOINTS = 30;
/**
 * A comment in each file: the worker parses it with js-yaml and checks its objects itself, so that its heap grows.
 * The plain documents of kubectl's style are only written as JSON there (plain-yaml.ts), which leaves the worker's
 * heap near the ~6 MB of its modules: nothing for a release to give back, whatever it does.
 */
const HEAD = '# endpointd pool memory test\n';
const PAGE = 256 * 1024;

/** RSS of the anonymous mappings of exactly one V8 page, in bytes. */
function heapPagesRss(): number {
  let page = false;
  let total = 0;
  for (const line of readFileSync('/proc/self/smaps', 'utf8').split('\n')) {
    const mapping = /^([0-9a-f]+)-([0-9a-f]+) \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (mapping !== null) {
      const size = parseInt(mapping[2] ?? '0', 16) - parseInt(mapping[1] ?? '0', 16);
      page = (mapping[3] ?? '') === '' && size === PAGE;
      continue;
    }
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    if (rss !== null && page) total += Number(rss[1]) * 1024;
  }
  return total;
}

function measured(): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error('run with --expose-gc');
  gc();
  return heapPagesRss();
}

function slice(i: number): string {
  const endpoints = Array.from({ length: ENDPOINTS }, (_, k) =>
    [
      '  - addresses:',
      `      - 10.${i % 250}.${k}.${(i >> 8) % 250}`,
      '    conditions:',
      '      ready: true',
      `    nodeName: node-${k}-${i}`,
      `    zone: zone-${k % 3}`,
      '    targetRef:',
      '      kind: Pod',
      `      name: pod-${i}-abcdefghij-${k}`,
    ].join('\n'),
  );
  return [
    'apiVersion: discovery.k8s.io/v1',
    'kind: EndpointSlice',
    'metadata:',
    `  name: svc-${i}-abcde`,
    '  namespace: memory',
    '  labels:',
    `    kubernetes.io/service-name: svc-${i}`,
    'addressType: IPv4',
    'ports:',
    '  - name: http',
    '    port: 8080',
    'endpoints:',
    ...endpoints,
    '',
  ].join('\n');
}

const dir = await mkdtemp(join(tmpdir(), 'endpointd-pool-memory-'));
try {
  const tasks: ReadTask[] = [];
  for (let i = 0; i < FILES; i++) {
    const path = join(dir, `svc-${i}.yaml`);
    await writeFile(path, HEAD + slice(i));
    tasks.push({ path, maxBytes: 1 << 20, request: { format: 'yaml' } });
  }
  const before = measured();
  const pool = new ParsePool({ size: 1 });
  const runs: Promise<unknown>[] = [];
  for (let i = 0; i < FILES; i += BATCH) runs.push(pool.run(tasks.slice(i, i + BATCH)));
  await Promise.all(runs);
  runs.length = 0;
  measured();
  const loaded = heapPagesRss();
  await pool.release();
  const released = heapPagesRss();
  await pool.close();
  process.stdout.write(`${JSON.stringify({ before, loaded, released })}\n`);
} finally {
  await rm(dir, { recursive: true, force: true });
}
