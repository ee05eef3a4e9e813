// The fast path of validation for EndpointSlices and Services: one hand-written pass that accepts an object only
// when it is valid, and builds exactly what the schema (objects.ts, zod) would return for it. Anything it is unsure
// of — any invalid or unusual field — makes it answer undefined, and the caller runs the schema, which names every
// problem. So errors stay the schema's, and valid objects (all of a list, on every relist) cost one plain walk
// instead of zod's generic machinery (~30 % of converting a list, and most of its garbage).
//
// What it builds is also compact: the conditions of an endpoint are one shared, frozen object per combination, and
// strings that repeat across endpoints (node names, zones, the kind and namespace of a pod reference, port names,
// protocols, label and annotation values) are shared through a small bounded table, instead of a copy per endpoint
// as JSON.parse makes them. Keys follow the schema's output: a key the input has (even as undefined) is kept, an
// absent one stays absent, unknown ones are dropped. test/fast-accept.test.ts holds the fast path equal to the schema
// on arbitrary objects.
import { isIPv4, isIPv6 } from 'node:net';
import { namespaceNameProblem, objectNameProblem, portNameProblem } from '../names.ts';
import { boundedInterner } from '../maps.ts';
import type { EndpointSliceObject, ServiceObject } from './objects.ts';

type Plain = Record<string, unknown>;

function isPlain(value: unknown): value is Plain {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** Thrown inside the walk to give up; never leaves this module. */
const UNSURE: unique symbol = Symbol('unsure');

function unsure(): never {
  // eslint-disable-next-line @typescript-eslint/only-throw-error -- a private sentinel, caught below
  throw UNSURE;
}

function attempt<T>(walk: (raw: unknown) => T, raw: unknown): T | undefined {
  try {
    return walk(raw);
  } catch (error) {
    if (error === UNSURE) return undefined;
    throw error;
  }
}

// ---- parts built before ---------------------------------------------------------------------------------------

/**
 * The parts this module built (metadata, a slice's endpoints and ports, a Service's spec), frozen, with what each
 * was built as. Given back to it — a list item it accepted as its page arrived (the reflector's default transform),
 * then spread into an object with its kind by the source — they are valid as they are and are kept, not walked and
 * built again.
 */
const built = new WeakMap<object, string>();

function remember<T>(part: T, as: string): T {
  if (typeof part === 'object' && part !== null) {
    Object.freeze(part);
    built.set(part, as);
  }
  return part;
}

function builtAs(value: unknown, as: string): boolean {
  return typeof value === 'object' && value !== null && built.get(value) === as;
}

// ---- shared strings ---------------------------------------------------------------------------------------------

/** The one copy of a string that repeats across objects; bounded (the table starts over when full). */
const share = boundedInterner(20_000);

// ---- field readers: each returns the schema's output for a valid value, or gives up ------------------------------

/** `z.string().nullish()`: absent, undefined, null or a string. */
function nullishString(value: unknown, shareIt = false): string | null | undefined {
  if (value === undefined || value === null) return value;
  if (typeof value !== 'string') unsure();
  return shareIt ? share(value) : value;
}

function optionalString(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string') unsure();
  return value;
}

function portNumber(value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > 65535) unsure();
  return value;
}

function nullishProtocol(value: unknown): 'TCP' | 'UDP' | 'SCTP' | null | undefined {
  if (value === undefined || value === null || value === 'TCP' || value === 'UDP' || value === 'SCTP')
    return value;
  unsure();
}

function stringRecord(value: unknown): Record<string, string> | null | undefined {
  if (value === undefined || value === null) return value;
  if (!isPlain(value)) unsure();
  const out: Record<string, string> = {};
  for (const key in value) {
    const item = value[key];
    if (typeof item !== 'string') unsure();
    out[key] = share(item);
  }
  return Object.freeze(out);
}

function metadata(value: unknown): EndpointSliceObject['metadata'] {
  if (builtAs(value, 'metadata')) return value as EndpointSliceObject['metadata'];
  if (!isPlain(value)) unsure();
  const name = value['name'];
  if (typeof name !== 'string' || objectNameProblem(name) !== undefined) unsure();
  // `.default('default')` stands in for undefined only: null is refused by the schema.
  const namespace = value['namespace'] === undefined ? 'default' : value['namespace'];
  if (typeof namespace !== 'string' || namespaceNameProblem(namespace) !== undefined) unsure();
  const out: Plain = { name, namespace };
  if ('uid' in value) out['uid'] = optionalString(value['uid']);
  if ('resourceVersion' in value) out['resourceVersion'] = optionalString(value['resourceVersion']);
  if ('labels' in value) out['labels'] = stringRecord(value['labels']);
  if ('annotations' in value) out['annotations'] = stringRecord(value['annotations']);
  return remember(out as EndpointSliceObject['metadata'], 'metadata');
}

