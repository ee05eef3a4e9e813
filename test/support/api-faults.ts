// The faults a fake kube-apiserver can play on endpointd, one catalog for every fault matrix (one cluster:
// test/fault-matrix.test.ts; several: test/multicluster-fault-matrix.test.ts): watches ended, 410 storms,
// compaction, 429 with Retry-After, 500 and 503, sockets cut mid-event, stalls before and after headers, and the API
// server gone. Each brings its fault on, lets the test change the cluster meanwhile, and says when it was over.
import assert from 'node:assert/strict';
import type { FakeApiServer, FaultStatus } from './fake-apiserver/index.ts';
import { get } from './http.ts';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export interface Fault {
  readonly title: string;
  /**
   * Brings the fault on, calls `mutate()` (the cluster changes) while it is active, ends it, and resolves with
   * performance.now() at the moment the API server behaved again.
   */
  run(api: FakeApiServer, mutate: () => Promise<void>, probe: FaultProbe): Promise<number>;
}

/** What a fault may use while it is on: the endpointd under test and a Service it must keep serving. */
export interface FaultProbe {
  readonly url: string;
  /** A Service the faulted API server defined before the fault. */
  readonly kept: { readonly namespace: string; readonly name: string };
  /** Changes the kept Service on the faulted API server (an event to have in flight), the `n`th time. */
  touch(n: number): void;
  /** More checks while the API server is gone (e.g. that the answers say it is stale). */
  duringOutage?(): Promise<void>;
}

/** Arms `times` injected failures and waits until all were served; resolves with when the last one was. */
async function failureStorm(
  api: FakeApiServer,
  mutate: () => Promise<void>,
  options: { status: FaultStatus; times: number; verb: 'any' | 'list' | 'watch'; retryAfterSeconds?: number },
  trigger: () => void,
): Promise<number> {
  const from = api.requests.length;
  api.failNext({
    verb: options.verb,
    status: options.status,
    times: options.times,
    ...(options.retryAfterSeconds === undefined ? {} : { retryAfterSeconds: options.retryAfterSeconds }),
  });
  trigger();
  await mutate();
  const failed = () => api.requests.slice(from).filter((r) => r.status === options.status);
  await api.waitFor(() => failed().length >= options.times, 20_000, `${options.times} × ${options.status}`);
  // performance.now() of the moment the last failure was answered (request log times are Date.now()).
  const last = failed()[options.times - 1]?.at ?? Date.now();
  return performance.now() - (Date.now() - last);
}

/**
 * Every fault the fake API server can play, in the matrix's order. `downMs`: how long the API server is gone in
 * the last one (30 s in the single-cluster matrix: past every backoff cap).
 */
export function apiServerFaults({ downMs = 30_000 }: { readonly downMs?: number } = {}): readonly Fault[] {
  return [
    {
      title: 'no fault (baseline propagation)',
      run: async (_api, mutate) => {
        await mutate();
        return performance.now();
      },
    },
    {
      title: 'watches ended, again and again (1.5 s)',
      run: async (api, mutate) => {
        const ender = setInterval(() => api.endAllWatches(), 100);
        await sleep(300);
        await mutate();
        await sleep(1200);
        clearInterval(ender);
        return performance.now();
      },
    },
    {
      title: '410 storm (ERROR event, then 4 × HTTP 410 on watch)',
      run: (api, mutate) =>
        failureStorm(api, mutate, { status: 410, times: 4, verb: 'watch' }, () => api.sendExpiredOnWatches()),
    },
    {
      title: 'compaction while disconnected (resume from a compacted RV)',
      run: async (api, mutate) => {
        api.stall({ verb: 'watch', phase: 'before-headers' });
        const from = api.requests.length;
        api.endAllWatches();
        await api.waitFor(
          () => api.requests.slice(from).filter((r) => r.verb === 'watch').length >= 2,
          5000,
          'the re-watches',
        );
        await mutate();
        api.compact();
        api.unstall();
        return performance.now();
      },
    },
    {
      title: '429 storm with Retry-After: 1 (3 in a row)',
      run: (api, mutate) =>
        failureStorm(api, mutate, { status: 429, times: 3, verb: 'any', retryAfterSeconds: 1 }, () =>
          api.endAllWatches(),
        ),
    },
    {
      title: '500 storm on watch (6 in a row)',
      run: (api, mutate) =>
        failureStorm(api, mutate, { status: 500, times: 6, verb: 'watch' }, () => api.endAllWatches()),
    },
    {
      title: '503 storm on relist (410, then 4 × 503 on list)',
      run: (api, mutate) =>
        failureStorm(api, mutate, { status: 503, times: 4, verb: 'list' }, () => api.sendExpiredOnWatches()),
    },
    {
      title: 'watch sockets destroyed mid-event (3 times)',
      run: async (api, mutate, probe) => {
        for (let i = 0; i < 3; i += 1) {
          api.splitNextEvent({ pieces: 4, delayMs: 60 });
          if (i === 1) await mutate();
          else probe.touch(i);
          await sleep(80); // the first piece is out, the rest is not
          api.destroyWatchSockets();
          await sleep(300);
        }
        return performance.now();
      },
    },
    {
      title: 'stall before headers (every request, 2 s)',
      run: async (api, mutate) => {
        api.stall({ verb: 'any', phase: 'before-headers' });
        api.endAllWatches();
        await sleep(200);
        await mutate();
        await sleep(1800);
        api.unstall();
        return performance.now();
      },
    },
    {
      title: 'stall after headers (silent watches, 3 s)',
      run: async (api, mutate) => {
        api.stall({ verb: 'watch', phase: 'after-headers' });
        await sleep(200);
        await mutate();
        await sleep(2800); // past endpointd's idle timeout (1.5 s here): it cuts and reopens, into the stall again
        api.unstall();
        return performance.now();
      },
    },
    {
      title: `API server down for ${downMs / 1000} s`,
      run: async (api, mutate, probe) => {
        await api.stopListening();
        await sleep(Math.min(2000, downMs / 4));
        await mutate();
        // Meanwhile the last known state is still served, and the source said to be failing.
        const { namespace, name } = probe.kept;
        const during = await get(`${probe.url}/v1/namespaces/${namespace}/services/${name}`);
        assert.equal(during.status, 200, 'the last known state is served during the outage');
        const ready = await get(`${probe.url}/readyz`);
        assert.match(ready.text, /ECONNREFUSED|fetch failed|error/i, `readiness detail: ${ready.text}`);
        await probe.duringOutage?.();
        await sleep(downMs - Math.min(2000, downMs / 4));
        await api.resumeListening();
        return performance.now();
      },
    },
  ];
}
