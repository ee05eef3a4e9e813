// gRPC server reflection (grpc.reflection.v1 and v1alpha, from @grpc/reflection), built on its first call instead
// of at start: loading @grpc/reflection, its own protos and the descriptors of every file served (ours and the xDS
// subset) costs ~200 ms of start-up, for a service that grpcurl asks now and then. The methods are registered
// before the server binds, as grpc-js requires; their codecs and handlers are @grpc/reflection's, built once,
// synchronously, when the first message of the first call arrives.
import { createRequire } from 'node:module';
import type {
  MethodDefinition,
  Server,
  ServerDuplexStream,
  ServiceDefinition,
  UntypedServiceImplementation,
} from '@grpc/grpc-js';
import type { PackageDefinition } from '@grpc/proto-loader';

/** The one method of each reflection service version, by its full path. */
const REFLECTION_METHODS = [
  '/grpc.reflection.v1.ServerReflection/ServerReflectionInfo',
  '/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo',
] as const;

type ReflectionCall = ServerDuplexStream<unknown, unknown>;

interface BuiltMethod {
  readonly definition: MethodDefinition<unknown, unknown>;
  readonly handler: (call: ReflectionCall) => void;
}

/** Registers both reflection services on `server`; `describe` gives what they describe, asked on first use. */
export function addLazyReflection(server: Server, describe: () => PackageDefinition): void {
  let built: Map<string, BuiltMethod> | undefined;
  const method = (path: string): BuiltMethod => {
    built ??= buildReflection(describe());
    const found = built.get(path);
    if (found === undefined) throw new Error(`@grpc/reflection does not serve ${path}`);
    return found;
  };
  for (const path of REFLECTION_METHODS) {
    const definition: MethodDefinition<unknown, unknown> = {
      path,
      requestStream: true,
      responseStream: true,
      originalName: 'serverReflectionInfo',
      requestSerialize: (value) => method(path).definition.requestSerialize(value),
      requestDeserialize: (bytes) => method(path).definition.requestDeserialize(bytes),
      responseSerialize: (value) => method(path).definition.responseSerialize(value),
      responseDeserialize: (bytes) => method(path).definition.responseDeserialize(bytes),
    };
    const service: ServiceDefinition = { ServerReflectionInfo: definition };
    const implementation: UntypedServiceImplementation = {
      ServerReflectionInfo: (call: ReflectionCall) => method(path).handler(call),
    };
    server.addService(service, implementation);
  }
}

/** @grpc/reflection's services for `pkg`, taken from what its addToServer would register. */
function buildReflection(pkg: PackageDefinition): Map<string, BuiltMethod> {
  const require = createRequire(import.meta.url);
  const { ReflectionService } = require('@grpc/reflection') as typeof import('@grpc/reflection');
  const methods = new Map<string, BuiltMethod>();
  const collector = {
    addService(service: ServiceDefinition, implementation: UntypedServiceImplementation): void {
      for (const [name, definition] of Object.entries(service)) {
        const handler = implementation[name] ?? implementation[definition.originalName ?? ''];
        if (typeof handler !== 'function') continue;
        methods.set(definition.path, {
          definition: definition as MethodDefinition<unknown, unknown>,
          handler: handler as (call: ReflectionCall) => void,
        });
      }
    },
  };
  new ReflectionService(pkg).addToServer(collector);
  return methods;
}
