// One data set of Services for the file-source suite, in both shapes it is compared in: objects for the fake API
// server, and manifest trees on disk (a YAML or JSON file per Service, or a few large YAML files), written from the
// very same objects so that both sources serve identical content.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { dump } from 'js-yaml';
import { service, type KubeObject } from '../../test/support/fake-apiserver/index.ts';
import { endpointSlices } from './fixtures.ts';

export interface DatasetService {
  readonly namespace: string;
  readonly name: string;
  readonly service: KubeObject;
  readonly slice: KubeObject;
}

/** `count` Services in namespaces of `perNamespace`, each with its Service object and one slice of `endpoints`. */
export function dataset(
  count: number,
  perNamespace: number,
  endpoints: number,
  variant: 0 | 1 = 0,
): DatasetService[] {
  const out: DatasetService[] = [];
  for (let i = 0; i < count; i++) out.push(datasetService(i, perNamespace, endpoints, variant));
  return out;
}

export function datasetService(
  i: number,
  perNamespace: number,
  endpoints: number,
  variant: 0 | 1 = 0,
): DatasetService {
  const namespace = `team-${Math.floor(i / perNamespace)}`;
  const name = `svc-${i}`;
  const [slice] = endpointSlices({
    namespace,
    name,
    slices: 1,
    endpointsPerSlice: endpoints,
    index: i,
    variant,
  });
  return {
    namespace,
    name,
    service: service({
      name,
      namespace,
      ports: [
        { name: 'http', port: 80, targetPort: 8080, appProtocol: 'http' },
        { name: 'grpc', port: 9000, targetPort: 9000, appProtocol: 'kubernetes.io/h2c' },
      ],
    }),
    slice: slice as unknown as KubeObject,
  };
}

export type Layout = 'yaml-per-service' | 'json-per-service' | 'yaml-4-files';

/** The manifests of one Service: its Service object and its slice, as kubectl would print them. */
export function serviceYaml(s: DatasetService): string {
  return `${dump(s.service)}---\n${dump(s.slice)}`;
}

/** Writes `services` under `dir` in `layout`. */
export async function writeLayout(
  dir: string,
  services: readonly DatasetService[],
  layout: Layout,
): Promise<void> {
  await mkdir(dir, { recursive: true });
  if (layout === 'yaml-4-files') {
    const per = Math.ceil(services.length / 4);
    for (let f = 0; f < 4; f++) {
      const part = services.slice(f * per, (f + 1) * per);
      await writeFile(join(dir, `part-${f}.yaml`), part.map(serviceYaml).join('---\n'));
    }
    return;
  }
  for (const s of services) {
    const text =
      layout === 'json-per-service'
        ? JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [s.service, s.slice] })
        : serviceYaml(s);
    await writeFile(
      join(dir, `${s.namespace}-${s.name}.${layout === 'json-per-service' ? 'json' : 'yaml'}`),
      text,
    );
  }
}
