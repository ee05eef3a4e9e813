// The parts of @kubernetes/client-node endpointd uses — KubeConfig (kubeconfig files, in-cluster service account,
// tokens, client certificates, exec and OIDC plugins, TLS and proxies) and the request context it authenticates —
// loaded without the package's generated API. Every import of the package goes through this module.
//
// Why: client-node's KubeConfig module imports two functions from the package's generated index
// (dist/gen/index.js), and that index loads every generated API class and model: ~25 MB of source that V8 keeps on
// the heap for the life of the process (~15 MB of heap and ~40 MB of RSS) and ~0.5–0.8 s of start-up, for code
// endpointd never calls (it lists and watches with its own raw JSON client, kube-client.ts). A module resolve hook
// points that one import, and only when KubeConfig's own module makes it, at client-node-generated-slim.ts, which
// re-exports the same two functions from the same files of the package: the classes are client-node's own, and a
// version of client-node whose KubeConfig needs more of the index fails to load at once (every Kubernetes test),
// never later (test/client-node-slim.test.ts also checks the names against the package's source).
import { registerHooks } from 'node:module';

const SLIM_GENERATED = new URL('./client-node-generated-slim.ts', import.meta.url).href;
/** Where KubeConfig's module lives, and the specifier it loads the generated index with. */
export const KUBECONFIG_MODULE_SUFFIX = '/@kubernetes/client-node/dist/config.js';
export const GENERATED_INDEX_SPECIFIER = './gen/index.js';

// Compiled (dist/), this module is .js and so is its slim neighbour.
const slimUrl = import.meta.url.endsWith('.js') ? SLIM_GENERATED.replace(/\.ts$/, '.js') : SLIM_GENERATED;

registerHooks({
  resolve(specifier, context, nextResolve) {
    if (specifier === GENERATED_INDEX_SPECIFIER && context.parentURL?.endsWith(KUBECONFIG_MODULE_SUFFIX)) {
      return { url: slimUrl, shortCircuit: true };
    }
    return nextResolve(specifier, context);
  },
});

// Imported after the hook is in place (a static import would be linked before this module's body runs).
const configModule = await import('@kubernetes/client-node/dist/config.js');

export const KubeConfig = configModule.KubeConfig;
export type KubeConfig = InstanceType<typeof configModule.KubeConfig>;
export { HttpMethod, RequestContext } from '@kubernetes/client-node/dist/gen/http/http.js';
