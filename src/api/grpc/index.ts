// The public face of the gRPC front door: what the composition root (src/main.ts) may use. Everything else in
// this folder is private to it.
export {
  createGrpcServer,
  type GrpcServer,
  type GrpcServerOptions,
  type ServiceRegistration,
} from './server.ts';
export { DEFAULT_TRANSPORT_OPTIONS, type GrpcTransportOptions } from './options.ts';
export type { HealthService } from './health.ts';
export { DISCOVERY_PROTO, DISCOVERY_SERVICE, HEALTH_PROTO, LOADER_OPTIONS, PROTO_DIR } from './proto.ts';
