// Client configuration pointing at the fake: a kubeconfig document and the in-cluster service-account files.

import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';

export interface KubeconfigTarget {
  url: string;
  caPem: string | undefined;
  namespace: string;
}

/** JSON strings are valid YAML scalars, which spares a YAML emitter. */
const q = (s: string) => JSON.stringify(s);

export function kubeconfigYaml(target: KubeconfigTarget, token: string | undefined): string {
  // client-node refuses http:// servers unless the cluster skips TLS verification.
  const clusterTls =
    target.caPem === undefined
      ? '    insecure-skip-tls-verify: true'
      : `    certificate-authority-data: ${q(Buffer.from(target.caPem).toString('base64'))}`;
  const user = token === undefined ? '  user: {}' : `  user:\n    token: ${q(token)}`;
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- name: fake',
    '  cluster:',
    `    server: ${q(target.url)}`,
    clusterTls,
    'users:',
    '- name: fake-user',
    user,
    'contexts:',
    '- name: fake',
    '  context:',
    '    cluster: fake',
    '    user: fake-user',
    `    namespace: ${q(target.namespace)}`,
    'current-context: fake',
    'preferences: {}',
    '',
  ].join('\n');
}

/** client-node's KubeConfig for a plain-HTTP server at `url` (a loopback stand-in for an API server), no token. */
export function plainHttpKubeConfig(url: string): KubeConfig {
  const config = new KubeConfig();
  config.loadFromString(kubeconfigYaml({ url, caPem: undefined, namespace: 'default' }, undefined));
  return config;
}

export interface InClusterEnv {
  KUBERNETES_SERVICE_HOST: string;
  KUBERNETES_SERVICE_PORT: string;
}

/**
 * Writes what the kubelet mounts into a pod, under `dir`, for `KubeConfig.loadFromCluster(dir)`.
 * Returns the env vars loadFromCluster also reads; the caller sets them (and restores them afterwards).
 */
export async function writeInClusterFiles(
  dir: string,
  target: KubeconfigTarget,
  token: string,
): Promise<InClusterEnv> {
  const sa = join(dir, 'var/run/secrets/kubernetes.io/serviceaccount');
  await mkdir(sa, { recursive: true });
  await Promise.all([
    writeFile(join(sa, 'token'), token),
    writeFile(join(sa, 'ca.crt'), target.caPem ?? ''),
    writeFile(join(sa, 'namespace'), target.namespace),
  ]);
  const url = new URL(target.url);
  return { KUBERNETES_SERVICE_HOST: url.hostname, KUBERNETES_SERVICE_PORT: url.port };
}
