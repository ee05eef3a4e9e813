// The options of where endpoints come from: which sources, the file source's bound, and the Kubernetes source's
// settings. KUBERNETES_OPTIONS is shaped like one Kubernetes source's entry in Config.sources (a per-source
// object, so that several named clusters can each carry their own later).
import { list, optional, option } from '../option.ts';
import {
  byteSize,
  duration,
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
};
