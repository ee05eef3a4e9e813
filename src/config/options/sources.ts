// The options of where endpoints come from: which sources, the file source's bound, and the Kubernetes source's
// settings. KUBERNETES_OPTIONS is shaped like one Kubernetes source's entry in Config.sources (a per-source
// object: each named cluster of CLUSTER_OPTIONS is one such entry, with its own kubeconfig and context).
import { list, optional, option } from '../option.ts';
import { labelValueProblem, namespaceNameProblem } from '../../names.ts';
import {
  byteSize,
  duration,
  keyValue,
  labelSelector,
  namespaceName,
  oneOf,
  text,
  type ValueParser,
} from '../values.ts';
import { z } from 'zod';

/** One --source: the Kubernetes API, or a manifest file or directory. */
export type SourceChoice = { readonly kind: 'kubernetes' } | { readonly kind: 'file'; readonly path: string };

const sourceChoice: ValueParser<SourceChoice> = z.string().transform((value, ctx) => {
  if (value === 'kubernetes') return { kind: 'kubernetes' as const };
  if (value.startsWith('file:') && value.length > 'file:'.length) {
    return { kind: 'file' as const, path: value.slice('file:'.length) };
  }
  ctx.addIssue({ code: 'custom', message: SOURCE_EXPECTED });
  return z.NEVER;
});

export const SOURCE_EXPECTED = 'must be kubernetes (once) or file:PATH';

export const SOURCE_OPTIONS = {
  sources: list({
    flag: 'source',
    value: 'SOURCE',
    splitFlags: false,
    parse: sourceChoice,
    unset: 'the bundled examples/',
    help: 'where endpoints come from: kubernetes (list+watch the API server), or file:PATH (a manifest file or a directory, watched live)',
  }),
  // Far above any hand-kept manifest, below what would hurt the process.
  maxFileBytes: option({
    flag: 'file-max-size',
    value: 'SIZE',
    default: '64MiB',
    parse: byteSize(1024),
    help: 'a manifest file larger than this is refused (logged, listed in /readyz, its last good state kept)',
  }),
};

export const KUBERNETES_OPTIONS = {
  kubeconfig: optional({
    flag: 'kubeconfig',
    value: 'PATH',
    parse: text(),
    unset: '$KUBECONFIG, ~/.kube/config, then the in-cluster service account',
    help: 'kubeconfig file for --source kubernetes (and for --auth-token-review)',
  }),
  context: optional({
    flag: 'context',
    value: 'NAME',
    parse: text(),
    unset: "the kubeconfig's current context",
    help: 'kubeconfig context to use',
  }),
  namespaces: list({
    flag: 'namespace',
    value: 'NAMESPACE',
    parse: namespaceName(),
    unset: 'all namespaces',
    help: 'watch only this namespace',
  }),
  resource: option({
    flag: 'kube-resource',
    value: 'RESOURCE',
    default: 'endpointslices',
    parse: oneOf(['endpointslices', 'endpoints'], 'must be endpointslices or endpoints'),
    help: 'endpointslices (discovery.k8s.io/v1) or endpoints (the legacy core/v1 API)',
  }),
  labelSelector: optional({
    flag: 'label-selector',
    value: 'SELECTOR',
    // The API server filters by it: the text is what travels, parsed here only to refuse a bad one at start.
    parse: labelSelector().transform((selector) => selector.text),
    unset: 'every endpoint object',
    help: 'serve only the endpoints whose labels match (slices and Endpoints carry their Service labels), e.g. tier=web',
  }),
  watchIdleTimeoutMs: option({
    flag: 'kube-watch-idle-timeout',
    value: 'DURATION',
    default: '90s',
    parse: duration(1000, 600_000),
    help: 'reopen a watch that sent nothing (bookmarks come about once a minute) for this long',
  }),
  maxResponseBytes: option({
    flag: 'kube-max-response-size',
    value: 'SIZE',
    default: '64MiB',
    parse: byteSize(1024 * 1024),
    help: 'a list page or watch event from the API server larger than this is refused (logged, retried with backoff)',
  }),
};

