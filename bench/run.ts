// The benchmark runner (`npm run bench`): runs the suites of bench/suites/ one after the other, prints a table and
// writes bench/report.json. `node bench/run.ts rest store` runs only the suites whose names contain a word given.
import { readdir } from 'node:fs/promises';
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { formatTable, machineInfo, writeReport, type BenchResult, type SuiteRun } from './support/report.ts';
import type { SuiteModule } from './support/suite.ts';

const SUITES_DIR = new URL('./suites/', import.meta.url);
const DEFAULT_OUT = fileURLToPath(new URL('./report.json', import.meta.url));
/**
 * A hung server or generator must not hold a CI job forever. Per selected suite, so that adding a suite cannot make
 * a healthy full run hit it: the slowest suite takes under two minutes on a quiet 2-core machine.
 */
const WATCHDOG_MS_PER_SUITE = 4 * 60_000;

const USAGE = `Usage: node bench/run.ts [options] [suite-word...]

Runs the suites of bench/suites/ (those whose name contains one of the words, if given), prints a table and
writes the report.

Options:
  --quick       shorter runs: checks the harness works; figures are indicative only
  --out PATH    where to write the JSON report (default bench/report.json)
  --list        list the suites and exit
  -h, --help    show this help`;

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      out: { type: 'string', default: DEFAULT_OUT },
      list: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    allowPositionals: true,
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const available = await discoverSuites();
  if (values.list) {
    for (const name of available) {
      const suite = await loadSuite(name);
      process.stdout.write(`${name.padEnd(24)} ${suite.description}\n`);
    }
    return 0;
  }
  const selected =
    positionals.length === 0
      ? available
      : available.filter((name) => positionals.some((w) => name.includes(w)));
  if (selected.length === 0) {
    process.stderr.write(`no suite matches ${positionals.join(', ')}; suites: ${available.join(', ')}\n`);
    return 2;
  }

  const watchdogMs = WATCHDOG_MS_PER_SUITE * selected.length;
  const watchdog = setTimeout(() => {
    // Exiting closes the IPC channels: server children see the disconnect and stop themselves.
    process.stderr.write(`bench: still running after ${watchdogMs / 1000} s, giving up\n`);
    process.exit(3);
  }, watchdogMs);
  watchdog.unref();

  const machine = machineInfo();
  process.stderr.write(
    `bench: ${selected.join(', ')}${values.quick ? ' (quick)' : ''} on ${machine.cpus} CPU(s), Node ${machine.node}\n`,
  );
  if (machine.load_average_1m > machine.cpus / 4) {
    process.stderr.write(
      `bench: WARNING load average ${machine.load_average_1m} on ${machine.cpus} CPU(s): other work is running, figures will be noisy\n`,
    );
  }
  const results: BenchResult[] = [];
  const runs: SuiteRun[] = [];
  const started = performance.now();
  for (const name of selected) {
    const suiteStarted = performance.now();
    let error: string | null = null;
    try {
      const suite = await loadSuite(name);
      const rows = await suite.run({
        quick: values.quick,
        log: (message) => process.stderr.write(`[${name}] ${message}\n`),
      });
      results.push(...rows);
    } catch (caught) {
      error = caught instanceof Error ? (caught.stack ?? caught.message) : String(caught);
      process.stderr.write(`[${name}] FAILED: ${error}\n`);
    }
    const seconds = (performance.now() - suiteStarted) / 1000;
    runs.push({ suite: name, seconds: Math.round(seconds * 10) / 10, error });
    process.stderr.write(`[${name}] ${error === null ? 'done' : 'failed'} in ${seconds.toFixed(1)} s\n`);
  }
  await writeReport(values.out, { results, machine, suites: runs });
  process.stdout.write(`\n${formatTable(results)}\n\n`);
  process.stderr.write(
    `bench: ${((performance.now() - started) / 1000).toFixed(1)} s in all; report written to ${values.out}\n`,
  );
  clearTimeout(watchdog);
  return runs.some((r) => r.error !== null) ? 1 : 0;
}

async function discoverSuites(): Promise<string[]> {
  const files = await readdir(SUITES_DIR);
  return files
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))
    .map((f) => basename(f, '.ts'))
    .sort();
}

async function loadSuite(name: string): Promise<SuiteModule> {
  const module = (await import(new URL(`${name}.ts`, SUITES_DIR).href)) as Partial<SuiteModule>;
  if (typeof module.run !== 'function') throw new Error(`bench/suites/${name}.ts does not export run()`);
  return { description: module.description ?? '', run: module.run };
}

process.exitCode = await main();
