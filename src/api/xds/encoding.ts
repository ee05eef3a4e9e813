// Protobuf encoding of xDS messages with protobufjs over proto/envoy/** (our minimal subset of Envoy's API), and
// the ADS service definition for grpc-js built on it. Resources are encoded once into the bytes of an `Any` and
// those bytes are shared by every response that carries them; this module is the only one that touches protobufjs.
import type * as grpc from '@grpc/grpc-js';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import type {
  DeltaDiscoveryRequest,
  DeltaDiscoveryResponse,
  DiscoveryRequest,
  DiscoveryResponse,
  Node,
  Status,
} from './wire.ts';

/** The repository's proto/ directory (the same relative place in the source tree and in dist/). */
export const PROTO_DIR = fileURLToPath(new URL('../../../proto/', import.meta.url));

/** The entry files of the subset (each pulls in what it imports). */
export const PROTO_FILES = [
  'envoy/service/discovery/v3/ads.proto',
  'envoy/config/listener/v3/listener.proto',
  'envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.proto',
  'envoy/extensions/filters/http/router/v3/router.proto',
  'envoy/config/route/v3/route.proto',
  'envoy/config/cluster/v3/cluster.proto',
  'envoy/config/endpoint/v3/endpoint.proto',
  'envoy/extensions/upstreams/http/v3/http_protocol_options.proto',
];

/**
 * Loads the subset; protobufjs resolves google/protobuf/* from its bundled copies. Once, on first use (the first
 * xDS stream or resource), not at start: parsing the files and the types they make cost ~45 ms and a few MB that a
 * server nobody asks for xDS never needs.
 */
function loadRoot(): protobuf.Root {
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => join(PROTO_DIR, target);
  root.loadSync(PROTO_FILES, { keepCase: true });
  root.resolveAll();
  return root;
}

let root: protobuf.Root | undefined;

/** The protobuf type of a fully qualified message name (e.g. from a type URL); throws when not in the subset. */
export function messageType(fullName: string): protobuf.Type {
  root ??= loadRoot();
  return root.lookupType(fullName);
}

/** The message name a type URL carries: `type.googleapis.com/a.b.C` ⇒ `a.b.C`. */
export function typeNameOf(typeUrl: string): string {
  return typeUrl.slice(typeUrl.lastIndexOf('/') + 1);
}

/**
 * Encodes `message` (a plain object with proto field names, enums as numbers, bytes as Uint8Array, wrappers as
 * `{ value }`) as `typeName`. Fields left out are not written; the caller builds objects that match the wire
 * interfaces of wire.ts, which the encoder takes as they are: protobufjs's fromObject conversion, which cost more
 * than the encoding itself (a Struct of metadata per endpoint tripled an assignment's cost), is not needed for
 * objects of the right shape (test/xds-conformance.test.ts decodes every resource under Envoy's own protos).
 */
export function encodeMessage(typeName: string, message: object): Buffer {
  const type = messageType(typeName);
  const bytes = type.encode(message).finish();
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Decodes bytes of `typeName` into a plain object (proto field names, enums as numbers, longs as numbers). */
export function decodeMessage(typeName: string, bytes: Uint8Array): Record<string, unknown> {
  const type = messageType(typeName);
  return type.toObject(type.decode(bytes), { longs: Number, enums: Number, bytes: Buffer, arrays: true });
}

const DISCOVERY = 'envoy.service.discovery.v3';
const discoveryRequest = `${DISCOVERY}.DiscoveryRequest`;
const discoveryResponse = `${DISCOVERY}.DiscoveryResponse`;
const deltaRequest = `${DISCOVERY}.DeltaDiscoveryRequest`;
const deltaResponse = `${DISCOVERY}.DeltaDiscoveryResponse`;

/** The type of `typeName`, looked up on first use and kept. */
function lazyType(typeName: string): () => protobuf.Type {
  let type: protobuf.Type | undefined;
  return () => (type ??= messageType(typeName));
}

/** Shape check at the edge: what protobufjs decoded, as the typed request (absent fields get their defaults). */
function toDiscoveryRequest(raw: Record<string, unknown>): DiscoveryRequest {
  return {
    version_info: str(raw.version_info),
    node: toNode(raw.node),
    resource_names: strings(raw.resource_names),
    type_url: str(raw.type_url),
    response_nonce: str(raw.response_nonce),
    error_detail: toStatus(raw.error_detail),
  };
}

function toDeltaRequest(raw: Record<string, unknown>): DeltaDiscoveryRequest {
  const versions: Record<string, string> = {};
  const initial = raw.initial_resource_versions;
  if (initial !== null && typeof initial === 'object') {
    for (const [name, version] of Object.entries(initial)) versions[name] = str(version);
  }
  return {
    node: toNode(raw.node),
    type_url: str(raw.type_url),
    resource_names_subscribe: strings(raw.resource_names_subscribe),
    resource_names_unsubscribe: strings(raw.resource_names_unsubscribe),
    initial_resource_versions: versions,
    response_nonce: str(raw.response_nonce),
    error_detail: toStatus(raw.error_detail),
  };
}

function toNode(value: unknown): Node | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  const raw = value as Record<string, unknown>;
  const node = { id: str(raw.id), cluster: str(raw.cluster), user_agent_name: str(raw.user_agent_name) };
  const locality = raw.locality;
  if (locality === null || typeof locality !== 'object') return node;
  const where = locality as Record<string, unknown>;
  return {
    ...node,
    locality: { region: str(where.region), zone: str(where.zone), sub_zone: str(where.sub_zone) },
  };
}

