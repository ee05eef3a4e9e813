// What @kubernetes/client-node's KubeConfig module (dist/config.js) takes from the package's generated API
// (dist/gen/index.js): only these two. client-node.ts points that one import here, so that loading KubeConfig does
// not load the ~25 MB of generated API classes and models that endpointd never calls (see client-node.ts).
export { createConfiguration } from '@kubernetes/client-node/dist/gen/configuration.js';
export { ServerConfiguration } from '@kubernetes/client-node/dist/gen/servers.js';
