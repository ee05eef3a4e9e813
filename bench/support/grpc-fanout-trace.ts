// What a fan-out change cost besides its receipts, for finding why one change in twenty takes 3–10× the others
// (BENCH_GRPC_TRACE=FILE, bench/compare-fanout.ts and the grpc suite): in the children (subject, clients), their
// collections (perf_hooks' gc entries), the event loop's longest delay, and in the subject when its writes were
// handed to grpc-js and when HTTP/2 completed them; in the parent, how long each process waited for a CPU (the
// second field of Linux's per-thread schedstat: time runnable but not running) and what the rest of the machine ran
// meanwhile (/proc/stat's busy and steal time, less the measured processes' own). Every time is on the monotonic
// clock all processes share (CLOCK_MONOTONIC, process.hrtime), in ms. Nothing of this runs without the variable.
import { createRequire } from 'node:module';
import { readFile } from 'node:fs/promises';
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';

/** The monotonic clock shared by every process of the machine, in ms. */
export function monotonicMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

export const TRACE_FILE = process.env.BENCH_GRPC_TRACE;

/** One collection: when it started (monotonic ms), how long it took, V8's kind (1 scavenge, 4 mark-compact, …). */
export interface GcEntry {
  readonly at: number;
  readonly ms: number;
  readonly kind: number;
}

/** What a child saw since its last report. */
export interface ChildTrace {
  readonly gc: readonly GcEntry[];
  /** The event loop's longest delay (ms) since the last report (monitorEventLoopDelay, 1 ms resolution). */
  readonly loopMaxMs: number;
  /** Subject only: messages handed to grpc-js (count, first, last) and the last write completed. */
  readonly writes?: {
    readonly count: number;
    readonly first: number;
    readonly last: number;
    readonly done: number;
  };
  /** The wall-based clock (timeOrigin + now) minus the monotonic clock, ms: differs between processes if skewed. */
  readonly wallMinusMonotonic: number;
}

/** Child side: starts collecting; report() hands over and resets what was collected. */
export class ChildTraceCollector {
  readonly #gc: GcEntry[] = [];
  readonly #loop = monitorEventLoopDelay({ resolution: 1 });
  /** performance.now()'s origin on the monotonic clock. */
  readonly #origin = monotonicMs() - performance.now();
  #writes: { count: number; first: number; last: number; done: number } | undefined;

  constructor(subject: boolean) {
    new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) {
        const detail = (entry as { detail?: { kind?: number } }).detail;
        this.#gc.push({ at: this.#origin + entry.startTime, ms: entry.duration, kind: detail?.kind ?? 0 });
      }
    }).observe({ entryTypes: ['gc'] });
    this.#loop.enable();
    if (subject) this.#hookWrites();
  }

  report(): ChildTrace {
    const trace: ChildTrace = {
      gc: this.#gc.splice(0),
      loopMaxMs: this.#loop.max / 1e6,
      writes: this.#writes,
      wallMinusMonotonic: performance.timeOrigin + performance.now() - monotonicMs(),
    };
    this.#loop.reset();
    if (this.#writes !== undefined) this.#writes = { count: 0, first: 0, last: 0, done: 0 };
    return trace;
  }

  /** Wraps grpc-js's server call's sendMessage (the one every Watch message passes) to time the writes. */
  #hookWrites(): void {
    const module = createRequire(import.meta.url)('@grpc/grpc-js/build/src/server-interceptors.js') as {
      BaseServerInterceptingCall: {
        prototype: { sendMessage: (this: unknown, message: unknown, callback?: () => void) => void };
      };
    };
    const proto = module.BaseServerInterceptingCall.prototype;
    const original = proto.sendMessage;
    const writes = { count: 0, first: 0, last: 0, done: 0 };
    this.#writes = writes;
    const current = (): typeof writes => this.#writes ?? writes;
    proto.sendMessage = function tracedSendMessage(message, callback) {
      const w = current();
      const at = monotonicMs();
      if (w.count === 0) w.first = at;
      w.count += 1;
      w.last = at;
      original.call(this, message, () => {
        current().done = monotonicMs();
        callback?.();
      });
    };
  }
}

/** The machine's busy and steal time so far (ms, all CPUs), from /proc/stat's first line. */
export async function machineTimes(): Promise<{ busy: number; steal: number }> {
  const line = (await readFile('/proc/stat', 'utf8')).split('\n')[0] ?? '';
  // cpu user nice system idle iowait irq softirq steal guest guest_nice, in USER_HZ (100 a second)
  const [user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number);
  const tick = 10;
  return {
    busy: ((user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0)) * tick,
    steal: (steal ?? 0) * tick,
  };
}
