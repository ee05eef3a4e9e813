// Validation of path and query parameters. Each refusal names the parameter and why, and the problems of a
// request are reported at once (the first ten, then how many more; each quoted value clipped, so that the answer
// is sized by us, not by the request). Unknown query parameters are refused too: a typo must not silently change
// nothing.
import type { Request } from 'express';
import { parseDuration } from '../../duration.ts';
import type { PortSelector, ServiceKey } from '../../model.ts';
import {
  callerPlaceProblem,
  isVersionLike,
  namespaceNameProblem,
  parsePortText,
  serviceNameProblem,
} from '../../names.ts';
import { clip, ProblemList, quote } from '../../limits/bounded-text.ts';
import { badRequest, type InvalidParam } from './problem.ts';
import type { ViewOptions } from '../../views/service-view.ts';
import { clusterNameProblem, unknownClusterDetail } from '../../views/clusters.ts';
import { HttpProblem } from './problem.ts';

/**
 * Refuses (404) a `cluster` that is not one endpointd reads: a well-spelt name of no cluster is not a lookup that
 * would one day answer (clusters are fixed at start).
 */
export function requireKnownCluster(cluster: string | undefined, known: readonly string[]): void {
  const detail = unknownClusterDetail(cluster, known);
  if (detail !== undefined) throw new HttpProblem(404, 'Not Found', detail);
}

/** The longest a long-poll may block: clients and proxies time out idle requests past a few minutes. */
export const MAX_WAIT_MS = 5 * 60_000;

type Query = Record<string, unknown>;

/** Collects the problems of one request; `finish()` throws a 400 naming all of them. */
export class ParamReader {
  readonly #query: Query;
  readonly #allowed: ReadonlySet<string>;
  readonly problems = new ProblemList<InvalidParam>();

  /** @param allowed the query parameters the route takes (a constant of the route: built once, not per request) */
  constructor(req: Request, allowed: ReadonlySet<string>) {
    this.#query = req.query;
    this.#allowed = allowed;
  }

  /** One query parameter's text; a parameter given twice is a problem. */
  text(name: string): string | undefined {
    const value = this.#query[name];
    if (value === undefined) return undefined;
    if (typeof value !== 'string') {
      this.problems.push({ name, reason: 'must be given once, as a plain value' });
      return undefined;
    }
    return value;
  }

  serviceKey(namespace: string | undefined, name: string | undefined): ServiceKey {
    this.#check('namespace', namespace ?? '', namespaceNameProblem);
    this.#check('name', name ?? '', serviceNameProblem);
    return { namespace: namespace ?? '', name: name ?? '' };
  }

  namespaceFilter(): string | undefined {
    const value = this.text('namespace');
    if (value !== undefined) this.#check('namespace', value, namespaceNameProblem);
    return value;
  }

  view(): ViewOptions {
    const endpoints = this.text('endpoints');
    if (endpoints !== undefined && endpoints !== 'all' && endpoints !== 'routable') {
      this.problems.push({
        name: 'endpoints',
        reason: `must be "all" or "routable", got ${quote(endpoints)}`,
      });
    }
    const zone = this.#locality('zone');
    const node = this.#locality('node');
    const cluster = this.cluster();
    const base: ViewOptions = { allEndpoints: endpoints === 'all', port: this.#port() };
    const view = cluster === undefined ? base : { ...base, cluster };
    // No locality said: the very same view as without topology (answers byte for byte as before).
    return zone === undefined && node === undefined ? view : { ...view, caller: { zone, node } };
  }

  /** `cluster`: one named cluster's share only; a name that no cluster could have is a 400. */
  cluster(): string | undefined {
    const value = this.text('cluster');
    if (value === undefined) return undefined;
    const problem = clusterNameProblem(value);
    if (problem !== undefined) {
      this.problems.push({
        name: 'cluster',
        reason: `${quote(value)} is not a valid cluster name: it ${problem}`,
      });
      return undefined;
    }
    return value;
  }

  /** `zone` or `node` (src/names.ts callerPlaceProblem); empty means "not said". */
  #locality(name: 'zone' | 'node'): string | undefined {
    const value = this.text(name);
    if (value === undefined || value === '') return undefined;
    const problem = callerPlaceProblem(name, value);
    if (problem !== undefined) {
      this.problems.push({ name, reason: `${quote(value)} is not a valid ${name} name: it ${problem}` });
      return undefined;
    }
    return value;
  }

  /** The long-poll wait in ms, or undefined when the request does not wait. */
  wait(): number | undefined {
    const text = this.text('wait');
    if (text === undefined) return undefined;
    const ms = parseDuration(text);
    if (ms === undefined || ms < 0 || ms > MAX_WAIT_MS) {
      this.problems.push({
        name: 'wait',
        reason: `must be a duration from 0s to 5m (e.g. 30s), got ${quote(text)}`,
      });
      return undefined;
    }
    return ms;
  }

  version(): string | undefined {
    const text = this.text('version');
    if (text !== undefined && !isVersionLike(text)) {
      this.problems.push({ name: 'version', reason: 'must be a version as returned in a previous answer' });
      return undefined;
    }
    return text;
  }

  /** Throws a 400 when anything was wrong, including parameters this route does not know. */
  finish(): void {
    for (const name in this.#query) {
      if (!this.#allowed.has(name)) {
        this.problems.push({
          name: clip(name),
          reason: `unknown parameter; this route takes ${[...this.#allowed].join(', ') || 'none'}`,
        });
      }
    }
    if (this.problems.length > 0) throw badRequest(this.problems.items, this.problems.omitted);
  }

  #port(): PortSelector | undefined {
    const text = this.text('port');
    if (text === undefined) return undefined;
    const port = parsePortText(text);
    if ('problem' in port) {
      this.problems.push({ name: 'port', reason: port.problem });
      return undefined;
    }
    return port;
  }

  #check(name: string, value: string, rule: (value: string) => string | undefined): void {
    const problem = rule(value);
    if (problem !== undefined) {
      this.problems.push({ name, reason: `${quote(value)} is not a valid name: it ${problem}` });
    }
  }
}
