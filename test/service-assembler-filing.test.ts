// What the sources keep of an object (service-assembler.ts, FiledObject) serves exactly what the object as it came
// would: over random sequences of slices and Service objects put, replaced and removed, the assembled Service equals
// the wire slices merged and the Service's spec converted. And each endpoint is held once: the filed slice keeps no
// wire endpoints, and what is served is the filed slice's converted endpoints themselves, not copies made again on
// every change.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { convertService, mergeEndpointSlices } from '../src/kube/convert.ts';
import { parseService, type EndpointSliceObject, type ServiceObject } from '../src/kube/objects.ts';
import { filed, ServiceAssembler } from '../src/sources/service-assembler.ts';
import { slices, web } from './support/slice-arbitraries.ts';

const ORIGIN = 'kubernetes';

function serviceObject(port: number, trafficDistribution: string | undefined): ServiceObject {
  const parsed = parseService({
    metadata: { name: 'web', namespace: 'shop', labels: { tier: 'front' } },
    spec: { ports: [{ name: 'http', port, targetPort: 8080 }], trafficDistribution },
  });
  if (!parsed.ok) throw new Error(`generated Service invalid: ${JSON.stringify(parsed.problems)}`);
  return parsed.value;
}

/** One step: a slice (of a pool of versions) put or removed, or the Service object put or removed. */
type Step =
  | { readonly put: EndpointSliceObject }
  | { readonly removeSlice: string }
  | { readonly service: ServiceObject | undefined };

const steps = slices.chain((pool) =>
  fc.array(
    fc.oneof(
      fc.constantFrom(...pool).map((put): Step => ({ put })),
      fc.constantFrom(...pool.map((s) => s.metadata.name)).map((removeSlice): Step => ({ removeSlice })),
      fc
        .record({
          port: fc.constantFrom(80, 81),
          td: fc.constantFrom(undefined, 'PreferSameZone'),
          gone: fc.boolean(),
        })
        .map(({ port, td, gone }): Step => ({ service: gone ? undefined : serviceObject(port, td) })),
    ),
    { minLength: 1, maxLength: 12 },
  ),
);

describe('filed objects', () => {
  // Mutation: in assemble(), describe the Service by a slice's metadata before the Service object's.
  it('serve what the objects as they came serve, after any sequence of puts and removals', () => {
    fc.assert(
      fc.property(steps, (sequence) => {
        const assembler = new ServiceAssembler();
        // The wire objects currently held, as a source without filing would hold them.
        const wire = new Map<string, EndpointSliceObject>();
        let service: ServiceObject | undefined;
        for (const step of sequence) {
          if ('put' in step) {
            wire.set(step.put.metadata.name, step.put);
            assembler.put(ORIGIN, { kind: 'EndpointSlice', object: step.put });
          } else if ('removeSlice' in step) {
            const gone = wire.get(step.removeSlice);
            wire.delete(step.removeSlice);
            if (gone !== undefined) assembler.remove(ORIGIN, { kind: 'EndpointSlice', object: gone });
          } else if (step.service !== undefined) {
            service = step.service;
            assembler.put(ORIGIN, { kind: 'Service', object: step.service });
          } else if (service !== undefined) {
            assembler.remove(ORIGIN, { kind: 'Service', object: service });
            service = undefined;
          }
          const { service: assembled, metadata } = assembler.assemble(web);
          const info = service === undefined ? {} : { service: convertService(service) };
          if (wire.size > 0) {
            assert.deepEqual(assembled, { ...mergeEndpointSlices(web, [...wire.values()]), ...info });
          } else if (service !== undefined) {
            assert.deepEqual(assembled, { ...web, ports: [], endpoints: [], ...info });
          } else {
            assert.equal(assembled, undefined);
          }
          // The policy's labels: the Service's, else a slice's.
          if (service !== undefined) assert.deepEqual(metadata?.labels, { tier: 'front' });
        }
      }),
      { numRuns: 300 },
    );
  });

  // Mutation: in filed(), keep `endpoints` in the slice's object; or in assemble(), convert the slices again.
  it('hold each endpoint once: no wire endpoints kept, the served ones are the filed ones', () => {
    fc.assert(
      fc.property(slices, (list) => {
        const assembler = new ServiceAssembler();
        const filedSlices = list.map((object) => filed({ kind: 'EndpointSlice', object }));
        for (const entry of filedSlices) {
          assert.ok(entry.kind === 'EndpointSlice');
          assert.deepEqual(Object.keys(entry.object), ['metadata'], 'a filed slice keeps only its metadata');
          assert.equal(filed(entry), entry, 'filing is done once');
          assembler.put(ORIGIN, entry);
        }
        const kept = new Set(
          filedSlices.flatMap((e) => (e.kind === 'EndpointSlice' ? e.converted.endpoints : [])),
        );
        const first = assembler.assemble(web).service?.endpoints ?? [];
        const again = assembler.assemble(web).service?.endpoints ?? [];
        assert.equal(first.length, again.length);
        first.forEach((endpoint, i) => {
          assert.ok(kept.has(endpoint), 'a served endpoint is a filed one');
          assert.equal(again[i], endpoint, 'assembling again makes no new copy');
        });
      }),
      { numRuns: 200 },
    );
  });
});
