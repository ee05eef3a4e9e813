// One HTTP connection pool per distinct set of TLS and proxy options of a KubeConfig, instead of one per request.
//
// Why: client-node 2.x's KubeConfig.applySecurityAuthentication() builds a new undici Agent on every call whenever the
// cluster has TLS options (a CA, a client certificate, skip-verify), and every request of kube-client.ts makes that
// call: each page of each list and each watch opened its own connection, TLS handshake included, and the agents were
// never closed, so their idle sockets stayed open until undici's keep-alive timeout. A plain-HTTP cluster with no TLS
// options was not affected (client-node hands out no dispatcher, and undici's global one is shared).
//
// The options are still computed on every request by client-node (an exec plugin or a token file may have rotated
// a client certificate since the last one), and compared by value: equal options reuse the pool, different ones get
// a new pool, and the old one is closed gracefully (requests still open on it, a long watch, finish first).
import type { Dispatcher } from 'undici';
import type { KubeConfig } from './client-node.ts';

/** The two methods of client-node's KubeConfig this relies on: the dispatcher factory and its options' mapping. */
interface DispatcherFactory {
  createDispatcher(cluster: unknown, agentOptions: unknown): Dispatcher | undefined;
  createDispatcherOptions(cluster: unknown, agentOptions: unknown): unknown;
}

const reusing = new WeakSet<KubeConfig>();

/**
 * Makes `config` hand out the same dispatcher for as long as its TLS and proxy options stay the same. Idempotent:
 * every client made from one KubeConfig (the Kubernetes source's, the TokenReview authenticator's) shares its pool.
 * Throws at once when the installed client-node lacks either method, so that a version that changed them fails
 * every Kubernetes test instead of silently opening a connection per request again.
 */
export function reuseDispatchers(config: KubeConfig): void {
  if (reusing.has(config)) return;
  const factory = config as unknown as Partial<DispatcherFactory>;
  const { createDispatcher, createDispatcherOptions } = factory;
  if (typeof createDispatcher !== 'function' || typeof createDispatcherOptions !== 'function') {
    throw new Error(
      'this @kubernetes/client-node has no KubeConfig.createDispatcher()/createDispatcherOptions(): endpointd needs the 2.x versions that do (see src/kube/dispatcher-reuse.ts)',
    );
  }
  let current: { readonly key: string; readonly dispatcher: Dispatcher | undefined } | undefined;
  factory.createDispatcher = (cluster: unknown, agentOptions: unknown): Dispatcher | undefined => {
    const key = optionsKey(createDispatcherOptions.call(config, cluster, agentOptions));
    if (current?.key === key) return current.dispatcher;
    const previous = current?.dispatcher;
    current = { key, dispatcher: createDispatcher.call(config, cluster, agentOptions) };
    // What is still in flight on the old pool (a watch) ends on its own; the pool then closes its sockets.
    previous?.close().catch(() => {});
    return current.dispatcher;
  };
  reusing.add(config);
}

/** The options as a string that is equal exactly when they are: buffers (a CA, a certificate, a key) by content. */
function optionsKey(options: unknown): string {
  return JSON.stringify(options, function (this: Record<string, unknown>, key: string, value: unknown) {
    const raw = this[key];
    return Buffer.isBuffer(raw) ? `buffer:${raw.toString('base64')}` : value;
  });
}
