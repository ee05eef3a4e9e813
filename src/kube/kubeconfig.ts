// Finds the credentials to reach the API server, in kubectl's order: --kubeconfig, $KUBECONFIG, ~/.kube/config,
// then the in-cluster service account. Fails with a message that says what was tried, never with a silent default.
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from './client-node.ts';

export interface KubeconfigOptions {
  readonly kubeconfig?: string | undefined;
  readonly context?: string | undefined;
  readonly env?: NodeJS.ProcessEnv;
  /** Where the in-cluster service account files live (tests point it elsewhere). */
  readonly inClusterPrefix?: string;
}

export function loadKubeConfig(options: KubeconfigOptions): { config: KubeConfig; origin: string } {
  const env = options.env ?? process.env;
  const config = new KubeConfig();
  let origin: string;
  const defaultFile = join(homedir(), '.kube', 'config');
  if (options.kubeconfig !== undefined) {
    if (!existsSync(options.kubeconfig)) throw new Error(`--kubeconfig ${options.kubeconfig}: no such file`);
    config.loadFromFile(options.kubeconfig);
    origin = options.kubeconfig;
  } else if (env.KUBECONFIG !== undefined && env.KUBECONFIG !== '') {
    config.loadFromDefault();
    origin = `KUBECONFIG=${env.KUBECONFIG}`;
  } else if (existsSync(defaultFile)) {
    config.loadFromFile(defaultFile);
    origin = defaultFile;
  } else if (env.KUBERNETES_SERVICE_HOST !== undefined && env.KUBERNETES_SERVICE_HOST !== '') {
    config.loadFromCluster(options.inClusterPrefix);
    origin = 'in-cluster service account';
  } else {
    throw new Error(
      'no Kubernetes credentials found: give --kubeconfig, set KUBECONFIG, create ~/.kube/config, or run in a pod',
    );
  }
  if (options.context !== undefined) {
    if (config.getContextObject(options.context) === null) {
      const known = config.getContexts().map((c) => c.name);
      throw new Error(
        `--context ${options.context}: not in ${origin} (it has: ${known.join(', ') || 'none'})`,
      );
    }
    config.setCurrentContext(options.context);
  }
  if (config.getCurrentCluster() === null) throw new Error(`${origin}: no current context with a cluster`);
  return { config, origin };
}