function header(out: Plain, input: Plain): void {
  if ('apiVersion' in input) out['apiVersion'] = optionalString(input['apiVersion']);
  if ('kind' in input) out['kind'] = optionalString(input['kind']);
}

// ---- EndpointSlice -----------------------------------------------------------------------------------------------

type AddressType = EndpointSliceObject['addressType'];
type SliceEndpoint = NonNullable<EndpointSliceObject['endpoints']>[number];
type Conditions = NonNullable<SliceEndpoint['conditions']>;

/** One frozen object per combination of the three conditions as given (absent, undefined, null, true, false). */
const sharedConditions = new Map<number, Conditions>();

function conditions(value: unknown): Conditions | null | undefined {
  if (value === undefined || value === null) return value;
  if (!isPlain(value)) unsure();
  const key =
    conditionCode(value, 'ready') * 25 +
    conditionCode(value, 'serving') * 5 +
    conditionCode(value, 'terminating');
  const known = sharedConditions.get(key);
  if (known !== undefined) return known;
  const out: Plain = {};
  if ('ready' in value) out['ready'] = value['ready'];
  if ('serving' in value) out['serving'] = value['serving'];
  if ('terminating' in value) out['terminating'] = value['terminating'];
  const frozen = Object.freeze(out) as Conditions;
  sharedConditions.set(key, frozen);
  return frozen;
}

/** The condition as given: absent, undefined, null, true or false; anything else is refused. */
function conditionCode(input: Plain, key: string): number {
  if (!(key in input)) return 0;
  const value = input[key];
  if (value === true) return 1;
  if (value === false) return 2;
  if (value === undefined) return 3;
  if (value === null) return 4;
  unsure();
}

function objectReference(value: unknown): SliceEndpoint['targetRef'] {
  if (value === undefined || value === null) return value;
  if (!isPlain(value)) unsure();
  const out: Plain = {};
  if ('kind' in value) out['kind'] = nullishString(value['kind'], true);
  if ('namespace' in value) out['namespace'] = nullishString(value['namespace'], true);
  if ('name' in value) out['name'] = nullishString(value['name']);
  if ('uid' in value) out['uid'] = nullishString(value['uid']);
  return out;
}

function hintNames(value: unknown): { name: string }[] | null | undefined {
  return nullishArray(value, (hint) => {
    if (!isPlain(hint) || typeof hint['name'] !== 'string') unsure();
    return { name: share(hint['name']) };
  });
}

function hints(value: unknown): SliceEndpoint['hints'] {
  if (value === undefined || value === null) return value;
  if (!isPlain(value)) unsure();
  const out: Plain = {};
  if ('forZones' in value) out['forZones'] = hintNames(value['forZones']);
  if ('forNodes' in value) out['forNodes'] = hintNames(value['forNodes']);
  return out;
}

function address(type: AddressType, value: unknown): string {
  if (typeof value !== 'string') unsure();
  const valid =
    type === 'IPv4'
      ? isIPv4(value)
      : type === 'IPv6'
        ? isIPv6(value) && !value.includes('%')
        : objectNameProblem(value) === undefined;
  if (!valid) unsure();
  return value;
}

function sliceEndpoint(type: AddressType, value: unknown): SliceEndpoint {
  if (!isPlain(value)) unsure();
  const addresses = value['addresses'];
  if (!Array.isArray(addresses) || addresses.length < 1 || addresses.length > 100) unsure();
  const valid = eachOf(addresses, (a) => address(type, a));
  // The usual shape (as the EndpointSlice controller writes it) in one literal: fields added one by one past a
  // literal's go to a separate property array, ~40 bytes more for each of the endpoints a list holds.
  if (
    'conditions' in value &&
    'nodeName' in value &&
    'zone' in value &&
    'targetRef' in value &&
    !('hostname' in value) &&
    !('hints' in value)
  ) {
    return Object.freeze({
      addresses: valid,
      conditions: conditions(value['conditions']),
      nodeName: nullishString(value['nodeName'], true),
      zone: nullishString(value['zone'], true),
      targetRef: objectReference(value['targetRef']),
    });
  }
  const out: Plain = { addresses: valid };
  if ('conditions' in value) out['conditions'] = conditions(value['conditions']);
  if ('hostname' in value) out['hostname'] = nullishString(value['hostname']);
  if ('nodeName' in value) out['nodeName'] = nullishString(value['nodeName'], true);
  if ('zone' in value) out['zone'] = nullishString(value['zone'], true);
  if ('targetRef' in value) out['targetRef'] = objectReference(value['targetRef']);
  if ('hints' in value) out['hints'] = hints(value['hints']);
  return Object.freeze(out) as SliceEndpoint;
}

