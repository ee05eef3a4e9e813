// What is wrong with the paths of one file source now, for status() and the log: each path's problems (its content,
// or the path itself: a broken symlink, a loop), logged when they appear or change and when they are resolved, and
// the refused content of each file (so that the same bytes are neither parsed nor logged again).
import type { Logger } from 'pino';
import type { SourceProblem } from '../source.ts';

/** How many problems status() lists; problemCount says how many there are in all. */
const LISTED_PROBLEMS = 50;
/**
 * How many of one file's problems are logged, one line each, when they appear or change; the rest are counted in one
 * line more. A generated file with thousands of bad documents must not flood the log (status() is bounded too).
 */
export const LOGGED_PROBLEMS_PER_FILE = 10;

export class FileProblems {
  readonly #logger: Logger;
  readonly #byPath = new Map<string, readonly SourceProblem[]>();
  /** Digest (or stamp) of a file's refused content. */
  readonly #refused = new Map<string, string>();

  constructor(logger: Logger) {
    this.#logger = logger;
  }

  of(path: string): readonly SourceProblem[] {
    return this.#byPath.get(path) ?? [];
  }

  paths(): string[] {
    return [...this.#byPath.keys()];
  }

  refusedDigest(path: string): string | undefined {
    return this.#refused.get(path);
  }

  /** A file's new content was accepted, or its refused content is `digest`. */
  setRefused(path: string, digest: string | undefined): void {
    if (digest === undefined) this.#refused.delete(path);
    else this.#refused.set(path, digest);
  }

  /** Replaces the problems of the paths `inScope` says a pass looked at, logging those that are new. */
  replace(inScope: (path: string) => boolean, next: ReadonlyMap<string, readonly SourceProblem[]>): void {
    for (const path of [...this.#byPath.keys()]) {
      if (!inScope(path) || next.has(path)) continue;
      this.#byPath.delete(path);
      this.#logger.info({ file: path }, 'manifest problem resolved');
    }
    for (const [path, problems] of next) {
      const before = JSON.stringify(this.#byPath.get(path));
      this.#byPath.set(path, problems);
      if (before === JSON.stringify(problems)) continue;
      for (const problem of problems.slice(0, LOGGED_PROBLEMS_PER_FILE)) {
        this.#logger.error(
          {
            file: problem.file,
            document: problem.document,
            field: problem.field,
            line: problem.line,
            column: problem.column,
            problem: problem.message,
          },
          'invalid manifest: keeping the last good state of this file',
        );
      }
      if (problems.length > LOGGED_PROBLEMS_PER_FILE) {
        this.#logger.error(
          { file: path, more: problems.length - LOGGED_PROBLEMS_PER_FILE, problems: problems.length },
          'invalid manifest: more problems in this file, not logged one by one',
        );
      }
    }
  }

  /** status()'s part: a bounded list, the count, and a summary for `error` (undefined when all is well). */
  summary(): {
    readonly problems: SourceProblem[];
    readonly problemCount: number;
    readonly error: string | undefined;
  } {
    const problems = [...this.#byPath.values()].flat();
    const [first] = problems;
    return {
      problems: problems.slice(0, LISTED_PROBLEMS),
      problemCount: problems.length,
      error:
        first === undefined
          ? undefined
          : `${problems.length} problem(s) in ${this.#byPath.size} file(s), serving the last good state of each; first: ${first.file}: ${first.message}`,
    };
  }
}
