// GET /v1/xds/bootstrap[?id=ID][&zone=Z][&node=N][&region=R]: a gRPC xDS bootstrap that a client can use as is
// (GRPC_XDS_BOOTSTRAP or GRPC_XDS_BOOTSTRAP_CONFIG), pointing at this endpointd as the caller reaches it, with the
// caller's locality filled in (zone; sub_zone = its Kubernetes node; region), so that its assignments are the ones
// Kubernetes' topology rules pick for it. An express Router the REST app mounts; it reads nothing from the store.
import express, { type Request, type RequestHandler, type Router } from 'express';
import { isIP } from 'node:net';
import { clip, ProblemList } from '../../limits/bounded-text.ts';
import { callerPlaceProblem } from '../../names.ts';
import { badRequest, sendProblem, type InvalidParam } from '../rest/problem.ts';

export interface XdsBootstrapOptions {
  /** The port the ADS service listens on; a function when it is only known once the gRPC server is bound. */
  readonly grpcPort: number | (() => number);
  /** node.id when the caller gives none (default `endpointd-client`). */
  readonly defaultNodeId?: string;
  /** The gRPC port serves TLS: the bootstrap then asks for `tls` channel credentials. */
  readonly tls?: boolean;
}

/** The bootstrap's JSON (gRPC's xDS bootstrap format; only what grpc-js-xds and grpc-go/java need). */
export interface XdsBootstrap {
  readonly xds_servers: ReadonlyArray<{
    readonly server_uri: string;
    /**
     * `insecure`, or `tls` (gRFC A65; an empty config means the system's roots — a client whose CA is private adds
     * its `ca_certificate_file`). grpc-js-xds 1.14 understands only `insecure` and `google_default`.
     */
    readonly channel_creds: ReadonlyArray<
      { readonly type: 'insecure' } | { readonly type: 'tls'; readonly config: Record<string, string> }
    >;
    readonly server_features: readonly string[];
  }>;
  readonly node: { readonly id: string; readonly locality: BootstrapLocality };
}

/** `node.locality` as gRPC's bootstrap spells it; fields left out when not said (grpc-js needs the object). */
export interface BootstrapLocality {
  readonly zone?: string;
  /** The Kubernetes node the client runs on. */
  readonly sub_zone?: string;
  readonly region?: string;
}

/** The query parameters of the route, and what each fills in. */
const PARAMETERS = ['id', 'zone', 'node', 'region'] as const;

/** node.id: printable ASCII, no more than 256 characters (it shows up in our logs). */
const NODE_ID = /^[\x21-\x7e]{1,256}$/;
/** A Host header's host part we are willing to echo into a URI: a DNS name or an IP literal. */
const HOSTNAME = /^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$/;

export function buildBootstrap(
  host: string,
  port: number,
  nodeId: string,
  tls = false,
  locality: BootstrapLocality = {},
): XdsBootstrap {
  return {
    xds_servers: [
      {
        server_uri: `${isIP(host) === 6 ? `[${host}]` : host}:${port}`,
        channel_creds: [tls ? { type: 'tls', config: {} } : { type: 'insecure' }],
        // ignore_resource_deletion: a Listener or Cluster briefly missing (a Service recreated, a replica that has
        // not synced) must not fail calls at once; empty assignments still say "no endpoints".
        server_features: ['xds_v3', 'ignore_resource_deletion'],
      },
    ],
    // grpc-js refuses a bootstrap whose node has no locality: `{}` when the caller says nothing.
    node: { id: nodeId, locality },
  };
}

/** Where the bootstrap is served. */
export const XDS_BOOTSTRAP_PATH = '/v1/xds/bootstrap';

/** The bootstrap route on a Router of its own (case-sensitive and strict, as the REST door routes). */
export function createXdsBootstrapRouter(options: XdsBootstrapOptions): Router {
  const router = express.Router({ caseSensitive: true, strict: true });
  router.get(XDS_BOOTSTRAP_PATH, xdsBootstrapHandler(options));
  return router;
}

/** The handler of GET XDS_BOOTSTRAP_PATH. */
export function xdsBootstrapHandler(options: XdsBootstrapOptions): RequestHandler {
  return (req, res) => {
    const problems = new ProblemList<InvalidParam>();
    for (const name of Object.keys(req.query)) {
      if (!(PARAMETERS as readonly string[]).includes(name)) {
        problems.push({
          name: clip(name),
          reason: `unknown parameter; this route takes ${PARAMETERS.join(', ')}`,
        });
      }
    }
    const text = (name: (typeof PARAMETERS)[number]): string | undefined => {
      const value = req.query[name];
      if (value === undefined) return undefined;
      if (typeof value === 'string') return value;
      problems.push({ name, reason: 'must be given once, as a plain value' });
      return undefined;
    };
    const id = text('id');
    if (id !== undefined && !NODE_ID.test(id)) {
      problems.push({ name: 'id', reason: 'must be 1 to 256 printable ASCII characters, no spaces' });
    }
    const place = (name: 'zone' | 'node' | 'region'): string | undefined => {
      const value = text(name);
      if (value === undefined || value === '') return undefined;
      const problem = callerPlaceProblem(name, value);
      if (problem === undefined) return value;
      problems.push({
        name,
        reason: `${JSON.stringify(clip(value))} is not a valid ${name} name: it ${problem}`,
      });
      return undefined;
    };
    const zone = place('zone');
    const node = place('node');
    const region = place('region');
    if (problems.length > 0) {
      sendProblem(res, badRequest(problems.items, problems.omitted));
      return;
    }
    const port = typeof options.grpcPort === 'function' ? options.grpcPort() : options.grpcPort;
    const body = buildBootstrap(
      callerHost(req),
      port,
      id ?? options.defaultNodeId ?? 'endpointd-client',
      options.tls === true,
      {
        ...(zone === undefined ? {} : { zone }),
        ...(node === undefined ? {} : { sub_zone: node }),
        ...(region === undefined ? {} : { region }),
      },
    );
    res.setHeader('Cache-Control', 'no-store');
    res.type('application/json').send(`${JSON.stringify(body, null, 2)}\n`);
  };
}

/**
 * The host the caller used to reach us (its Host header), which is the one that works from where it stands;
 * else the local address of the connection.
 */
export function callerHost(req: Request): string {
  const header = req.get('host');
  if (header !== undefined) {
    const bracketed = /^\[([0-9A-Fa-f:.]+)\](?::\d+)?$/.exec(header);
    if (bracketed?.[1] !== undefined && isIP(bracketed[1]) === 6) return bracketed[1];
    const host = header.replace(/:\d+$/, '');
    if (HOSTNAME.test(host)) return host;
  }
  const local = req.socket.localAddress ?? '127.0.0.1';
  // An IPv4 client on a dual-stack socket: the address it dialed is the IPv4 one.
  return local.startsWith('::ffff:') ? local.slice('::ffff:'.length) : local;
}
