// The wire shapes of the Kubernetes objects endpointd reads (discovery.k8s.io/v1 EndpointSlice, core/v1 Endpoints),
// as the API server sends them in lists and watches and as users write them in manifests, with their validation.
// Validation is the same for every source: a field that is wrong is named with its path and the reason.
import { isIPv4, isIPv6 } from 'node:net';
import { z } from 'zod';
import { namespaceNameProblem, objectNameProblem, portNameProblem } from '../names.ts';
import { acceptEndpointSlice, acceptService } from './fast-accept.ts';

export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';
export const OVER_CAPACITY_ANNOTATION = 'endpoints.kubernetes.io/over-capacity';
/** Topology Aware Routing's switch (`Auto`); the older spelling is still read by the EndpointSlice controller. */
export const TOPOLOGY_MODE_ANNOTATION = 'service.kubernetes.io/topology-mode';
export const TOPOLOGY_AWARE_HINTS_ANNOTATION = 'service.kubernetes.io/topology-aware-hints';

const nameField = z.string().superRefine((value, ctx) => {
  const problem = objectNameProblem(value);
  if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
});

const metadata = z.object({
  name: nameField,
  // Manifests may leave the namespace out, as kubectl does; the API server always sets it.
  namespace: z
    .string()
    .superRefine((value, ctx) => {
      const problem = namespaceNameProblem(value);
      if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
    })
    .default('default'),
  uid: z.string().optional(),
  resourceVersion: z.string().optional(),
  labels: z.record(z.string(), z.string()).nullish(),
  annotations: z.record(z.string(), z.string()).nullish(),
});

const protocol = z.enum(['TCP', 'UDP', 'SCTP']);

const portName = z.string().superRefine((value, ctx) => {
  if (value === '') return;
  const problem = portNameProblem(value);
  if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
});

const port = z.object({
  name: portName.nullish(),
  port: z.number().int().min(1).max(65535),
  protocol: protocol.nullish(),
  appProtocol: z.string().nullish(),
});

const objectReference = z.object({
  kind: z.string().nullish(),
  namespace: z.string().nullish(),
  name: z.string().nullish(),
  uid: z.string().nullish(),
});

const condition = z.boolean().nullish();

const sliceEndpoint = z.object({
  addresses: z.array(z.string()).min(1).max(100),
  conditions: z.object({ ready: condition, serving: condition, terminating: condition }).nullish(),
  hostname: z.string().nullish(),
  nodeName: z.string().nullish(),
  zone: z.string().nullish(),
  targetRef: objectReference.nullish(),
  hints: z
    .object({
      forZones: z.array(z.object({ name: z.string() })).nullish(),
      forNodes: z.array(z.object({ name: z.string() })).nullish(),
    })
    .nullish(),
});

const addressType = z.enum(['IPv4', 'IPv6', 'FQDN']);

export const endpointSliceSchema = z.object({
  apiVersion: z.string().optional(),
  kind: z.string().optional(),
  metadata,
  addressType,
  endpoints: z.array(sliceEndpoint).nullish(),
  ports: z.array(port).nullish(),
});

const endpointAddress = z.object({
  ip: z.string().refine((ip) => isIPv4(ip) || isIPv6(ip), 'must be a valid IP address'),
  hostname: z.string().nullish(),
  nodeName: z.string().nullish(),
  targetRef: objectReference.nullish(),
});

const endpointSubset = z.object({
  addresses: z.array(endpointAddress).nullish(),
  notReadyAddresses: z.array(endpointAddress).nullish(),
  ports: z.array(port).nullish(),
});

export const endpointsSchema = z.object({
  apiVersion: z.string().optional(),
  kind: z.string().optional(),
  metadata,
  subsets: z.array(endpointSubset).nullish(),
});

const servicePort = z.object({
  name: z.string().nullish(),
  port: z.number().int().min(1).max(65535),
  targetPort: z.union([z.number().int(), z.string()]).nullish(),
  protocol: protocol.nullish(),
  appProtocol: z.string().nullish(),
});

export const serviceSchema = z.object({
  apiVersion: z.string().optional(),
  kind: z.string().optional(),
  metadata,
  spec: z
    .object({
      type: z.enum(['ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName']).nullish(),
      clusterIP: z.string().nullish(),
      externalName: z.string().nullish(),
      ports: z.array(servicePort).nullish(),
      trafficDistribution: z.string().nullish(),
    })
    .nullish(),
});

