// A pino destination that keeps every line, parsed, so that tests can assert on what was logged.
import { Writable } from 'node:stream';

export type LogLine = Record<string, unknown> & { readonly msg?: string; readonly level?: number };

export class LogLines extends Writable {
  readonly lines: LogLine[] = [];

  constructor() {
    super({
      write: (chunk: Buffer, _encoding, done) => {
        for (const line of chunk.toString().split('\n').filter(Boolean))
          this.lines.push(JSON.parse(line) as LogLine);
        done();
      },
    });
  }

  /** Lines whose message is `msg` (or matches it). */
  withMessage(msg: string | RegExp): LogLine[] {
    return this.lines.filter((l) => (typeof msg === 'string' ? l.msg === msg : msg.test(l.msg ?? '')));
  }
}