/** An error_detail is a NACK only when present; protobufjs leaves an absent message field undefined. */
function toStatus(value: unknown): Status | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  const raw = value as Record<string, unknown>;
  return { code: typeof raw.code === 'number' ? raw.code : 0, message: str(raw.message) };
}

function str(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

function decodeWith<T>(typeName: string, convert: (raw: Record<string, unknown>) => T): (bytes: Buffer) => T {
  const type = lazyType(typeName);
  return (bytes) =>
    convert(type().toObject(type().decode(bytes), { longs: Number, enums: Number, arrays: true }));
}

function encodeWith(typeName: string): (message: object) => Buffer {
  const type = lazyType(typeName);
  // Plain objects straight to the encoder: fromObject would copy every shared resource buffer once more.
  return (message) => {
    const bytes = type().encode(message).finish();
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  };
}

export const decodeDiscoveryRequest = decodeWith(discoveryRequest, toDiscoveryRequest);
export const decodeDeltaDiscoveryRequest = decodeWith(deltaRequest, toDeltaRequest);
export const encodeDiscoveryResponse: (message: DiscoveryResponse) => Buffer = encodeWith(discoveryResponse);
export const encodeDeltaDiscoveryResponse: (message: DeltaDiscoveryResponse) => Buffer =
  encodeWith(deltaResponse);

/** Responses for clients (tests, benchmark): plain objects, bytes as Buffers. */
function decodePlain(typeName: string): (bytes: Buffer) => Record<string, unknown> {
  const type = lazyType(typeName);
  return (bytes) =>
    type().toObject(type().decode(bytes), { longs: Number, enums: Number, bytes: Buffer, arrays: true });
}

const ADS = `/${DISCOVERY}.AggregatedDiscoveryService`;

/**
 * `envoy.service.discovery.v3.AggregatedDiscoveryService` for grpc-js, with our own (de)serializers so that the
 * server writes pre-encoded resources instead of re-encoding them per stream. Usable for clients too
 * (grpc.makeGenericClientConstructor), which is how tests and the benchmark speak raw ADS.
 */
export const adsServiceDefinition = {
  StreamAggregatedResources: {
    path: `${ADS}/StreamAggregatedResources`,
    requestStream: true,
    responseStream: true,
    requestSerialize: encodeWith(discoveryRequest),
    requestDeserialize: decodeDiscoveryRequest,
    responseSerialize: encodeDiscoveryResponse,
    responseDeserialize: decodePlain(discoveryResponse),
    originalName: 'streamAggregatedResources',
  },
  DeltaAggregatedResources: {
    path: `${ADS}/DeltaAggregatedResources`,
    requestStream: true,
    responseStream: true,
    requestSerialize: encodeWith(deltaRequest),
    requestDeserialize: decodeDeltaDiscoveryRequest,
    responseSerialize: encodeDeltaDiscoveryResponse,
    responseDeserialize: decodePlain(deltaResponse),
    originalName: 'deltaAggregatedResources',
  },
} satisfies grpc.ServiceDefinition;
