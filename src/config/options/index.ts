// Every option of the server, in the sections --help and docs/configuration.md show them in.
import type { OptionTree } from '../option.ts';
import { EXPOSURE_OPTIONS } from './exposure.ts';
import { GRPC_OPTIONS } from './grpc.ts';
import { LIMIT_OPTIONS } from './limits.ts';
import { SECURITY_OPTIONS } from './security.ts';
import { SERVER_OPTIONS } from './server.ts';
import { CLUSTER_OPTIONS, KUBERNETES_OPTIONS, SOURCE_OPTIONS } from './sources.ts';
import { XDS_OPTIONS } from './xds.ts';

export {
  CLUSTER_OPTIONS,
  EXPOSURE_OPTIONS,
  GRPC_OPTIONS,
  KUBERNETES_OPTIONS,
  LIMIT_OPTIONS,
  SECURITY_OPTIONS,
  SERVER_OPTIONS,
  SOURCE_OPTIONS,
  XDS_OPTIONS,
};

export interface OptionSection {
  readonly title: string;
  readonly options: OptionTree;
}

export const OPTION_SECTIONS: readonly OptionSection[] = [
  { title: 'Sources', options: SOURCE_OPTIONS },
  { title: 'The Kubernetes source', options: KUBERNETES_OPTIONS },
  { title: 'Several clusters', options: CLUSTER_OPTIONS },
  { title: 'Which Services clients see', options: EXPOSURE_OPTIONS },
  { title: 'Ports, logs and shutdown', options: SERVER_OPTIONS },
  { title: 'gRPC', options: GRPC_OPTIONS },
  { title: 'xDS', options: XDS_OPTIONS },
  { title: 'TLS and authentication', options: SECURITY_OPTIONS },
  { title: 'Limits', options: LIMIT_OPTIONS },
];
