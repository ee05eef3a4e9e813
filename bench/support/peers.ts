// Finding the peers a suite measures against (etcd, h2load, …): an executable on PATH or named by an environment
// variable, or the reason it cannot be used, so that the suite reports its rows as skipped instead of guessing.
import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { delimiter, isAbsolute, join } from 'node:path';

export type PeerAvailability =
  | { readonly available: true; readonly path: string }
  | { readonly available: false; readonly reason: string };

/**
 * The path in the environment variable `overrideVariable` if it is set, else `name` on PATH. `missing` is the
 * reason given when neither is executable, e.g. "etcd not installed: apt-get install etcd-server".
 */
export async function findExecutable(
  name: string,
  overrideVariable: string,
  missing: string,
): Promise<PeerAvailability> {
  const override = process.env[overrideVariable];
  if (override !== undefined && override !== '') {
    return (await isExecutable(override))
      ? { available: true, path: override }
      : { available: false, reason: `${overrideVariable}=${override} is not an executable (${missing})` };
  }
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir === '' || !isAbsolute(dir)) continue;
    const candidate = join(dir, name);
    if (await isExecutable(candidate)) return { available: true, path: candidate };
  }
  return { available: false, reason: missing };
}

async function isExecutable(path: string): Promise<boolean> {
  return access(path, constants.X_OK).then(
    () => true,
    () => false,
  );
}
