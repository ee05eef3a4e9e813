// Starts the real endpointd in-process on loopback, serving manifests from a temporary directory that tests edit.
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { defaultConfig, UNLIMITED, type Config } from '../../src/config/index.ts';
import { startEndpointd, type Endpointd } from '../../src/main.ts';
import { createLogger } from '../../src/observability/logger.ts';

export interface TestEndpointd {
  readonly endpointd: Endpointd;
  readonly url: string;
  readonly dir: string;
  write(file: string, text: string): Promise<void>;
  remove(file: string): Promise<void>;
  stop(): Promise<void>;
}

/** The production defaults (as the declarations in src/config/options/ give them), on loopback and quiet. */
export const TEST_CONFIG: Config = {
  ...defaultConfig(),
  httpPort: 0,
  grpcPort: 0,
  bind: '127.0.0.1',
  logLevel: 'silent',
  encodedCacheBytes: 16 * 1024 * 1024,
  shutdownGraceMs: 1000,
  // Every namespace shown (the system ones too): tests of the exposure rules set their own.
  exposure: { exposeNamespaces: [], hideNamespaces: [], selector: undefined, annotation: undefined },
  // No TLS, no authentication (the defaults), no caps or rate limit: tests of those features turn them on.
  limits: UNLIMITED,
};

/** endpointd on an ephemeral loopback port, its file source on a new temp dir holding `files`. */
export async function startTestEndpointd(
  files: Record<string, string>,
  overrides: Partial<Config> = {},
): Promise<TestEndpointd> {
  const dir = await mkdtemp(join(tmpdir(), 'endpointd-test-'));
  const write = async (file: string, text: string): Promise<void> => {
    await mkdir(dirname(join(dir, file)), { recursive: true });
    await writeFile(join(dir, file), text);
  };
  for (const [file, text] of Object.entries(files)) await write(file, text);
  const logger = createLogger(process.env.TEST_LOG_LEVEL === 'debug' ? 'debug' : 'silent');
  const endpointd = await startEndpointd(
    { ...TEST_CONFIG, sources: [{ kind: 'file', path: dir }], ...overrides },
    logger,
  );
  await endpointd.synced;
  return {
    endpointd,
    url: `http://127.0.0.1:${endpointd.httpAddress.port}`,
    dir,
    write,
    remove: (file) => rm(join(dir, file), { recursive: true, force: true }),
    stop: async () => {
      await endpointd.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** One endpoint of {@link zonedServiceManifest}: its zone (and the zone hint the slice controller writes for it). */
export interface ZonedEndpoint {
  readonly ip: string;
  readonly zone: string;
  readonly node?: string;
  /** Default true. */
  readonly ready?: boolean;
}

/**
 * A manifest of Service `shop/near` with `trafficDistribution` (http 80 → 8080) and its one EndpointSlice, each
 * endpoint in its zone and hinted for it, as the EndpointSlice controller writes hints (docs/topology.md).
 */
export function zonedServiceManifest(
  trafficDistribution: string,
  endpoints: readonly ZonedEndpoint[],
): string {
  const lines = endpoints.map(
    (e) =>
      `  - addresses: ["${e.ip}"]\n    zone: ${e.zone}\n${e.node === undefined ? '' : `    nodeName: ${e.node}\n`}` +
      `    conditions: { ready: ${e.ready ?? true} }\n    hints: { forZones: [{ name: ${e.zone} }] }\n`,
  );
  return `apiVersion: v1
kind: Service
metadata: { name: near, namespace: shop }
spec:
  trafficDistribution: ${trafficDistribution}
  ports: [{ name: http, port: 80, targetPort: 8080, protocol: TCP }]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: near-1
  namespace: shop
  labels: { kubernetes.io/service-name: near }
addressType: IPv4
ports: [{ name: http, port: 8080, protocol: TCP }]
endpoints:
${lines.join('')}`;
}

/** Two ready endpoints in zone-a and one in zone-b, each on a node of its own. */
export const TWO_ZONES: readonly ZonedEndpoint[] = [
  { ip: '10.5.0.1', zone: 'zone-a', node: 'node-a1' },
  { ip: '10.5.0.2', zone: 'zone-a', node: 'node-a2' },
  { ip: '10.5.1.1', zone: 'zone-b', node: 'node-b1' },
];

/** `shop/near` as PreferSameZone over `endpoints`, leaving out those whose IP is in `without`. */
export function preferSameZoneManifest(
  endpoints: readonly ZonedEndpoint[] = TWO_ZONES,
  without: readonly string[] = [],
): string {
  return zonedServiceManifest(
    'PreferSameZone',
    endpoints.filter((e) => !without.includes(e.ip)),
  );
}

/** A manifest of one EndpointSlice of Service `service` in `namespace`, every IP a ready endpoint on http:8080. */
export function sliceManifest(
  namespace: string,
  service: string,
  ips: readonly string[],
  options: { sliceName?: string; notReady?: readonly string[]; terminating?: readonly string[] } = {},
): string {
  const endpoint = (ip: string, ready: boolean, terminating: boolean): string =>
    `  - addresses: ["${ip}"]\n    conditions: { ready: ${ready}, serving: ${ready || terminating}, terminating: ${terminating} }\n    nodeName: node-1\n    zone: zone-a\n`;
  const endpoints = [
    ...ips.map((ip) => endpoint(ip, true, false)),
    ...(options.notReady ?? []).map((ip) => endpoint(ip, false, false)),
    ...(options.terminating ?? []).map((ip) => endpoint(ip, false, true)),
  ];
  return `apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: ${options.sliceName ?? `${service}-abcde`}
  namespace: ${namespace}
  labels:
    kubernetes.io/service-name: ${service}
addressType: IPv4
ports:
  - name: http
    port: 8080
    protocol: TCP
  - name: metrics
    port: 9100
    protocol: TCP
endpoints:${endpoints.length === 0 ? ' null\n' : `\n${endpoints.join('')}`}`;
}
