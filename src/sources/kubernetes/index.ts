// The Kubernetes source's public face, imported on demand by the composition root (it pulls in
// @kubernetes/client-node, which is heavy to load and not needed when endpointd serves files only).
export { KubernetesSource, type KubernetesSourceOptions, type KubeResource } from './kubernetes-source.ts';
export { loadKubeConfig, type KubeconfigOptions } from '../../kube/kubeconfig.ts';
