// The contract between bench/run.ts and a suite in bench/suites/: what a suite module exports and what it is given.
import type { BenchResult } from './report.ts';

export interface SuiteContext {
  /** Shorter runs (smoke test of the harness, CI): figures are indicative only. */
  readonly quick: boolean;
  /** Progress for the person watching (stderr), prefixed with the suite's name. */
  readonly log: (message: string) => void;
}

/**
 * What every `bench/suites/<name>.ts` exports. The file name is the suite's name (the CLI filter matches it).
 * `run` must stop everything it started (servers, children, workers, timers) before it resolves or rejects.
 */
export interface SuiteModule {
  readonly description: string;
  readonly run: (context: SuiteContext) => Promise<BenchResult[]>;
}
