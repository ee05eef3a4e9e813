// Which endpoints of a Service a caller gets, the one rule every door follows: the routable set (kube-proxy's
// choice), an endpoint's port by Service port name or target port number, and the `address:port` dial targets of
// one port. Pure functions of the endpoints; REST, gRPC and xDS all answer from these.
import type { DialTarget, Endpoint, EndpointPort, PortSelector, Protocol } from '../model.ts';

/**
 * The endpoints a client should send traffic to, following kube-proxy: the ready ones; if none is ready, the
 * serving-and-terminating ones. FQDN endpoints never route (kube-proxy ignores that deprecated address type).
 */
export function routableEndpoints<
  E extends Pick<Endpoint, 'addressType' | 'ready' | 'serving' | 'terminating'>,
>(endpoints: readonly E[]): readonly E[] {
  const ip = endpoints.filter((e) => e.addressType !== 'FQDN');
  const ready = ip.filter((e) => e.ready);
  if (ready.length > 0) return ready;
  return ip.filter((e) => e.serving && e.terminating);
}

/**
 * The endpoint's port matching the selector: by Service port name, or by target port number; of `protocol` only
 * when one is given (xDS carries TCP only: a UDP port of the same number is another port).
 */
export function findPort(
  endpoint: Endpoint,
  selector: PortSelector,
  protocol?: Protocol,
): EndpointPort | undefined {
  return endpoint.ports.find((p) => portMatches(p, selector, protocol));
}

/** Whether `port` is the one the selector (and `protocol`, when given) means. */
export function portMatches(port: EndpointPort, selector: PortSelector, protocol?: Protocol): boolean {
  if (protocol !== undefined && port.protocol !== protocol) return false;
  return 'name' in selector ? port.name === selector.name : port.port === selector.number;
}

/** The endpoints that have the selected port (of `protocol` when given) and an address to dial. */
export function endpointsWithPort(
  endpoints: readonly Endpoint[],
  selector: PortSelector,
  protocol?: Protocol,
): Endpoint[] {
  return endpoints.filter((e) => e.addresses.length > 0 && findPort(e, selector, protocol) !== undefined);
}

/**
 * The routable endpoints of one port. kube-proxy decides per Service port: when the ready endpoints lack the
 * port, the serving-and-terminating ones that have it still carry its traffic.
 */
export function routableOnPort(
  endpoints: readonly Endpoint[],
  selector: PortSelector,
  protocol?: Protocol,
): readonly Endpoint[] {
  return routableEndpoints(endpointsWithPort(endpoints, selector, protocol));
}

/** Ready-to-dial `address:port` pairs (the first address) of the given endpoints for one port; each pair once. */
export function dialTargets(
  endpoints: readonly Endpoint[],
  selector: PortSelector,
  protocol?: Protocol,
): DialTarget[] {
  const seen = new Set<string>();
  const targets: DialTarget[] = [];
  for (const endpoint of endpoints) {
    const port = findPort(endpoint, selector, protocol);
    const address = endpoint.addresses[0];
    if (port === undefined || address === undefined) continue;
    const id = `${address}|${port.port}`;
    if (seen.has(id)) continue;
    seen.add(id);
    targets.push({ address, port: port.port });
  }
  return targets;
}

/** The endpoints of one port by what a load balancer does with them. */
export interface PortBackends {
  /** Send traffic here: {@link routableOnPort}. */
  readonly routable: readonly Endpoint[];
  /** Serving and terminating, but not routable (others are ready): let their connections drain. */
  readonly draining: readonly Endpoint[];
}

export function portBackends(
  endpoints: readonly Endpoint[],
  selector: PortSelector,
  protocol?: Protocol,
): PortBackends {
  const withPort = endpointsWithPort(endpoints, selector, protocol);
  const routable = routableEndpoints(withPort);
  const routableSet = new Set(routable);
  const draining = withPort.filter(
    (e) => e.addressType !== 'FQDN' && e.serving && e.terminating && !routableSet.has(e),
  );
  return { routable, draining };
}
