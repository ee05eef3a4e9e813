// endpointd with its Kubernetes source pointed at a fake kube-apiserver, and what tests need to watch it converge.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ServiceBody } from '../../src/api/rest/wire.ts';
import { defaultKubernetesSource, type Config, type KubernetesSourceConfig } from '../../src/config/index.ts';
import { startEndpointd, type Endpointd } from '../../src/main.ts';
import { createLogger } from '../../src/observability/logger.ts';
import type { FakeApiServer } from './fake-apiserver/index.ts';
import { TEST_CONFIG } from './endpointd.ts';
import { eventually, get } from './http.ts';

export interface KubeTestEndpointd {
  readonly endpointd: Endpointd;
  readonly url: string;
  /** The service as REST answers it (all endpoints), or undefined on 404. */
  lookup(namespace: string, name: string): Promise<ServiceBody | undefined>;
  /** Waits until `check` holds for the service (undefined: it is unknown), and returns it. */
  until(
    namespace: string,
    name: string,
    check: (body: ServiceBody | undefined) => boolean,
    timeoutMs?: number,
  ): Promise<ServiceBody | undefined>;
  stop(): Promise<void>;
}

export async function startKubeEndpointd(
  api: FakeApiServer,
  kubernetes: Partial<Omit<KubernetesSourceConfig, 'kind'>> = {},
  overrides: Partial<Config> = {},
  options: { token?: string; waitForSync?: boolean } = {},
): Promise<KubeTestEndpointd> {
  const dir = await mkdtemp(join(tmpdir(), 'endpointd-kube-'));
  const kubeconfig = join(dir, 'kubeconfig');
  await writeFile(kubeconfig, api.kubeconfigYaml(options.token));
  const logger = createLogger(process.env.TEST_LOG_LEVEL === 'debug' ? 'debug' : 'silent');
  const endpointd = await startEndpointd(
    {
      ...TEST_CONFIG,
      sources: [{ ...defaultKubernetesSource(), kubeconfig, ...kubernetes }],
      ...overrides,
    },
    logger,
  );
  if (options.waitForSync !== false) await endpointd.synced;
  const url = `http://127.0.0.1:${endpointd.httpAddress.port}`;
  const lookup = async (namespace: string, name: string): Promise<ServiceBody | undefined> => {
    const answer = await get(`${url}/v1/namespaces/${namespace}/services/${name}?endpoints=all`);
    if (answer.status === 404) return undefined;
    if (answer.status !== 200)
      throw new Error(`lookup ${namespace}/${name}: HTTP ${answer.status} ${answer.text}`);
    return answer.json<ServiceBody>();
  };
  return {
    endpointd,
    url,
    lookup,
    until: async (namespace, name, check, timeoutMs = 3000) => {
      let last: ServiceBody | undefined;
      try {
        return await eventually(async () => {
          last = await lookup(namespace, name);
          return check(last) ? { body: last } : undefined;
        }, timeoutMs).then((found) => found.body);
      } catch (error) {
        throw new Error(`${namespace}/${name} did not converge; last seen: ${JSON.stringify(last)}`, {
          cause: error,
        });
      }
    },
    stop: async () => {
      await endpointd.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** The first address of every endpoint, in the order served. */
export function ips(body: ServiceBody | undefined): string[] {
  return (body?.endpoints ?? []).map((e) => e.addresses[0] ?? '');
}
