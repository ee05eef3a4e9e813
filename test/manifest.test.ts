import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseManifest } from '../src/sources/file/manifest.ts';

const sliceYaml = (name: string, service: string, ip: string): string => `
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: ${name}
  namespace: shop
  labels:
    kubernetes.io/service-name: ${service}
addressType: IPv4
ports: [{ name: http, port: 8080 }]
endpoints:
  - addresses: ["${ip}"]
`;

describe('parseManifest', () => {
  it('reads every document of a multi-document YAML file', () => {
    const { objects, problems } = parseManifest(
      `${sliceYaml('web-a', 'web', '10.0.0.1')}---${sliceYaml('web-b', 'web', '10.0.0.2')}---\n`,
    );
    assert.deepEqual(problems, []);
    assert.deepEqual(
      objects.map((o) => `${o.kind}:${o.object.metadata.name}`),
      ['EndpointSlice:web-a', 'EndpointSlice:web-b'],
    );
  });

  it('reads List, EndpointsList and EndpointSliceList forms, and JSON', () => {
    const json = JSON.stringify({
      apiVersion: 'v1',
      kind: 'List',
      items: [
        { apiVersion: 'v1', kind: 'Endpoints', metadata: { name: 'db' }, subsets: [] },
        {
          apiVersion: 'discovery.k8s.io/v1',
          kind: 'EndpointSliceList',
          items: [
            {
              kind: 'EndpointSlice',
              metadata: { name: 'web-a', labels: { 'kubernetes.io/service-name': 'web' } },
              addressType: 'IPv4',
              endpoints: null,
            },
          ],
        },
      ],
    });
    const { objects, problems } = parseManifest(json);
    assert.deepEqual(problems, []);
    assert.deepEqual(
      objects.map((o) => `${o.kind}:${o.object.metadata.namespace}/${o.object.metadata.name}`),
      ['Endpoints:default/db', 'EndpointSlice:default/web-a'],
    );
  });

  it('reports invalid YAML with the document it is in', () => {
    const { problems } = parseManifest(`${sliceYaml('web-a', 'web', '10.0.0.1')}---\nkind: [unclosed\n`);
    assert.equal(problems.length > 0, true);
    assert.equal(problems[0]?.document, 2);
    assert.match(problems[0]?.message ?? '', /invalid YAML/);
  });

  it('reads Service objects, skips other kinds with their position, and reports a wrong apiVersion', () => {
    const { objects, problems, skipped } = parseManifest(
      'apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec: {type: ExternalName, externalName: a.example.com}\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\n---\napiVersion: v1beta1\nkind: EndpointSlice\nmetadata: {name: x}\naddressType: IPv4\n',
    );
    assert.deepEqual(
      objects.map((o) => `${o.kind}:${o.object.metadata.name}`),
      ['Service:web'],
    );
    assert.deepEqual(skipped, [{ document: 2, path: '(document)', kind: 'Deployment' }]);
    assert.deepEqual(
      problems.map((p) => [p.document, p.path]),
      [[3, 'apiVersion']],
    );
  });

  it('reads a typed list whose items leave their kind out, as the API server lists them', () => {
    const { objects, problems } = parseManifest(
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'ServiceList',
        items: [{ metadata: { name: 'a', namespace: 'x' }, spec: { clusterIP: 'None' } }],
      }),
      'json',
    );
    assert.deepEqual(problems, []);
    assert.deepEqual(
      objects.map((o) => `${o.kind}:${o.object.metadata.namespace}/${o.object.metadata.name}`),
      ['Service:x/a'],
    );
  });

  it('gives YAML syntax errors a line, a column and the document they are in', () => {
    const { problems } = parseManifest(
      `${sliceYaml('web-a', 'web', '10.0.0.1')}---\nkind: EndpointSlice\nmetadata:\n  name: x: y\n`,
    );
    assert.equal(problems.length, 1);
    const [problem] = problems;
    assert.equal(problem?.document, 2);
    const line = sliceYaml('web-a', 'web', '10.0.0.1').split('\n').length + 3;
    assert.equal(problem?.line, line);
    assert.equal(problem?.column, 10);
    assert.match(
      problem?.message ?? '',
      new RegExp(`^invalid YAML at line ${line}, column 10: bad indentation`),
    );
  });

  it('parses JSON as JSON, and a broken JSON file still says where it breaks', () => {
    assert.deepEqual(parseManifest('{"kind": "Endpoints", "metadata": {"name": "db"}}', 'json').problems, []);
    const { problems } = parseManifest('{\n  "kind": "Endpoints",\n  "metadata": {"name": "db"\n}\n', 'json');
    assert.equal(problems.length, 1);
    assert.equal(typeof problems[0]?.line, 'number');
    assert.match(problems[0]?.message ?? '', /invalid YAML at line \d+, column \d+/);
  });

  it('refuses duplicate keys, which would silently drop one value', () => {
    const { problems } = parseManifest('kind: Endpoints\nmetadata: {name: db}\nkind: Endpoints\n');
    assert.match(problems[0]?.message ?? '', /duplicated mapping key/);
  });

  it('reports missing fields, bad IPs and bad ports with their paths', () => {
    const { problems } = parseManifest(`
kind: EndpointSlice
metadata:
  labels: { kubernetes.io/service-name: web }
addressType: IPv4
ports: [{ name: http, port: 0 }]
endpoints:
  - addresses: ["10.0.0.256"]
`);
    assert.deepEqual(problems.map((p) => p.path).sort(), [
      'endpoints.0.addresses.0',
      'metadata.name',
      'ports.0.port',
    ]);
    assert.ok(problems.every((p) => p.document === 1));
  });

  it('reports a slice that does not say which Service it belongs to', () => {
    const { problems } = parseManifest('kind: EndpointSlice\nmetadata: {name: x}\naddressType: IPv4\n');
    assert.deepEqual(
      problems.map((p) => p.path),
      ['metadata.labels'],
    );
  });

  it('names the item of a List that is wrong', () => {
    const { problems } = parseManifest(
      'kind: List\nitems:\n  - kind: Endpoints\n    metadata: {name: ok}\n  - kind: Endpoints\n    metadata: {name: db}\n    subsets: [{addresses: [{ip: nope}]}]\n',
    );
    assert.deepEqual(
      problems.map((p) => p.path),
      ['items.1.subsets.0.addresses.0.ip'],
    );
  });

  it('skips empty documents and refuses a document that is not a mapping', () => {
    assert.deepEqual(parseManifest('---\n---\n'), { objects: [], problems: [], skipped: [] });
    const { problems } = parseManifest('- a\n- b\n');
    assert.deepEqual(
      problems.map((p) => p.path),
      ['(object)'],
    );
  });

  it('refuses a YAML alias bomb instead of expanding it', () => {
    const bomb = ['a: &a ["x","x","x","x","x","x","x","x","x","x"]'];
    for (let i = 1; i < 8; i += 1) {
      bomb.push(
        `${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(10)
          .fill(`*${String.fromCharCode(96 + i)}`)
          .join(',')}]`,
      );
    }
    const { problems } = parseManifest(bomb.join('\n'));
    assert.equal(problems.length, 1);
    assert.match(problems[0]?.message ?? '', /invalid YAML/);
  });

  it('reads a large file in chunks of whole documents, numbering documents and lines as in the whole file', () => {
    const documents = Array.from({ length: 1500 }, (_, i) =>
      sliceYaml(`web-${i}`, `web-${i}`, `10.${Math.floor(i / 250)}.${i % 250}.1`),
    );
    const text = documents.join('---');
    assert.ok(text.length > 256 * 1024, `${text.length} bytes: more than one chunk`);
    const { objects, problems } = parseManifest(text);
    assert.deepEqual(problems, []);
    assert.equal(objects.length, 1500);
    const broken = [...documents.slice(0, 1499), '\nkind: EndpointSlice\nmetadata:\n  name: x: y\n'].join(
      '---',
    );
    const [problem] = parseManifest(broken).problems;
    assert.equal(problem?.document, 1500);
    const line = broken.slice(0, broken.lastIndexOf('name: x: y')).split('\n').length;
    assert.equal(problem?.line, line);
    assert.match(problem?.message ?? '', new RegExp(`^invalid YAML at line ${line}, column 10`));
  });
});
