// For test/docs-audit.test.ts: the real endpointd in-process on loopback, reading several file sources (each a
// temporary directory of its own, in the order given, as `--source file:A --source file:B` gives them).
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { startEndpointd, type Endpointd } from '../../src/main.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { TEST_CONFIG } from './endpointd.ts';

export interface MultiSourceEndpointd {
  readonly endpointd: Endpointd;
  readonly url: string;
  /** The directories of the sources, in the order of the sources. */
  readonly dirs: readonly string[];
  stop(): Promise<void>;
}

/** endpointd with one file source per entry of `sources` (file name → text), in that order; resolves once synced. */
export async function startMultiSourceEndpointd(
  sources: readonly Record<string, string>[],
): Promise<MultiSourceEndpointd> {
  const dirs: string[] = [];
  for (const files of sources) {
    const dir = await mkdtemp(join(tmpdir(), 'endpointd-docs-audit-'));
    for (const [file, text] of Object.entries(files)) {
      await mkdir(dirname(join(dir, file)), { recursive: true });
      await writeFile(join(dir, file), text);
    }
    dirs.push(dir);
  }
  const logger = createLogger(process.env.TEST_LOG_LEVEL === 'debug' ? 'debug' : 'silent');
  const endpointd = await startEndpointd(
    { ...TEST_CONFIG, sources: dirs.map((path) => ({ kind: 'file' as const, path })) },
    logger,
  );
  await endpointd.synced;
  return {
    endpointd,
    url: `http://127.0.0.1:${endpointd.httpAddress.port}`,
    dirs,
    stop: async () => {
      await endpointd.stop();
      for (const dir of dirs) await rm(dir, { recursive: true, force: true });
    },
  };
}

/** `count` small Endpoints manifests of Services `filler/f1…`, one per file: a source that takes a while to read. */
export function fillerFiles(count: number): Record<string, string> {
  const files: Record<string, string> = {};
  for (let i = 1; i <= count; i++) {
    files[`filler-${String(i).padStart(5, '0')}.yaml`] =
      `apiVersion: v1\nkind: Endpoints\nmetadata: { name: f${i}, namespace: filler }\n` +
      `subsets: [{ addresses: [{ ip: 192.0.2.1 }], ports: [{ port: 80 }] }]\n`;
  }
  return files;
}
