// fast-check arbitraries of one Service's EndpointSlices, drawn from small pools so that one address often sits in
// several slices with the same conditions but other fields that differ: where the order of merging, or what is
// kept of a slice, could leak into the result.
import fc from 'fast-check';
import { parseEndpointSlice, type EndpointSliceObject } from '../../src/kube/objects.ts';

export const web = { namespace: 'shop', name: 'web' };

// Small pools, so that duplicates are common.
const address = fc.constantFrom('10.0.0.1', '10.0.0.2', '10.0.0.3');
const conditions = fc.constantFrom(
  { ready: true, serving: true, terminating: false },
  { ready: false, serving: true, terminating: true },
  { ready: false, serving: false, terminating: false },
  undefined,
);
const endpoint = fc.record(
  {
    addresses: address.map((a) => [a]),
    conditions,
    nodeName: fc.constantFrom('node-1', 'node-2'),
    zone: fc.constantFrom('zone-a', 'zone-b'),
    hostname: fc.constantFrom('a', 'b'),
    targetRef: fc.constantFrom('pod-1', 'pod-2').map((name) => ({ kind: 'Pod', namespace: 'shop', name })),
    hints: fc.constantFrom(
      { forZones: [{ name: 'zone-a' }] },
      { forZones: [{ name: 'zone-b' }], forNodes: [{ name: 'node-1' }] },
    ),
  },
  { requiredKeys: ['addresses'] },
);
const portSet = fc.constantFrom(
  [{ name: 'http', port: 8080, protocol: 'TCP' }],
  [
    { name: 'http', port: 8080, protocol: 'TCP' },
    { name: 'metrics', port: 9090, protocol: 'TCP' },
  ],
);

/** 1–5 validated slices of shop/web, named web-0…, each with its port set and 0–6 endpoints. */
export const slices = fc
  .array(fc.record({ ports: portSet, endpoints: fc.array(endpoint, { maxLength: 6 }) }), {
    minLength: 1,
    maxLength: 5,
  })
  .map((drawn) =>
    drawn.map(({ ports, endpoints }, i): EndpointSliceObject => {
      const parsed = parseEndpointSlice({
        metadata: {
          name: `web-${i}`,
          namespace: 'shop',
          labels: { 'kubernetes.io/service-name': 'web' },
        },
        addressType: 'IPv4',
        endpoints,
        ports,
      });
      if (!parsed.ok) throw new Error(`generated slice invalid: ${JSON.stringify(parsed.problems)}`);
      return parsed.value;
    }),
  );
