// The shape of bench/report.json, the machine description that goes with it, and the table printed to the terminal.
// Every suite returns BenchResult rows; this module is the only one that knows how they are written and shown.
import { writeFile } from 'node:fs/promises';
import os from 'node:os';
import { ratio as safeRatio } from './stats.ts';

/**
 * One figure. `baseline*` name what it is compared with (null: nothing); `ratio` = value / baseline. A row whose
 * figure or baseline could not be measured (its peer is not installed, say) says why in `skipped`; its missing
 * numbers are null, never a stand-in.
 */
export interface BenchResult {
  readonly name: string;
  readonly value: number | null;
  readonly unit: string;
  readonly baseline_name: string | null;
  readonly baseline: number | null;
  readonly ratio: number | null;
  /** Why `value` or `baseline` is missing; null (or absent, from older suites) when nothing is. */
  readonly skipped?: string | null;
}

/** A baseline that was measured, or the reason it could not be. */
export type Baseline =
  { readonly name: string; readonly value: number } | { readonly name: string; readonly skipped: string };

export interface MachineInfo {
  readonly cpus: number;
  readonly cpu_model: string;
  readonly total_memory_mib: number;
  readonly node: string;
  readonly v8: string;
  readonly platform: string;
  readonly arch: string;
  /** At the start of the run: anything else busy on the machine skews every figure. */
  readonly load_average_1m: number;
  readonly date: string;
}

export interface SuiteRun {
  readonly suite: string;
  readonly seconds: number;
  readonly error: string | null;
}

export interface Report {
  readonly results: readonly BenchResult[];
  readonly machine: MachineInfo;
  readonly suites: readonly SuiteRun[];
}

/** A row with its ratio computed the same way everywhere (value / baseline, null when there is no baseline). */
export function result(name: string, value: number, unit: string, baseline?: Baseline): BenchResult {
  if (baseline !== undefined && 'skipped' in baseline) {
    return {
      name,
      value,
      unit,
      baseline_name: baseline.name,
      baseline: null,
      ratio: null,
      skipped: `baseline: ${baseline.skipped}`,
    };
  }
  return {
    name,
    value,
    unit,
    baseline_name: baseline?.name ?? null,
    baseline: baseline?.value ?? null,
    ratio: baseline === undefined ? null : safeRatio(value, baseline.value),
    skipped: null,
  };
}

/** A row that could not be measured at all, with the reason (e.g. "h2load not installed: apt-get install …"). */
export function skippedResult(
  name: string,
  unit: string,
  reason: string,
  baselineName: string | null = null,
): BenchResult {
  return {
    name,
    value: null,
    unit,
    baseline_name: baselineName,
    baseline: null,
    ratio: null,
    skipped: reason,
  };
}

export function machineInfo(): MachineInfo {
  const cpus = os.cpus();
  return {
    // availableParallelism follows the affinity mask / cgroup where cpus().length may not.
    cpus: os.availableParallelism(),
    cpu_model: cpus[0]?.model.trim() ?? 'unknown',
    total_memory_mib: Math.round(os.totalmem() / 2 ** 20),
    node: process.version,
    v8: process.versions.v8,
    platform: process.platform,
    arch: process.arch,
    load_average_1m: Math.round((os.loadavg()[0] ?? 0) * 100) / 100,
    date: new Date().toISOString(),
  };
}

/** Every row gets all seven keys, whichever suite made it. */
export async function writeReport(path: string, report: Report): Promise<void> {
  const results = report.results.map((r) => ({ ...r, skipped: r.skipped ?? null }));
  await writeFile(path, `${JSON.stringify({ ...report, results }, null, 2)}\n`);
}

/** A fixed-width table of the rows, for people: each ratio beside the baseline it divides by; skipped rows say why. */
export function formatTable(results: readonly BenchResult[]): string {
  const header = ['name', 'value', 'unit', 'baseline_name', 'baseline', 'ratio', 'skipped'];
  const rows = results.map((r) => [
    r.name,
    r.value === null ? '-' : formatNumber(r.value),
    r.unit,
    r.baseline_name ?? '-',
    r.baseline === null ? '-' : formatNumber(r.baseline),
    r.ratio === null ? '-' : r.ratio.toFixed(3),
    r.skipped ?? '',
  ]);
  const leftAligned = new Set([0, 2, 3, 6]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, i) => (leftAligned.has(i) ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

function formatNumber(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  if (Math.abs(n) >= 100) return Math.round(n).toLocaleString('en-US');
  if (Math.abs(n) >= 1) return n.toFixed(2);
  return n.toPrecision(3);
}
