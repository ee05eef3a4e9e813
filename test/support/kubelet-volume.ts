// Writes a directory exactly as kubelet's atomic writer (pkg/volume/util/atomic_writer.go) writes a ConfigMap,
// Secret or projected volume: the payload in a new `..<timestamp>.<random>` directory, a `..data_tmp` symlink to it
// renamed over `..data`, a visible symlink `<first path part>` → `..data/<first path part>` per key, old keys'
// visible symlinks removed, then the old timestamped directory. See shared/notes/kubelet-volumes.md.
import { lstat, mkdir, mkdtemp, readlink, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

export class KubeletVolume {
  readonly dir: string;
  /** Pause between the writer's steps, so that a reader sees every in-between state (kubelet's are microseconds). */
  readonly #stepDelayMs: number;
  #keys = new Set<string>();
  /** Date.now() when the last write renamed `..data`: the moment the new payload took effect. */
  swappedAt = 0;

  constructor(dir: string, options: { stepDelayMs?: number } = {}) {
    this.dir = dir;
    this.#stepDelayMs = options.stepDelayMs ?? 0;
  }

  /** Replaces the whole payload (key: a relative path, possibly with directories; value: the file's content). */
  async write(payload: Readonly<Record<string, string>>): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    const stamp = new Date().toISOString().replace(/[-:T]/g, '_').replace(/\..*$/, '');
    const snapshot = await mkdtemp(join(this.dir, `..${stamp}.`));
    for (const [key, content] of Object.entries(payload)) {
      await mkdir(dirname(join(snapshot, key)), { recursive: true });
      await writeFile(join(snapshot, key), content, { mode: 0o644 });
    }
    const dataLink = join(this.dir, '..data');
    const previous = await readlink(dataLink).catch(() => undefined);
    await this.#step();
    const tmp = join(this.dir, '..data_tmp');
    await symlink(basename(snapshot), tmp);
    await this.#step();
    await rename(tmp, dataLink);
    this.swappedAt = Date.now();
    await this.#step();
    const visible = (key: string): string => key.split('/')[0] ?? key;
    const next = new Set(Object.keys(payload).map(visible));
    for (const name of next) {
      const path = join(this.dir, name);
      if ((await lstat(path).catch(() => undefined)) === undefined) {
        await symlink(join('..data', name), path);
      }
    }
    await this.#step();
    for (const name of this.#keys) if (!next.has(name)) await rm(join(this.dir, name), { force: true });
    await this.#step();
    if (previous !== undefined) await rm(join(this.dir, previous), { recursive: true, force: true });
    this.#keys = next;
  }

  async #step(): Promise<void> {
    if (this.#stepDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.#stepDelayMs));
  }
}