/** One `--cluster NAME=KUBECONFIG[,context=CTX][,region=R]`, as written (the path may be empty: see help). */
export interface ClusterFlag {
  readonly name: string;
  readonly kubeconfig: string | undefined;
  readonly context: string | undefined;
  readonly region: string | undefined;
}

export const CLUSTER_SYNTAX = 'NAME=KUBECONFIG[,context=CTX][,region=R]';

const clusterFlag: ValueParser<ClusterFlag> = z.string().transform((value, ctx) => {
  const fail = (message: string): never => {
    ctx.addIssue({ code: 'custom', message });
    return z.NEVER;
  };
  const equals = value.indexOf('=');
  if (equals < 0) return fail(`must be ${CLUSTER_SYNTAX}`);
  const name = value.slice(0, equals);
  const problem = namespaceNameProblem(name);
  if (problem !== undefined)
    return fail(`the cluster name ${JSON.stringify(name)} must be a DNS-1123 label: it ${problem}`);
  const [path = '', ...settings] = value.slice(equals + 1).split(',');
  const given = new Map<string, string>();
  for (const setting of settings) {
    const match = /^(context|region)=(.+)$/.exec(setting.trim());
    if (match === null) {
      return fail(
        `${JSON.stringify(setting)} is not a cluster setting: after the kubeconfig come context=CTX and region=R (${CLUSTER_SYNTAX})`,
      );
    }
    const [, key = '', text = ''] = match;
    if (given.has(key)) return fail(`${key}= is given twice`);
    given.set(key, text);
  }
  const region = given.get('region');
  const regionProblem = region === undefined ? undefined : labelValueProblem(region);
  if (regionProblem !== undefined)
    return fail(`the region ${JSON.stringify(region)} must be a label value: it ${regionProblem}`);
  return {
    name,
    kubeconfig: path.trim() === '' ? undefined : path.trim(),
    context: given.get('context'),
    region,
  };
});

/** How Services of several clusters are chosen for the merge (docs/multicluster.md). */
export type ExportMode = 'all' | 'annotation' | 'serviceexport';

export const CLUSTER_OPTIONS = {
  clusters: list({
    flag: 'cluster',
    value: CLUSTER_SYNTAX,
    splitFlags: false,
    separator: ';',
    parse: clusterFlag,
    unset: 'none: --source kubernetes reads one unnamed cluster',
    help: 'read this named cluster too (a DNS-1123 label, unique); an empty KUBECONFIG means --kubeconfig or the usual search, context= defaults to --context; Services of the same namespace/name merge, each endpoint keeping its cluster',
  }),
  export: option({
    flag: 'cluster-export',
    value: 'MODE',
    default: 'all',
    parse: oneOf(['all', 'annotation', 'serviceexport'], 'must be all, annotation or serviceexport'),
    help: 'which Services of the --cluster clusters are merged and served: all, those with --cluster-export-annotation, or those with a ServiceExport (multicluster.x-k8s.io/v1alpha1) of the same name',
  }),
  exportAnnotation: option({
    flag: 'cluster-export-annotation',
    value: 'KEY=VALUE',
    default: 'endpointd.io/export=true',
    parse: keyValue('must be KEY=VALUE, e.g. endpointd.io/export=true'),
    help: 'the annotation a Service carries to be exported with --cluster-export=annotation',
  }),
  readyTimeoutMs: option({
    flag: 'cluster-ready-timeout',
    value: 'DURATION',
    default: '60s',
    parse: duration(0, 3_600_000),
    help: 'become ready without a --cluster cluster that has not answered by then (it is reported stale, and joins when it answers)',
  }),
  staleAfterMs: option({
    flag: 'cluster-stale-after',
    value: 'DURATION',
    default: '5s',
    parse: duration(0, 600_000),
    help: 'a --cluster cluster whose watches have failed this long is marked stale in answers (its last known endpoints stay served)',
  }),
};
