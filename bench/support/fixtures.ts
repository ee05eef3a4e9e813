// Realistic Kubernetes objects for benchmarks: the EndpointSlices the EndpointSlice controller would write for a
// Service (several slices, named ports, zones, pod references), and manifest directories that hold them.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { EndpointSliceObject } from '../../src/kube/objects.ts';

export interface ServiceShape {
  readonly namespace: string;
  readonly name: string;
  readonly slices: number;
  readonly endpointsPerSlice: number;
  /** A distinct number per service in one data set, so that addresses never collide. */
  readonly index: number;
  /** Two variants of the same service differ in one endpoint's conditions: a real change, same size. */
  readonly variant?: 0 | 1;
}

const ZONES = ['europe-west1-b', 'europe-west1-c', 'europe-west1-d'];

/** The slices of one Service: IPv4, ports `http` (8080) and `grpc` (9000), every endpoint ready but the last. */
export function endpointSlices(shape: ServiceShape): EndpointSliceObject[] {
  const slices: EndpointSliceObject[] = [];
  const perService = shape.slices * shape.endpointsPerSlice;
  for (let s = 0; s < shape.slices; s++) {
    const endpoints: NonNullable<EndpointSliceObject['endpoints']> = [];
    for (let e = 0; e < shape.endpointsPerSlice; e++) {
      const ordinal = s * shape.endpointsPerSlice + e;
      const last = ordinal === perService - 1;
      const pod = `${shape.name}-7d9f8c6b5-${podSuffix(shape.index * perService + ordinal)}`;
      const zone = ZONES[ordinal % ZONES.length] ?? 'unknown';
      endpoints.push({
        addresses: [ipv4(shape.index * perService + ordinal)],
        // The variants flip the last endpoint between ready and terminating, as in a rolling update.
        conditions:
          last && shape.variant === 1
            ? { ready: false, serving: true, terminating: true }
            : { ready: true, serving: true, terminating: false },
        nodeName: `node-${zone.slice(-1)}-${ordinal % 7}`,
        zone,
        targetRef: { kind: 'Pod', namespace: shape.namespace, name: pod, uid: uid(shape.index, ordinal) },
      });
    }
    slices.push({
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: {
        name: `${shape.name}-${podSuffix(shape.index * 16 + s)}`,
        namespace: shape.namespace,
        resourceVersion: String(1000 + s),
        labels: {
          'kubernetes.io/service-name': shape.name,
          'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io',
        },
      },
      addressType: 'IPv4',
      ports: [
        { name: 'http', port: 8080, protocol: 'TCP', appProtocol: 'http' },
        { name: 'grpc', port: 9000, protocol: 'TCP', appProtocol: 'kubernetes.io/h2c' },
      ],
      endpoints,
    });
  }
  return slices;
}

/** Multi-document YAML, as kubectl writes it. */
export function toManifest(objects: readonly object[]): string {
  return objects.map((o) => stringify(o)).join('---\n');
}

export interface ManifestDir {
  readonly path: string;
  remove(): Promise<void>;
}

/** A temporary directory holding `files` (name → contents); remove() deletes it. */
export async function manifestDir(files: Readonly<Record<string, string>>): Promise<ManifestDir> {
  const path = await mkdtemp(join(tmpdir(), 'endpointd-bench-'));
  for (const [name, text] of Object.entries(files)) await writeFile(join(path, name), text);
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

/** The n-th address of 10.0.0.0/8 past 10.0.0.0, skipping .0 so that none looks like a network address. */
function ipv4(n: number): string {
  const host = n + 1 + Math.floor(n / 255);
  return `10.${(host >> 16) & 255}.${(host >> 8) & 255}.${host & 255}`;
}

function podSuffix(n: number): string {
  const alphabet = 'bcdfghjklmnpqrstvwxz2456789';
  let out = '';
  let rest = n + 27 ** 4;
  while (out.length < 5) {
    out = (alphabet[rest % alphabet.length] ?? 'x') + out;
    rest = Math.floor(rest / alphabet.length);
  }
  return out;
}

function uid(service: number, ordinal: number): string {
  const hex = (service * 4096 + ordinal).toString(16).padStart(12, '0');
  return `6f1c2d3e-4a5b-4c6d-8e7f-${hex}`;
}
