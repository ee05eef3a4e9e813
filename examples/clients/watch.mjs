// A minimal endpointd gRPC client: resolve a Service once, then follow it.
// Run from the repository (it needs @grpc/grpc-js and @grpc/proto-loader):
//   node examples/clients/watch.mjs [host:port] [namespace] [name] [port]
import { credentials, loadPackageDefinition } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';

const [address = 'localhost:9090', namespace = 'demo', name = 'web', port = 'http'] = process.argv.slice(2);
const definition = loadSync(new URL('../../proto/endpointd/v1/discovery.proto', import.meta.url).pathname, {
  defaults: true,
  oneofs: true,
});
const { endpointd } = loadPackageDefinition(definition);
const client = new endpointd.v1.Discovery(address, credentials.createInsecure());
const portSelector = /^\d+$/.test(port) ? { number: Number(port) } : { name: port };

client.Resolve({ namespace, name, port: portSelector }, (error, answer) => {
  if (error) {
    console.error(`Resolve: ${error.code} ${error.details}`);
    process.exit(1);
  }
  const targets = answer.service.targets.map((t) => `${t.address}:${t.port}`);
  console.log(`resolved ${namespace}/${name} at version ${answer.service.version}: ${targets.join(' ')}`);

  // Watch from the version we hold: nothing is resent until it changes.
  const stream = client.Watch({
    services: [{ namespace, name }],
    port: portSelector,
    known: [{ namespace, name, version: answer.service.version }],
  });
  stream.on('data', (message) => {
    const state = message.added ?? message.modified;
    if (state) {
      const now = state.targets.map((t) => `${t.address}:${t.port}`);
      console.log(`${message.event} ${state.version}: ${now.join(' ')}`);
    } else {
      console.log(message.event);
    }
  });
  stream.on('error', (e) => console.error(`Watch ended: ${e.code} ${e.details}`));
});
