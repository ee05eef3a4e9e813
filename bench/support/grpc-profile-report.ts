// Where one fan-out change's CPU goes in endpointd's server: reads a V8 CPU profile of the subject (written with
// BENCH_GRPC_CPU_PROF=DIR) and the change times it wrote beside it, keeps the samples of the window after each
// change, and prints per change the milliseconds by function (self time) and by the module they are in.
//
//   node bench/support/grpc-profile-report.ts DIR/CPU.….cpuprofile [--window-ms 600] [--top 25]
//
// The change times are DIR/changes-PID.json (PID from the profile's file name, CPU.DATE.TIME.PID.TID.SEQ), with
// the time the server was told to stop: samples after it are shutdown's, not a change's.
import { readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { parseArgs } from 'node:util';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
  readonly children?: readonly number[];
}

interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly startTime: number;
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { 'window-ms': { type: 'string', default: '600' }, top: { type: 'string', default: '25' } },
});
const file = positionals[0];
if (file === undefined) throw new Error('usage: grpc-profile-report.ts PROFILE.cpuprofile [--window-ms N]');
const pid = basename(file).split('.')[3];
const { changesAtUs: changes, stoppedAtUs } = JSON.parse(
  readFileSync(join(dirname(file), `changes-${pid}.json`), 'utf8'),
) as { changesAtUs: number[]; stoppedAtUs: number };
const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
const windowUs = Number(values['window-ms']) * 1000;

const byId = new Map(profile.nodes.map((node) => [node.id, node]));
const parentOf = new Map<number, number>();
for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node.id);

/** The module a frame belongs to, short: grpc-js's file, node's internal module, our source file. */
function moduleOf(url: string): string {
  if (url === '') return '(native)';
  const grpc = url.indexOf('@grpc/grpc-js/build/src/');
  if (grpc >= 0) return `grpc-js/${url.slice(grpc + '@grpc/grpc-js/build/src/'.length)}`;
  if (url.startsWith('node:')) return url;
  const src = url.indexOf('/src/');
  if (src >= 0) return url.slice(src + 1);
  return basename(url);
}

const selfByFunction = new Map<string, number>();
const selfByModule = new Map<string, number>();
/** Time with the function on the stack (each function once per sample, however deep its recursion). */
const inclusiveByFunction = new Map<string, number>();
const frameKey = (node: ProfileNode): string =>
  `${node.callFrame.functionName || '(anonymous)'} ${moduleOf(node.callFrame.url)}:${node.callFrame.lineNumber + 1}`;
let total = 0;
let inWindows = 0;
let time = profile.startTime;
for (let i = 0; i < profile.samples.length; i++) {
  time += profile.timeDeltas[i] ?? 0;
  const node = byId.get(profile.samples[i] ?? -1);
  if (node === undefined) continue;
  const name = node.callFrame.functionName || '(anonymous)';
  if (name === '(idle)') continue;
  const delta = (profile.timeDeltas[i + 1] ?? 0) / 1000;
  total += delta;
  // A window ends at the next change or at shutdown (which ends every stream: not the fan-out's cost).
  if (time >= stoppedAtUs || !changes.some((at) => time >= at && time < at + windowUs)) continue;
  inWindows += delta;
  const key = frameKey(node);
  const onStack = new Set<string>();
  for (let at: ProfileNode | undefined = node; at !== undefined; at = byId.get(parentOf.get(at.id) ?? -1))
    onStack.add(frameKey(at));
  for (const frame of onStack) inclusiveByFunction.set(frame, (inclusiveByFunction.get(frame) ?? 0) + delta);
  selfByFunction.set(key, (selfByFunction.get(key) ?? 0) + delta);
  const module = moduleOf(node.callFrame.url);
  selfByModule.set(module, (selfByModule.get(module) ?? 0) + delta);
}

const perChange = (ms: number): string => (ms / changes.length).toFixed(2).padStart(8);
const top = Number(values.top);
process.stdout.write(
  `${changes.length} changes; busy ${total.toFixed(0)} ms in the whole profile, ` +
    `${inWindows.toFixed(1)} ms in the ${values['window-ms']} ms after the changes = ${perChange(inWindows)} ms a change\n\n` +
    'ms a change, by module (self time):\n',
);
for (const [module, ms] of [...selfByModule].sort((a, b) => b[1] - a[1]).slice(0, top))
  process.stdout.write(`${perChange(ms)}  ${module}\n`);
process.stdout.write('\nms a change, by function (self time):\n');
for (const [key, ms] of [...selfByFunction].sort((a, b) => b[1] - a[1]).slice(0, top))
  process.stdout.write(`${perChange(ms)}  ${key}\n`);
process.stdout.write('\nms a change, by function (inclusive: on the stack):\n');
for (const [key, ms] of [...inclusiveByFunction].sort((a, b) => b[1] - a[1]).slice(0, top * 2))
  process.stdout.write(`${perChange(ms)}  ${key}\n`);