function slicePort(value: unknown): Plain {
  if (!isPlain(value)) unsure();
  const out: Plain = {};
  if ('name' in value) {
    const name = nullishString(value['name'], true);
    if (typeof name === 'string' && name !== '' && portNameProblem(name) !== undefined) unsure();
    out['name'] = name;
  }
  out['port'] = portNumber(value['port']);
  if ('protocol' in value) out['protocol'] = nullishProtocol(value['protocol']);
  if ('appProtocol' in value) out['appProtocol'] = nullishString(value['appProtocol'], true);
  return Object.freeze(out);
}

function nullishArray<T>(value: unknown, item: (value: unknown) => T): T[] | null | undefined {
  if (value === undefined || value === null) return value;
  if (!Array.isArray(value)) unsure();
  return eachOf(value, item);
}

/** A new array of `item` of each element; a hole counts as undefined, as the schema reads it (map() skips it). */
function eachOf<T>(values: readonly unknown[], item: (value: unknown) => T): T[] {
  const out = new Array<T>(values.length);
  for (let i = 0; i < values.length; i++) out[i] = item(values[i]);
  return out;
}

const ENDPOINTS_OF: Record<AddressType, string> = {
  IPv4: 'endpoints of IPv4',
  IPv6: 'endpoints of IPv6',
  FQDN: 'endpoints of FQDN',
};

function slice(raw: unknown): EndpointSliceObject {
  if (!isPlain(raw)) unsure();
  const type = raw['addressType'];
  if (type !== 'IPv4' && type !== 'IPv6' && type !== 'FQDN') unsure();
  const out: Plain = {};
  header(out, raw);
  out['metadata'] = metadata(raw['metadata']);
  out['addressType'] = type;
  if ('endpoints' in raw) {
    const endpoints = raw['endpoints'];
    out['endpoints'] = builtAs(endpoints, ENDPOINTS_OF[type])
      ? endpoints
      : remember(
          nullishArray(endpoints, (e) => sliceEndpoint(type, e)),
          ENDPOINTS_OF[type],
        );
  }
  if ('ports' in raw) {
    const ports = raw['ports'];
    out['ports'] = builtAs(ports, 'slice ports')
      ? ports
      : remember(nullishArray(ports, slicePort), 'slice ports');
  }
  return out as EndpointSliceObject;
}

/** What `endpointSliceSchema` returns for `raw`, when `raw` is a valid EndpointSlice; otherwise undefined. */
export function acceptEndpointSlice(raw: unknown): EndpointSliceObject | undefined {
  return attempt(slice, raw);
}

// ---- Service -----------------------------------------------------------------------------------------------------

const SERVICE_TYPES = new Set(['ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName']);

function servicePort(value: unknown): Plain {
  if (!isPlain(value)) unsure();
  const out: Plain = {};
  if ('name' in value) out['name'] = nullishString(value['name'], true);
  out['port'] = portNumber(value['port']);
  if ('targetPort' in value) {
    const target = value['targetPort'];
    if (typeof target === 'string') out['targetPort'] = share(target);
    else if (
      target === undefined ||
      target === null ||
      (typeof target === 'number' && Number.isSafeInteger(target))
    )
      out['targetPort'] = target;
    else unsure();
  }
  if ('protocol' in value) out['protocol'] = nullishProtocol(value['protocol']);
  if ('appProtocol' in value) out['appProtocol'] = nullishString(value['appProtocol'], true);
  return Object.freeze(out);
}

function serviceSpec(value: unknown): Plain | null | undefined {
  if (value === undefined || value === null) return value;
  if (!isPlain(value)) unsure();
  const out: Plain = {};
  if ('type' in value) {
    const type = value['type'];
    if (!(type === undefined || type === null || (typeof type === 'string' && SERVICE_TYPES.has(type))))
      unsure();
    out['type'] = type;
  }
  if ('clusterIP' in value) out['clusterIP'] = nullishString(value['clusterIP']);
  if ('externalName' in value) out['externalName'] = nullishString(value['externalName']);
  if ('ports' in value) out['ports'] = Object.freeze(nullishArray(value['ports'], servicePort));
  if ('trafficDistribution' in value)
    out['trafficDistribution'] = nullishString(value['trafficDistribution'], true);
  return out;
}

function service(raw: unknown): ServiceObject {
  if (!isPlain(raw)) unsure();
  const out: Plain = {};
  header(out, raw);
  out['metadata'] = metadata(raw['metadata']);
  if ('spec' in raw) {
    const spec = raw['spec'];
    out['spec'] = builtAs(spec, 'spec') ? spec : remember(serviceSpec(spec), 'spec');
  }
  return out as ServiceObject;
}

/** What `serviceSchema` returns for `raw`, when `raw` is a valid Service; otherwise undefined. */
export function acceptService(raw: unknown): ServiceObject | undefined {
  return attempt(service, raw);
}
