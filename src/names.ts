// Kubernetes name rules, so that a bad name is refused at the edge (400 / INVALID_ARGUMENT) and never looked up.
import { clip } from './limits/bounded-text.ts';

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
// IANA service names as Kubernetes validates port names: lower case, digits and single hyphens, one letter at least.
const IANA_SVC_NAME = /^[a-z0-9]([a-z0-9-]{0,13}[a-z0-9])?$/;

/** Why `value` is not a valid namespace name, or undefined when it is one (a DNS-1123 label). */
export function namespaceNameProblem(value: string): string | undefined {
  return labelProblem(value);
}

/**
 * Why `value` is not a valid Service name, or undefined when it is one. Kubernetes requires DNS-1035 labels
 * (leading letter) and, with RelaxedServiceNameValidation, DNS-1123 labels: we accept the wider rule.
 */
export function serviceNameProblem(value: string): string | undefined {
  return labelProblem(value);
}

/** Why `value` is not a valid object name (a DNS-1123 subdomain, as EndpointSlice names are), or undefined. */
export function objectNameProblem(value: string): string | undefined {
  return dnsNameProblem(value, SUBDOMAIN_RULE);
}

/**
 * Whether `value` looks like a version endpointd hands out (a content hash), as clients send back to resume. The
 * rule leaves room for versions to change length; it only keeps garbage out of logs and cache keys.
 */
export function isVersionLike(value: string): boolean {
  return value.length > 0 && value.length <= 128 && /^[\w.-]+$/.test(value);
}

const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

/**
 * Why `value` is not a valid label value (as the zones and regions callers give: `topology.kubernetes.io/zone`
 * values; their nodes: {@link nodeNameProblem}), or undefined. The empty value is valid: it means "not said".
 */
export function labelValueProblem(value: string): string | undefined {
  if (value.length > 63) return 'must be no more than 63 characters';
  if (!LABEL_VALUE.test(value)) {
    return "must consist of alphanumeric characters, '-', '_' or '.', and start and end with an alphanumeric character";
  }
  return undefined;
}

/** Why `value` is not a valid port name (an IANA service name), or undefined. */
export function portNameProblem(value: string): string | undefined {
  if (value.length > 15) return 'must be no more than 15 characters';
  if (!IANA_SVC_NAME.test(value) || value.includes('--') || !/[a-z]/.test(value)) {
    return "must contain only lower case alphanumeric characters and single '-', start and end with an alphanumeric character, and contain at least one letter";
  }
  return undefined;
}

/** A Service port as a client names it: by number or by name (a port name always holds a letter). */
export type PortText = { readonly number: number } | { readonly name: string } | { readonly problem: string };

/**
 * A port as clients write it (REST `port=`, an xDS resource name's `:port`): a number in its one decimal form, 1 to
 * 65535 without a leading zero (`08080` would be a second name of 8080: another cache entry and subscription for
 * one resource), or a port name; otherwise why not.
 */
export function parsePortText(text: string): PortText {
  if (/^\d+$/.test(text)) {
    const number = Number(text);
    if (number < 1 || number > 65535)
      return { problem: `a port number must be from 1 to 65535, got ${clip(text)}` };
    if (text !== String(number))
      return {
        problem: `a port number is written without leading zeros: ${number}, not ${clip(text)}`,
      };
    return { number };
  }
  const problem = portNameProblem(text);
  return problem === undefined
    ? { name: text }
    : { problem: `must be a port name or number: a port name ${problem}` };
}

/**
 * Why `value` cannot name the Kubernetes node a caller runs on (REST `node`, gRPC `caller.node`, xDS
 * `Node.locality.sub_zone`), or undefined when it can. Kubernetes names Nodes with DNS-1123 subdomains of up to 253
 * characters (ValidateNodeName), and PreferSameNode hints name them; label values, which these fields took before,
 * stay accepted. The empty value is valid: it means "not said".
 */
export function nodeNameProblem(value: string): string | undefined {
  if (labelValueProblem(value) === undefined) return undefined;
  return dnsNameProblem(value, SUBDOMAIN_RULE);
}

/** Where a caller says it is: a zone and a region are label values, a node a node name. */
export type CallerPlace = 'zone' | 'node' | 'region';

/**
 * Why `value` is not a valid `place` of a caller (REST `zone=` / `node=`, gRPC `caller`, the xDS bootstrap route and
 * `Node.locality`), or undefined: the one rule every door checks a caller's place by.
 */
export function callerPlaceProblem(place: CallerPlace, value: string): string | undefined {
  return place === 'node' ? nodeNameProblem(value) : labelValueProblem(value);
}

function labelProblem(value: string): string | undefined {
  return dnsNameProblem(value, LABEL_RULE);
}

/** A DNS-1123 name rule as apimachinery states it: a length bound, a pattern, and its words for the pattern. */
interface DnsNameRule {
  readonly maxLength: number;
  readonly pattern: RegExp;
  readonly characters: string;
}

const LABEL_RULE: DnsNameRule = {
  maxLength: 63,
  pattern: DNS1123_LABEL,
  characters:
    "must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character",
};

const SUBDOMAIN_RULE: DnsNameRule = {
  maxLength: 253,
  pattern: DNS1123_SUBDOMAIN,
  characters:
    "must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character",
};

function dnsNameProblem(value: string, rule: DnsNameRule): string | undefined {
  if (value.length === 0) return 'must not be empty';
  if (value.length > rule.maxLength) return `must be no more than ${rule.maxLength} characters`;
  return rule.pattern.test(value) ? undefined : rule.characters;
}
