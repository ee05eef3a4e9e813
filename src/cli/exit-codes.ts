// The exit codes of the command-line client, one per thing a script may want to tell apart (docs/dashboard-and-cli.md).
export const EXIT = {
  /** The answer was printed. */
  ok: 0,
  /** The server answered with an error this client did not expect (5xx other than 503), or the answer was unusable. */
  failed: 1,
  /** Bad usage: an unknown flag, a missing or invalid argument, or a request the server refused as invalid (400). */
  usage: 2,
  /**
   * No answer to be had now: the server could not be reached (connection, DNS, TLS, timeout), is not ready (503), or
   * refuses more from this client for a while (429: its rate or stream limits).
   */
  unavailable: 3,
  /** The service (or the port asked for) is not known to the server (404). */
  notFound: 4,
  /** The server refused the credentials (401) or the access (403). */
  unauthorized: 5,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** A failure that ends the command with `code`; `message` is printed on stderr as one line. */
export class CliError extends Error {
  override readonly name = 'CliError';
  readonly code: ExitCode;
  /** The server's Retry-After, in ms, when it said one: `watch` waits at least this long before reconnecting. */
  readonly retryAfterMs: number | undefined;

  constructor(code: ExitCode, message: string, retryAfterMs?: number) {
    super(message);
    this.code = code;
    this.retryAfterMs = retryAfterMs;
  }
}
