// The client commands' --help texts: usage, selection, connection and exit codes (docs/dashboard-and-cli.md).
import { DEFAULT_REQUEST_TIMEOUT, DEFAULT_SERVER } from './args.ts';

const CONNECTION_HELP = `Connection (each also read from its environment variable; the flag wins):
  -s, --server URL          endpointd's REST API (default ${DEFAULT_SERVER}) [ENDPOINTD_SERVER]
      --token TOKEN         bearer token to send [ENDPOINTD_TOKEN]
      --token-file PATH     read the bearer token from this file [ENDPOINTD_TOKEN_FILE]
      --ca-file PATH        PEM CA to verify an https server with [ENDPOINTD_CA_FILE]
      --cert-file PATH      PEM client certificate, for mTLS [ENDPOINTD_CERT_FILE]
      --key-file PATH       its PEM key [ENDPOINTD_KEY_FILE]
      --request-timeout D   bound on connecting and on each answer (default ${DEFAULT_REQUEST_TIMEOUT})`;

/** The selection options of `get` and `watch`; `--port` is get's alone (watch refuses it). */
const selectionHelp = (
  command: 'get' | 'watch',
): string => `  -n, --namespace NS        the namespace (default: all namespaces; for one SERVICE: default)
  -A, --all-namespaces      every namespace (the default without SERVICE)
  -o, --output FORMAT       wide (adds READY, PORTS, VERSION), json or yaml
      --all-endpoints       every endpoint whatever its conditions, not only the routable ones${
        command === 'get'
          ? `
      --port PORT           (with SERVICE) add the ready-to-dial targets of this port (name or number)`
          : ''
      }
      --cluster NAME        only the endpoints of this named cluster (endpointd --cluster)
      --zone ZONE           answer as for a caller in this zone (trafficDistribution, hints: docs/topology.md)
      --node NODE           answer as for a caller on this Kubernetes node (PreferSameNode)`;

const EXIT_HELP = `Exit codes: 0 done · 1 server error · 2 bad usage · 3 server unreachable, not ready or limiting (429) · 4
service or port not found · 5 credentials refused.`;

export const HELP: Record<string, string> = {
  get: `Usage: endpointd get [-n NS] [SERVICE | NS/SERVICE] [options]

Prints services and their endpoints, as kubectl get endpoints does. Without SERVICE: every service (of NS).
ENDPOINTS lists the routable endpoints' address:port (three, then how many more). AGE is <unknown>: the API
carries content versions, not timestamps.

${selectionHelp('get')}

${CONNECTION_HELP}

${EXIT_HELP}`,
  watch: `Usage: endpointd watch [-n NS] [SERVICE | NS/SERVICE] [options]

Prints the current state, then a line for every change (ENDPOINTS <deleted> when a service goes away), like
kubectl get -w. With -o json, one event a line (ADDED, MODIFIED, DELETED, ABSENT, SYNCED). Reconnects by itself
when the connection is lost, resuming from the version it has; Ctrl-C ends it (exit 0). AGE is how long ago this
client saw the change (<unknown> for the state found at the start).

${selectionHelp('watch')}

${CONNECTION_HELP}

${EXIT_HELP}`,
  bootstrap: `Usage: endpointd bootstrap [--node ID] [--zone Z] [--region R] [--sub-zone NODE] [options]

Prints the xDS bootstrap for gRPC clients that this endpointd serves (GET /v1/xds/bootstrap), e.g.
  endpointd bootstrap --node my-app --zone zone-a > bootstrap.json && GRPC_XDS_BOOTSTRAP=bootstrap.json node client.js

      --node ID             node.id of the bootstrap (default: the server's)
      --zone Z              node.locality.zone: the client's zone, for caller-aware assignments (docs/topology.md)
      --region R            node.locality.region (with several clusters: the client's own cluster's region or name)
      --sub-zone NODE       node.locality.sub_zone: the Kubernetes node the client runs on (PreferSameNode)

${CONNECTION_HELP}

${EXIT_HELP}`,
};
