// The parent's side of BENCH_GRPC_TRACE (grpc-fanout-trace.ts has the children's): one JSON line a fan-out change
// in the trace file, with its receipts' figures, the CPU and run-queue wait of the server and the clients process,
// the rest of the machine's CPU meanwhile, and what the children saw (collections, event-loop delay, the subject's
// writes), every time relative to the change on the shared monotonic clock. For bench/fanout-trace-report.ts.
import { appendFile } from 'node:fs/promises';
import type { FanOutTarget } from '../suites/grpc-discovery.ts';
import type { Role } from './grpc-bench.ts';
import { machineTimes, monotonicMs, type ChildTrace } from './grpc-fanout-trace.ts';
import { schedstat } from './grpc-process-cpu.ts';
import { percentile } from './stats.ts';

type Sched = Awaited<ReturnType<typeof schedstat>>;

export class ChangeTrace {
  readonly #target: FanOutTarget;
  readonly #clients: Role;
  #before:
    { server: Sched; clients: Sched; machine: { busy: number; steal: number }; at: number } | undefined;

  constructor(target: FanOutTarget, clients: Role) {
    this.#target = target;
    this.#clients = clients;
  }

  /** Resets the children's traces and takes the counters at the start of the change's window. */
  async start(): Promise<void> {
    await Promise.all([this.#ask(this.#target.writer), this.#ask(this.#clients)]);
    const [server, clients, machine] = await Promise.all([
      schedstat(this.#target.serverPid),
      schedstat(this.#clients.pid),
      machineTimes(),
    ]);
    this.#before = { server, clients, machine, at: monotonicMs() };
  }

  /** The change's line: `changedAt` on the writer's wall-based clock, `receipts` on the clients'. */
  async stop(
    file: string,
    change: { measured: boolean; changedAt: number; receipts: readonly number[] },
  ): Promise<void> {
    const before = this.#before;
    if (before === undefined) return;
    const [server, clients, machine] = await Promise.all([
      schedstat(this.#target.serverPid),
      schedstat(this.#clients.pid),
      machineTimes(),
    ]);
    const windowMs = monotonicMs() - before.at;
    const [writer, receiver] = await Promise.all([this.#ask(this.#target.writer), this.#ask(this.#clients)]);
    const delta = (a: Sched, b: Sched, field: 'cpu' | 'wait' | 'mainCpu' | 'mainWait'): number =>
      a === undefined || b === undefined ? Number.NaN : (b[field] - a[field]) / 1e6;
    const serverCpu = delta(before.server, server, 'cpu');
    const clientsCpu = delta(before.clients, clients, 'cpu');
    // The change on the monotonic clock, and the receipts (each process's wall-based clock, corrected).
    const changed = change.changedAt - (writer?.wallMinusMonotonic ?? 0);
    const received = change.receipts.map((at) => at - (receiver?.wallMinusMonotonic ?? 0) - changed);
    const relative = (trace: ChildTrace | undefined) =>
      trace === undefined
        ? undefined
        : {
            gc: trace.gc.map((g) => ({
              at: +(g.at - changed).toFixed(2),
              ms: +g.ms.toFixed(2),
              kind: g.kind,
            })),
            loopMaxMs: trace.loopMaxMs,
            writes:
              trace.writes === undefined || trace.writes.count === 0
                ? undefined
                : {
                    count: trace.writes.count,
                    first: +(trace.writes.first - changed).toFixed(2),
                    last: +(trace.writes.last - changed).toFixed(2),
                    done: +(trace.writes.done - changed).toFixed(2),
                  },
          };
    const line = {
      side: this.#target.label,
      streams: change.receipts.length,
      measured: change.measured,
      // What the wall-based clocks of writer and clients would have added to every receipt (skew between them).
      clockSkewMs: +((receiver?.wallMinusMonotonic ?? 0) - (writer?.wallMinusMonotonic ?? 0)).toFixed(3),
      first: +Math.min(...received).toFixed(2),
      p50: +percentile(received, 50).toFixed(2),
      p99: +percentile(received, 99).toFixed(2),
      last: +Math.max(...received).toFixed(2),
      windowMs: +windowMs.toFixed(1),
      serverCpu: +serverCpu.toFixed(1),
      serverWait: +delta(before.server, server, 'wait').toFixed(1),
      serverMainWait: +delta(before.server, server, 'mainWait').toFixed(1),
      clientsCpu: +clientsCpu.toFixed(1),
      clientsMainWait: +delta(before.clients, clients, 'mainWait').toFixed(1),
      clientsWait: +delta(before.clients, clients, 'wait').toFixed(1),
      // The machine's busy time less the two measured processes' (/proc/stat counts 10 ms ticks: coarse).
      othersCpu: +(machine.busy - before.machine.busy - serverCpu - clientsCpu).toFixed(0),
      steal: machine.steal - before.machine.steal,
      server: relative(this.#target.label === 'etcd' ? undefined : writer),
      clients: relative(receiver),
    };
    await appendFile(file, `${JSON.stringify(line)}\n`);
  }

  async #ask(role: Role): Promise<ChildTrace | undefined> {
    return (await role.ask({ type: 'trace' }, 'trace', 10_000)).trace;
  }
}
