// The endpointd the Kubernetes, file-source and multicluster suites start is the one the image runs: the compiled
// modules of dist/ (`npm run build`), not the TypeScript sources a checkout runs through Node's type stripping,
// which loads a compiler of its own (amaro: ~17 MB of RSS and ~100 ms of start-up the image does not have).
// BENCH_ENDPOINTD_DIST=0 measures the checkout's sources instead (bench/support/kube-endpointd-child.ts reads it).
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Whether the endpointd children run dist/ (the default) or src/. */
export function measuresCompiledEndpointd(): boolean {
  return process.env.BENCH_ENDPOINTD_DIST !== '0';
}

let built: Promise<void> | undefined;

/** Builds dist/ from this checkout once per bench process (a stale dist/ would measure other code). */
export function ensureEndpointdBuilt(log: (message: string) => void): Promise<void> {
  if (!measuresCompiledEndpointd()) {
    log('endpointd children run the TypeScript sources (BENCH_ENDPOINTD_DIST=0)');
    return Promise.resolve();
  }
  built ??= (async () => {
    const started = performance.now();
    await promisify(execFile)('npm', ['run', 'build'], { cwd: ROOT, timeout: 180_000 });
    log(
      `built dist/ (npm run build, ${Math.round(performance.now() - started)} ms): the children run it, as the image does`,
    );
  })();
  return built;
}
