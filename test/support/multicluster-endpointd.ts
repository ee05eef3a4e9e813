// endpointd reading several named clusters (`--cluster`), each a fake kube-apiserver on loopback, and what tests
// need to follow it: lookups (merged or one cluster's), readiness, metrics.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ServiceBody } from '../../src/api/rest/wire.ts';
import {
  defaultKubernetesSource,
  type ClusterSettings,
  type Config,
  type KubernetesSourceConfig,
} from '../../src/config/index.ts';
import { startEndpointd, type Endpointd } from '../../src/main.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { endpointSlice, type FakeApiServer } from './fake-apiserver/index.ts';
import { TEST_CONFIG } from './endpointd.ts';
import { eventually, get } from './http.ts';

export interface TestCluster {
  readonly name: string;
  readonly api: FakeApiServer;
  readonly region?: string;
  /** A bearer token of the fake's (default: none). */
  readonly token?: string;
}

export interface MulticlusterEndpointd {
  readonly endpointd: Endpointd;
  readonly url: string;
  /** The service as REST answers it (all endpoints; of one cluster with `cluster`), or undefined on 404. */
  lookup(namespace: string, name: string, cluster?: string): Promise<ServiceBody | undefined>;
  /** Waits until `check` holds for the lookup, and returns what it saw. */
  until(
    namespace: string,
    name: string,
    check: (body: ServiceBody | undefined) => boolean,
    options?: { cluster?: string; timeoutMs?: number },
  ): Promise<ServiceBody | undefined>;
  stop(): Promise<void>;
}

/** The --cluster settings tests use unless they say otherwise: export all, a short ready wait, stale at once. */
export const TEST_CLUSTER_SETTINGS: Omit<ClusterSettings, 'name' | 'region'> = {
  export: { mode: 'all' },
  readyTimeoutMs: 5000,
  staleAfterMs: 0,
};

export async function startMulticlusterEndpointd(
  clusters: readonly TestCluster[],
  options: {
    settings?: Partial<Omit<ClusterSettings, 'name' | 'region'>>;
    kubernetes?: Partial<Omit<KubernetesSourceConfig, 'kind' | 'cluster'>>;
    overrides?: Partial<Config>;
    waitForSync?: boolean;
  } = {},
): Promise<MulticlusterEndpointd> {
  const dir = await mkdtemp(join(tmpdir(), 'endpointd-multi-'));
  const sources: KubernetesSourceConfig[] = [];
  for (const cluster of clusters) {
    const kubeconfig = join(dir, `${cluster.name}.kubeconfig`);
    await writeFile(kubeconfig, cluster.api.kubeconfigYaml(cluster.token));
    sources.push({
      ...defaultKubernetesSource(),
      kubeconfig,
      ...options.kubernetes,
      cluster: {
        ...TEST_CLUSTER_SETTINGS,
        ...options.settings,
        name: cluster.name,
        region: cluster.region,
      },
    });
  }
  const logger = createLogger(process.env.TEST_LOG_LEVEL === 'debug' ? 'debug' : 'silent');
  const endpointd = await startEndpointd(
    { ...TEST_CONFIG, sources, ...options.overrides } satisfies Config,
    logger,
  );
  if (options.waitForSync !== false) await endpointd.synced;
  const url = `http://127.0.0.1:${endpointd.httpAddress.port}`;
  const lookup = async (
    namespace: string,
    name: string,
    cluster?: string,
  ): Promise<ServiceBody | undefined> => {
    const query = cluster === undefined ? '' : `&cluster=${cluster}`;
    const answer = await get(`${url}/v1/namespaces/${namespace}/services/${name}?endpoints=all${query}`);
    if (answer.status === 404) return undefined;
    if (answer.status !== 200)
      throw new Error(`lookup ${namespace}/${name}: HTTP ${answer.status} ${answer.text}`);
    return answer.json<ServiceBody>();
  };
  return {
    endpointd,
    url,
    lookup,
    until: async (namespace, name, check, { cluster, timeoutMs = 5000 } = {}) => {
      let last: ServiceBody | undefined;
      try {
        return await eventually(async () => {
          last = await lookup(namespace, name, cluster);
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

/** `cluster address` of every endpoint, sorted: what a merged answer holds, provenance included. */
export function taggedAddresses(body: ServiceBody | undefined): string[] {
  return (body?.endpoints ?? []).map((e) => `${e.cluster ?? '-'} ${e.addresses[0] ?? ''}`).sort();
}

/** The several-cluster tests' slice: Service `name` of namespace shop, one endpoint per address, port http 8080. */
export function shopSlice(
  name: string,
  ips: readonly string[],
  sliceName = `${name}-a`,
): ReturnType<typeof endpointSlice> {
  return endpointSlice({
    service: name,
    namespace: 'shop',
    name: sliceName,
    endpoints: ips.map((addresses) => ({ addresses })),
    ports: [{ name: 'http', port: 8080 }],
  });
}
