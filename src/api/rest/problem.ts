// Errors of the REST API as RFC 9457 problem details (`application/problem+json`), so that every refusal says
// what was wrong in a shape clients can parse.
import type { Response } from 'express';
import type { ProblemBody } from './wire.ts';

export interface InvalidParam {
  readonly name: string;
  readonly reason: string;
}

/** Thrown by handlers, rendered by the error middleware. */
export class HttpProblem extends Error {
  readonly status: number;
  readonly title: string;
  readonly invalidParams: readonly InvalidParam[] | undefined;

  constructor(status: number, title: string, detail: string, invalidParams?: readonly InvalidParam[]) {
    super(detail);
    this.status = status;
    this.title = title;
    this.invalidParams = invalidParams;
  }
}

/** A 400 naming the problems; `omitted` more were found but not listed (see src/limits/bounded-text.ts). */
export function badRequest(invalidParams: readonly InvalidParam[], omitted = 0): HttpProblem {
  const listed = invalidParams.map((p) => `${p.name}: ${p.reason}`).join('; ');
  const detail = omitted > 0 ? `${listed}; and ${omitted} more problems` : listed;
  return new HttpProblem(400, 'Bad Request', detail, invalidParams);
}

export function sendProblem(res: Response, problem: HttpProblem): void {
  const body: ProblemBody = {
    type: 'about:blank',
    title: problem.title,
    status: problem.status,
    detail: problem.message,
    ...(problem.invalidParams === undefined ? {} : { invalidParams: problem.invalidParams }),
  };
  res.status(problem.status).type('application/problem+json').send(JSON.stringify(body));
}
