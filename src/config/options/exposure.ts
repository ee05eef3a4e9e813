// The options of which Services clients may see (the rules themselves: src/policy/exposure.ts).
import { z } from 'zod';
import { SYSTEM_NAMESPACES } from '../../policy/exposure.ts';
import { list, optional, switchOption } from '../option.ts';
import { keyValue, labelSelector, namespaceName, type ValueParser } from '../values.ts';

/** "kube-system, kube-public and kube-node-lease": the namespaces hidden unless told otherwise. */
const SYSTEM = `${SYSTEM_NAMESPACES.slice(0, -1).join(', ')} and ${SYSTEM_NAMESPACES.at(-1) ?? ''}`;

/** A namespace to hide; `none` is refused, as it once meant "hide none of the defaults". */
const hiddenNamespace: ValueParser<string> = z.string().pipe(
  z
    .string()
    .refine(
      (value) => value !== 'none',
      'adds to the namespaces hidden by default; to hide none of those, use --hide-default-namespaces=false',
    )
    .pipe(namespaceName()),
);

export const EXPOSURE_OPTIONS = {
  exposeNamespaces: list({
    flag: 'expose-namespace',
    value: 'NAMESPACE',
    parse: namespaceName(),
    unset: 'all',
    help: 'show clients only the Services of these namespaces',
  }),
  hideNamespaces: list({
    flag: 'hide-namespace',
    value: 'NAMESPACE[,...]',
    parse: hiddenNamespace,
    unset: 'none besides the default ones',
    help: `never show the Services of these namespaces, in addition to ${SYSTEM} (always hidden unless --hide-default-namespaces=false)`,
  }),
  hideDefaultNamespaces: switchOption({
    flag: 'hide-default-namespaces',
    default: 'true',
    help: `hide ${SYSTEM}; false leaves only the --hide-namespace list hidden`,
  }),
  selector: optional({
    flag: 'expose-selector',
    value: 'SELECTOR',
    parse: labelSelector().transform((selector) => selector.parsed),
    unset: 'every Service',
    help: 'show only Services whose labels match this label selector, e.g. expose=true',
  }),
  annotation: optional({
    flag: 'expose-annotation',
    value: 'KEY=VALUE',
    parse: keyValue('must be KEY=VALUE, e.g. endpointd.io/expose=true'),
    unset: 'every Service',
    help: 'show only Services annotated so, e.g. endpointd.io/expose=true',
  }),
};
