// A/B of the gRPC Watch fan-out: this checkout's endpointd against another checkout's (e.g. main, unpacked with
// `git archive main | tar -x -C /tmp/base` and a node_modules symlink) and etcd, all open at once and their
// changes interleaved, with the harness of the grpc-discovery suite. For judging a change to the fan-out path in
// one run on one machine, where two separate runs of the suite differ by more than the change does.
//
//   node bench/compare-fanout.ts --baseline-tree /tmp/base [--streams 1000,10000] [--changes 6] [--no-etcd]
//
// --no-etcd leaves etcd out (a profiling run of endpointd's side alone, BENCH_GRPC_CPU_PROF).
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import {
  captureWatchMessages,
  measureFanOuts,
  WARM_UP_MS,
  type FanOutSide,
} from './suites/grpc-discovery.ts';
import { findEtcd } from './support/etcd.ts';

const { values } = parseArgs({
  options: {
    'baseline-tree': { type: 'string' },
    streams: { type: 'string', default: '100,1000,10000' },
    changes: { type: 'string', default: '6' },
    'no-etcd': { type: 'boolean', default: false },
  },
});

const sizes = values.streams.split(',').map(Number);
const changes = Number(values.changes);
const baselineTree = values['baseline-tree'];
const etcd = values['no-etcd']
  ? { available: false as const, reason: 'left out (--no-etcd)' }
  : await findEtcd();
const sides: Array<{ label: string; side: FanOutSide }> = [{ label: 'this', side: { kind: 'endpointd' } }];
if (baselineTree !== undefined)
  sides.push({ label: 'baseline', side: { kind: 'endpointd', tree: baselineTree } });
if (etcd.available) sides.push({ label: 'etcd', side: { kind: 'etcd', binary: etcd.path } });
else process.stderr.write(`etcd: ${etcd.reason}\n`);

const captured = await captureWatchMessages();
for (const streams of sizes) {
  const before = loadavg()[0] ?? 0;
  const figures = await measureFanOuts(
    sides.map((s) => s.side),
    captured,
    streams,
    changes,
    WARM_UP_MS,
  );
  const after = loadavg()[0] ?? 0;
  const line = sides
    .map(({ label }, i) => {
      const f = figures[i];
      return f === undefined
        ? `${label}: -`
        : `${label}: first ${f.first.toFixed(1)} p50 ${f.p50.toFixed(1)} p99 ${f.p99.toFixed(1)} ` +
            `last ${f.last.toFixed(1)} ms (${f.lasts.map((ms) => ms.toFixed(0)).join(' ')}), ` +
            `CPU server ${f.serverCpuMs.toFixed(1)} clients ${f.clientsCpuMs.toFixed(1)} ms`;
    })
    .join('\n  ');
  process.stdout.write(
    `${streams} streams × ${changes} changes (load ${before.toFixed(1)}→${after.toFixed(1)}):\n  ${line}\n`,
  );
}
