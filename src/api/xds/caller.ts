// Where an xDS client is, as its stream's first request says (`Node.locality`: zone; sub_zone = the Kubernetes node;
// region), checked as REST checks ?zone=&node= (label values; the node a node name). The caller-aware assignments of
// catalog.ts are built from it. A value that is neither cannot match any zone, node, region or cluster name: it counts as not
// said, and the stream is told why (xDS has no per-request refusal), so a typo shows in the log, not as a silent
// "everything".
import { callerPlaceProblem, type CallerPlace } from '../../names.ts';
import type { Node } from './wire.ts';

/** Where a caller is; each field absent when not said (or not valid). */
export interface XdsCaller {
  readonly zone?: string;
  /** `Node.locality.sub_zone`: the Kubernetes node the caller runs on (PreferSameNode's hints name nodes). */
  readonly node?: string;
  /** `Node.locality.region`: matched against the named clusters' regions (or names) of a Service. */
  readonly region?: string;
}

export interface CallerOfNode {
  /** undefined when the node says nothing valid about where it is. */
  readonly caller: XdsCaller | undefined;
  /** Each locality field that was given but is no label value, with why. */
  readonly problems: readonly { readonly field: string; readonly value: string; readonly problem: string }[];
}

/** The caller a stream's first request describes (its `node`, when it has one). */
export function callerOfNode(node: Node | undefined): CallerOfNode {
  const locality = node?.locality;
  if (locality === undefined) return { caller: undefined, problems: [] };
  const problems: { field: string; value: string; problem: string }[] = [];
  const valid = (place: CallerPlace, field: string, value: string | undefined): string | undefined => {
    if (value === undefined || value === '') return undefined;
    const problem = callerPlaceProblem(place, value);
    if (problem === undefined) return value;
    problems.push({ field, value: value.slice(0, 100), problem });
    return undefined;
  };
  const zone = valid('zone', 'locality.zone', locality.zone);
  const node_ = valid('node', 'locality.sub_zone', locality.sub_zone);
  const region = valid('region', 'locality.region', locality.region);
  const caller: XdsCaller = {
    ...(zone === undefined ? {} : { zone }),
    ...(node_ === undefined ? {} : { node: node_ }),
    ...(region === undefined ? {} : { region }),
  };
  return { caller: Object.keys(caller).length === 0 ? undefined : caller, problems };
}

/**
 * A string naming the caller, part of a cache key. Label values contain neither `|` nor `=`, so distinct callers
 * never share a key; no caller is the empty string.
 */
export function callerKey(caller: XdsCaller | undefined): string {
  if (caller === undefined) return '';
  return `z=${caller.zone ?? ''}|n=${caller.node ?? ''}|r=${caller.region ?? ''}`;
}
