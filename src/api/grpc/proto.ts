// Loads the protos this front door serves (endpointd.v1 and grpc.health.v1) with @grpc/proto-loader, and turns
// their service definitions into ones whose responses are bytes we encoded ourselves, so that one encoding can be
// written to many calls.
import type { MethodDefinition, ServiceDefinition } from '@grpc/grpc-js';
import {
  loadSync,
  type Options,
  type PackageDefinition,
  type ServiceDefinition as LoaderServiceDefinition,
} from '@grpc/proto-loader';
import { fileURLToPath } from 'node:url';

/** The proto/ folder of the repository (and of the image): same depth from src/ and from dist/. */
export const PROTO_DIR = fileURLToPath(new URL('../../../proto/', import.meta.url));
export const DISCOVERY_PROTO = 'endpointd/v1/discovery.proto';
export const HEALTH_PROTO = 'grpc/health/v1/health.proto';

export const DISCOVERY_SERVICE = 'endpointd.v1.Discovery';
export const HEALTH_SERVICE = 'grpc.health.v1.Health';

/**
 * How requests are decoded: camelCase fields, enums as their names, unset scalars as their defaults, unset
 * messages as null, and a virtual field naming the member set in each oneof. The types of src/api/grpc/wire.ts
 * describe exactly this shape.
 */
export const LOADER_OPTIONS: Options = {
  keepCase: false,
  longs: Number,
  enums: String,
  defaults: true,
  oneofs: true,
  includeDirs: [PROTO_DIR],
};

/** Encodes a plain message object (camelCase fields, enums by name or number) to protobuf bytes. */
export type Encoder<T> = (message: T) => Buffer;

export interface LoadedProtos {
  /** Every file, for server reflection. */
  readonly packageDefinition: PackageDefinition;
  readonly discovery: LoaderServiceDefinition;
  readonly health: LoaderServiceDefinition;
  encoder<T>(messageType: string): Encoder<T>;
}

/** Reads and parses the proto files; synchronous and done once per server, at start. */
export function loadProtos(): LoadedProtos {
  const packageDefinition = loadSync([DISCOVERY_PROTO, HEALTH_PROTO], LOADER_OPTIONS);
  return {
    packageDefinition,
    discovery: serviceOf(packageDefinition, DISCOVERY_SERVICE),
    health: serviceOf(packageDefinition, HEALTH_SERVICE),
    encoder: <T>(messageType: string): Encoder<T> => {
      const definition = packageDefinition[messageType];
      if (definition === undefined || definition.format !== 'Protocol Buffer 3 DescriptorProto') {
        throw new Error(`${messageType} is not a message of the loaded protos`);
      }
      const serialize = definition.serialize;
      return (message: T) => serialize(message as object);
    },
  };
}

function serviceOf(packageDefinition: PackageDefinition, name: string): LoaderServiceDefinition {
  const definition = packageDefinition[name];
  if (definition === undefined || 'format' in definition)
    throw new Error(`${name} is not a service of the loaded protos`);
  return definition;
}

/**
 * The same service whose handlers answer with protobuf bytes instead of message objects: the response serializer
 * passes the Buffer through. This is what lets a Resolve answer be encoded once per version and a Watch change
 * once per change, whatever the number of calls it is written to. Requests are still decoded by proto-loader.
 */
export function bytesResponseService(service: LoaderServiceDefinition): ServiceDefinition {
  const methods: Record<string, MethodDefinition<unknown, Buffer>> = {};
  for (const [name, method] of Object.entries(service)) {
    methods[name] = {
      path: method.path,
      requestStream: method.requestStream,
      responseStream: method.responseStream,
      requestSerialize: method.requestSerialize as (value: unknown) => Buffer,
      requestDeserialize: method.requestDeserialize,
      responseSerialize: passBytes,
      responseDeserialize: (bytes: Buffer) => bytes,
      ...(method.originalName === undefined ? {} : { originalName: method.originalName }),
    };
  }
  return methods;
}

function passBytes(bytes: Buffer): Buffer {
  if (!Buffer.isBuffer(bytes))
    throw new TypeError('a handler of a bytes-response service answered a non-Buffer');
  return bytes;
}
