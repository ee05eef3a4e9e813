// Attack on the file source's big-set passes (round 6): kubelet swaps `..data` while a pass over many files is
// reading the previous snapshot, which kubelet deletes right after the swap. Every snapshot holds every key (only
// the addresses change), so no Service may ever be missing from the store — not even between two passes. Real
// endpointd, real files in kubelet's atomic-writer layout (shared/notes/kubelet-volumes.md), the swap done with
// kubelet's last three steps (`..data_tmp` symlink, rename over `..data`, old directory removed).
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readlink, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { describe, it } from 'node:test';
import { startEndpointd } from '../src/main.ts';
import { createLogger } from '../src/observability/logger.ts';
import { sliceManifest, TEST_CONFIG } from './support/endpointd.ts';

const FILES = 1200;
const SWAPS = 6;

const names = Array.from({ length: FILES }, (_, i) => `svc-${i}.yaml`);

/** A complete snapshot directory of generation `g`, written before any swap so that the swaps come fast. */
async function snapshot(dir: string, g: number): Promise<string> {
  const path = join(dir, `..2026_12_01_20_00_0${g}.${1000 + g}`);
  await mkdir(path);
  for (let i = 0; i < FILES; i += 100) {
    await Promise.all(
      names
        .slice(i, i + 100)
        .map((name, j) =>
          writeFile(
            join(path, name),
            sliceManifest('shop', `svc-${i + j}`, [`10.${g}.${(i + j) >> 8}.${(i + j) & 255}`]),
          ),
        ),
    );
  }
  return path;
}

/** kubelet's swap: `..data_tmp` → the new snapshot, renamed over `..data`, the previous snapshot deleted. */
async function swap(dir: string, next: string): Promise<void> {
  const data = join(dir, '..data');
  const previous = await readlink(data);
  await symlink(basename(next), join(dir, '..data_tmp'));
  await rename(join(dir, '..data_tmp'), data);
  await rm(join(dir, previous), { recursive: true, force: true });
}

describe("kubelet's ..data swap while a pass reads the previous snapshot", () => {
  it('never removes a Service that every snapshot holds', async () => {
    const root = await mkdtemp(join(tmpdir(), 'endpointd-attack6-swap-'));
    const dir = join(root, 'static');
    await mkdir(dir);
    const snapshots: string[] = [];
    for (let g = 0; g <= SWAPS; g++) snapshots.push(await snapshot(dir, g));
    await symlink(basename(snapshots[0] ?? ''), join(dir, '..data'));
    for (const name of names) await symlink(join('..data', name), join(dir, name));
    const endpointd = await startEndpointd(
      { ...TEST_CONFIG, sources: [{ kind: 'file', path: dir }] },
      createLogger('silent'),
    );
    let fewest = Number.POSITIVE_INFINITY;
    let watching = true;
    try {
      await endpointd.synced;
      assert.equal(endpointd.store.stats().services, FILES);
      // The store's count, looked at on every turn of the event loop while the swaps run.
      const watch = (async () => {
        while (watching) {
          fewest = Math.min(fewest, endpointd.store.stats().services);
          await new Promise((resolve) => setImmediate(resolve));
        }
      })();
      for (let g = 1; g <= SWAPS; g++) {
        await swap(dir, snapshots[g] ?? '');
        // The pass this swap starts (after the 30 ms settle) is reading when the next swap deletes its snapshot.
        await new Promise((resolve) => setTimeout(resolve, 30 + 25 * g));
      }
      // Marker: the last generation's addresses served everywhere.
      const deadline = Date.now() + 20_000;
      while (
        endpointd.store.get({ namespace: 'shop', name: `svc-${FILES - 1}` })?.endpoints[0]?.addresses[0] !==
        `10.${SWAPS}.${(FILES - 1) >> 8}.${(FILES - 1) & 255}`
      ) {
        assert.ok(Date.now() < deadline, 'the last snapshot is served within 20 s');
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      watching = false;
      await watch;
      assert.equal(endpointd.store.stats().services, FILES);
      assert.equal(fewest, FILES, `at one moment only ${fewest} of ${FILES} Services were served`);
    } finally {
      watching = false;
      await endpointd.stop();
      await rm(root, { recursive: true, force: true });
    }
  });
});
