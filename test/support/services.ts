// Builders of ServiceEndpoints for tests of the store and the front doors: canonical content, as converters make it.
import type { Endpoint, ServiceEndpoints } from '../../src/model.ts';

/** A ready IPv4 endpoint on port `http`:8080. */
export function readyEndpoint(ip: string, overrides: Partial<Endpoint> = {}): Endpoint {
  return {
    addresses: [ip],
    addressType: 'IPv4',
    ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
    ready: true,
    serving: true,
    terminating: false,
    ...overrides,
  };
}

/** A service whose endpoints are the given IPs, all ready. */
export function service(namespace: string, name: string, ips: readonly string[]): ServiceEndpoints {
  return {
    namespace,
    name,
    ports: ips.length === 0 ? [] : [{ name: 'http', port: 8080, protocol: 'TCP' }],
    endpoints: [...ips].sort().map((ip) => readyEndpoint(ip)),
  };
}
