// What memory-bound tests need: the bytes still reachable after a full GC, and a large service whose content
// changes with a counter (each change a new version whose encoding weighs tens of kilobytes).
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { ServiceEndpoints } from '../../src/model.ts';
import { readyEndpoint } from './services.ts';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** Heap plus ArrayBuffers (Buffers live there) still in use after two full collections. */
export function retainedBytes(): number {
  gc();
  gc();
  const usage = process.memoryUsage();
  return usage.heapUsed + usage.arrayBuffers;
}

/** Service shop/big with 200 ready endpoints (~60 KB of JSON, ~25 KB of protobuf), different for each `generation`. */
export function bigService(generation: number): ServiceEndpoints {
  const endpoints = Array.from({ length: 200 }, (_, i) =>
    readyEndpoint(`10.${Math.floor(i / 250)}.${i % 250}.${generation % 250}`, {
      nodeName: `node-${i}-with-a-long-name-${generation}`,
      zone: 'europe-west1-b',
      targetRef: { kind: 'Pod', namespace: 'shop', name: `big-${generation}-${i}` },
    }),
  ).sort((a, b) => ((a.addresses[0] ?? '') < (b.addresses[0] ?? '') ? -1 : 1));
  return {
    namespace: 'shop',
    name: 'big',
    ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
    endpoints,
  };
}
