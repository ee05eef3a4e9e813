// Reads a BENCH_GRPC_TRACE file (one JSON line a fan-out change, support/grpc-fanout-change-trace.ts) and prints,
// per side and size, each measured change beside what happened during it: collections inside the change (from the
// change to its last receipt) in the server and the clients process, the event loop's longest delay, when the
// subject's last write was handed to grpc-js and completed, each process's CPU and run-queue wait, and the rest of
// the machine's CPU. Changes whose last receipt is over twice their group's median are marked `<<`.
//
//   node bench/fanout-trace-report.ts FILE
import { readFileSync } from 'node:fs';
import type { ChildTrace } from './support/grpc-fanout-trace.ts';
import { median } from './support/stats.ts';

/** What the server or the clients process saw during the change: the trace module's own record. */
type Seen = ChildTrace;
interface Line {
  readonly side: string;
  readonly streams: number;
  readonly measured: boolean;
  readonly clockSkewMs: number;
  readonly first: number;
  readonly p50: number;
  readonly p99: number;
  readonly last: number;
  readonly serverCpu: number;
  readonly serverWait: number;
  readonly serverMainWait: number;
  readonly clientsMainWait: number;
  readonly clientsCpu: number;
  readonly clientsWait: number;
  readonly othersCpu: number;
  readonly steal: number;
  readonly server?: Seen;
  readonly clients?: Seen;
}

const file = process.argv[2];
if (file === undefined) throw new Error('usage: fanout-trace-report.ts FILE');
const lines = readFileSync(file, 'utf8')
  .split('\n')
  .filter((l) => l.trim() !== '')
  .map((l) => JSON.parse(l) as Line);

/** Collections that overlap [0, until] ms of the change: "count×ms (kinds)". */
function gcIn(seen: Seen | undefined, until: number): string {
  if (seen === undefined) return '-';
  const inside = seen.gc.filter((g) => g.at + g.ms >= 0 && g.at <= until);
  if (inside.length === 0) return '0';
  const ms = inside.reduce((sum, g) => sum + g.ms, 0);
  const kinds = [
    ...new Set(inside.map((g) => (g.kind === 1 ? 's' : g.kind === 4 ? 'M' : String(g.kind)))),
  ].join('');
  return `${inside.length}×${ms.toFixed(1)}${kinds}`;
}

const groups = new Map<string, Line[]>();
for (const line of lines) {
  if (!line.measured) continue;
  const key = `${line.side} ${line.streams}`;
  groups.set(key, [...(groups.get(key) ?? []), line]);
}
const f = (n: number | undefined, digits = 1): string => (n === undefined ? '-' : n.toFixed(digits));
for (const [key, group] of groups) {
  const typical = median(group.map((l) => l.last));
  process.stdout.write(
    `\n${key}: ${group.length} changes, median last ${typical.toFixed(1)} ms, ` +
      `clock skew writer→clients ${f(Math.min(...group.map((l) => l.clockSkewMs)), 3)}…` +
      `${f(Math.max(...group.map((l) => l.clockSkewMs)), 3)} ms\n` +
      '     first     p99    last | srv gc      loop  wr.last wr.done  cpu  wait main | cli gc      loop   cpu  wait main | others steal\n',
  );
  for (const l of group) {
    const mark = l.last > 2 * typical ? '<<' : '  ';
    process.stdout.write(
      `${mark} ${f(l.first).padStart(7)} ${f(l.p99).padStart(7)} ${f(l.last).padStart(7)} | ` +
        `${gcIn(l.server, l.last).padEnd(10)} ${f(l.server?.loopMaxMs).padStart(5)} ${f(l.server?.writes?.last).padStart(7)} ` +
        `${f(l.server?.writes?.done).padStart(7)} ${f(l.serverCpu, 0).padStart(4)} ${f(l.serverWait, 0).padStart(5)} ${f(l.serverMainWait, 0).padStart(4)} | ` +
        `${gcIn(l.clients, l.last).padEnd(10)} ${f(l.clients?.loopMaxMs).padStart(5)} ${f(l.clientsCpu, 0).padStart(5)} ` +
        `${f(l.clientsWait, 0).padStart(5)} ${f(l.clientsMainWait, 0).padStart(4)} | ${f(l.othersCpu, 0).padStart(6)} ${f(l.steal, 0).padStart(5)}\n`,
    );
  }
}