export type EndpointSliceObject = z.infer<typeof endpointSliceSchema>;
export type ServiceObject = z.infer<typeof serviceSchema>;
export type EndpointsObject = z.infer<typeof endpointsSchema>;
export type WirePort = z.infer<typeof port>;
export type WireObjectReference = z.infer<typeof objectReference>;

/** One validation failure, with the path of the field inside the object. */
export interface FieldProblem {
  readonly path: string;
  readonly message: string;
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; problems: FieldProblem[] };

export function parseEndpointSlice(raw: unknown): Parsed<EndpointSliceObject> {
  // A valid slice (nearly all of them) takes the fast path; the schema runs for the others, to name their problems.
  const accepted = acceptEndpointSlice(raw);
  if (accepted !== undefined) return { ok: true, value: accepted };
  return parseEndpointSliceBySchema(raw);
}

/** parseEndpointSlice without the fast path: the schema and the address rule (what the fast path must equal). */
export function parseEndpointSliceBySchema(raw: unknown): Parsed<EndpointSliceObject> {
  const parsed = toParsed(endpointSliceSchema.safeParse(raw));
  // Addresses are checked against the slice's addressType apart from the schema, so that their problems are
  // reported together with every other one instead of only once the rest of the object is valid.
  const addressProblems = sliceAddressProblems(raw);
  if (addressProblems.length === 0) return parsed;
  return { ok: false, problems: [...(parsed.ok ? [] : parsed.problems), ...addressProblems] };
}

function sliceAddressProblems(raw: unknown): FieldProblem[] {
  const type = addressType.safeParse((raw as { addressType?: unknown } | null)?.addressType);
  const endpoints = (raw as { endpoints?: unknown } | null)?.endpoints;
  if (!type.success || !Array.isArray(endpoints)) return [];
  const problems: FieldProblem[] = [];
  endpoints.forEach((endpoint: unknown, i) => {
    const addresses = (endpoint as { addresses?: unknown } | null)?.addresses;
    if (!Array.isArray(addresses)) return;
    addresses.forEach((address: unknown, j) => {
      if (typeof address !== 'string') return;
      const problem = addressProblem(type.data, address);
      if (problem !== undefined) problems.push({ path: `endpoints.${i}.addresses.${j}`, message: problem });
    });
  });
  return problems;
}

export function parseService(raw: unknown): Parsed<ServiceObject> {
  const accepted = acceptService(raw);
  if (accepted !== undefined) return { ok: true, value: accepted };
  return toParsed(serviceSchema.safeParse(raw));
}

export function parseEndpoints(raw: unknown): Parsed<EndpointsObject> {
  return toParsed(endpointsSchema.safeParse(raw));
}

function toParsed<T>(result: z.ZodSafeParseResult<T>): Parsed<T> {
  if (result.success) return { ok: true, value: result.data };
  return {
    ok: false,
    problems: result.error.issues.map((issue) => ({
      path: issue.path.map(String).join('.') || '(object)',
      message: issue.message,
    })),
  };
}

/** Longest value quoted whole in a problem's message: a longer one is cut, so that /readyz and log lines stay small. */
const QUOTED_CHARS = 80;

/** `value` as JSON, for a problem's message; cut (saying its length) when long. */
export function quoted(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length <= QUOTED_CHARS ? text : `${text.slice(0, QUOTED_CHARS)}… (${text.length} characters)`;
}

function addressProblem(type: 'IPv4' | 'IPv6' | 'FQDN', address: string): string | undefined {
  switch (type) {
    case 'IPv4':
      return isIPv4(address) ? undefined : `${quoted(address)} is not an IPv4 address`;
    case 'IPv6':
      return isIPv6(address) && !address.includes('%')
        ? undefined
        : `${quoted(address)} is not an IPv6 address`;
    case 'FQDN': {
      const problem = objectNameProblem(address);
      return problem === undefined ? undefined : `${quoted(address)} is not a DNS name: ${problem}`;
    }
  }
}

/** The Service an EndpointSlice belongs to, from its `kubernetes.io/service-name` label. */
export function sliceServiceName(slice: Pick<EndpointSliceObject, 'metadata'>): string | undefined {
  const name = slice.metadata.labels?.[SERVICE_NAME_LABEL];
  return name === undefined || name === '' ? undefined : name;
}
