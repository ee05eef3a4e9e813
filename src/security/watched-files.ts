// Re-reads a set of files on an interval and reports when their content changed. Polling the content, not
// fs.watch: Kubernetes updates mounted Secrets by swapping a symlink, which file watches miss, and reading a few
// small files every few seconds costs nothing.
import { readFile } from 'node:fs/promises';

export interface WatchedFilesOptions {
  readonly paths: readonly string[];
  /** The contents already loaded (in `paths` order); a change is reported relative to them. */
  readonly initial: readonly Buffer[];
  readonly intervalMs: number;
  /** Called with every file's new content whenever any of them changed. */
  readonly onChange: (contents: readonly Buffer[]) => void;
  /** Called when a file cannot be read; once per distinct message, so a missing file does not flood the log. */
  readonly onError: (error: Error) => void;
}

/** Starts polling; returns the function that stops it. The timer does not keep the process alive. */
export function watchFiles(options: WatchedFilesOptions): () => void {
  let last = options.initial;
  let lastError: string | undefined;
  let reading = false;
  const poll = async (): Promise<void> => {
    if (reading) return;
    reading = true;
    try {
      const contents = await Promise.all(options.paths.map((path) => readFile(path)));
      lastError = undefined;
      if (contents.some((content, i) => !content.equals(last[i] ?? Buffer.alloc(0)))) {
        last = contents;
        options.onChange(contents);
      }
    } catch (error) {
      const message = (error as Error).message;
      if (message !== lastError) options.onError(error as Error);
      lastError = message;
    } finally {
      reading = false;
    }
  };
  const timer = setInterval(() => void poll(), options.intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
