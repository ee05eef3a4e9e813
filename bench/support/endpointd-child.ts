// Child-process entry of startEndpointdProcess(): runs endpointd with the options the parent sends, tells it the
// REST port once the sources are synced, and stops when asked or when the parent goes away.
import { announceFailure, announceReady, receivePayload } from './child-server.ts';
import { startEndpointdInProcess, type EndpointdOptions } from './endpointd.ts';

try {
  const options = (await receivePayload()) as EndpointdOptions;
  const endpointd = await startEndpointdInProcess(options);
  announceReady(endpointd.httpAddress.port, () => endpointd.stop());
} catch (error) {
  announceFailure(error);
}
