// etcd's v3 gRPC messages as the benchmark sends and reads them: typed shapes over bench/proto/etcd/ (our minimal,
// wire-compatible subset of etcd's rpc.proto and kv.proto) and their protobuf encoding. The only bench module that
// touches protobufjs for etcd.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';

const PROTO_DIR = fileURLToPath(new URL('../proto/', import.meta.url));

/** Method paths as grpc-go serves them (package.Service/Method). */
export const ETCD_RANGE_PATH = '/etcdserverpb.KV/Range';
export const ETCD_PUT_PATH = '/etcdserverpb.KV/Put';
export const ETCD_WATCH_PATH = '/etcdserverpb.Watch/Watch';

export interface RangeRequest {
  readonly key: Uint8Array;
  readonly serializable: boolean;
}

export interface KeyValue {
  readonly key: Buffer;
  readonly mod_revision: number;
  readonly value: Buffer;
}

export interface RangeResponse {
  readonly header: { readonly revision: number };
  readonly kvs: readonly KeyValue[];
  readonly count: number;
}

export interface PutRequest {
  readonly key: Uint8Array;
  readonly value: Uint8Array;
}

export interface PutResponse {
  readonly header: { readonly revision: number };
}

export interface WatchRequest {
  readonly create_request: { readonly key: Uint8Array };
}

export interface WatchEvent {
  /** 0 PUT, 1 DELETE. */
  readonly type: number;
  readonly kv: KeyValue;
}

export interface WatchResponse {
  readonly header: { readonly revision: number };
  readonly watch_id: number;
  readonly created: boolean;
  readonly canceled: boolean;
  readonly cancel_reason: string;
  readonly events: readonly WatchEvent[];
}

function loadRoot(): protobuf.Root {
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => join(PROTO_DIR, target);
  root.loadSync('etcd/api/etcdserverpb/rpc.proto', { keepCase: true });
  root.resolveAll();
  return root;
}

const root = loadRoot();

function encoder<T extends object>(typeName: string): (message: T) => Buffer {
  const type = root.lookupType(typeName);
  return (message) => {
    const bytes = type.encode(type.fromObject(message)).finish();
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  };
}

/**
 * A decoder to the plain shape above: defaults filled in (proto3 omits zero values on the wire), int64 as number
 * (revisions stay far below 2^53 here), bytes as Buffer.
 */
function decoder<T>(typeName: string): (bytes: Uint8Array) => T {
  const type = root.lookupType(typeName);
  return (bytes) =>
    type.toObject(type.decode(bytes), {
      longs: Number,
      enums: Number,
      bytes: Buffer,
      defaults: true,
      arrays: true,
    }) as T;
}

export const encodeRangeRequest = encoder<RangeRequest>('etcdserverpb.RangeRequest');
export const decodeRangeResponse = decoder<RangeResponse>('etcdserverpb.RangeResponse');
export const encodePutRequest = encoder<PutRequest>('etcdserverpb.PutRequest');
export const decodePutResponse = decoder<PutResponse>('etcdserverpb.PutResponse');
export const encodeWatchRequest = encoder<WatchRequest>('etcdserverpb.WatchRequest');
export const decodeWatchResponse = decoder<WatchResponse>('etcdserverpb.WatchResponse');
