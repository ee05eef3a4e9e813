// How a front door presents a Service (src/views/service-view.ts): the routable or every endpoint, the dial targets of the
// port asked for, the key of the cached encoded form, and the one-line summary lists show.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { summaryBody, viewEndpoints, viewForm } from '../src/views/service-view.ts';
import { withVersion, type Endpoint, type ServiceSnapshot } from '../src/model.ts';

function endpoint(address: string, extra: Partial<Endpoint> = {}): Endpoint {
  return {
    addresses: [address],
    addressType: 'IPv4',
    ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
    ready: true,
    serving: true,
    terminating: false,
    ...extra,
  };
}

const ready = endpoint('10.0.0.1');
const notReady = endpoint('10.0.0.2', { ready: false, serving: false });
const draining = endpoint('10.0.0.3', { ready: false, serving: true, terminating: true });
const snapshot: ServiceSnapshot = withVersion({
  namespace: 'shop',
  name: 'web',
  ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
  endpoints: [ready, notReady, draining],
});

describe('views of a Service', () => {
  it('show the routable endpoints by default and every endpoint when asked, with targets only for a port', () => {
    const routable = viewEndpoints(snapshot, { allEndpoints: false, port: undefined });
    assert.deepEqual(routable.endpoints, [ready]);
    assert.equal(routable.targets, undefined);
    const all = viewEndpoints(snapshot, { allEndpoints: true, port: { name: 'http' } });
    assert.deepEqual(all.endpoints, [ready, notReady, draining]);
    assert.deepEqual(
      all.targets?.map((t) => t.address),
      ['10.0.0.1', '10.0.0.2', '10.0.0.3'],
    );
    const byNumber = viewEndpoints(snapshot, { allEndpoints: false, port: { number: 8080 } });
    assert.deepEqual(byNumber.targets, [{ address: '10.0.0.1', port: 8080 }]);
    assert.deepEqual(viewEndpoints(snapshot, { allEndpoints: false, port: { number: 1 } }).targets, []);
  });

  it('name each distinct view with a distinct cache key', () => {
    const forms = [
      viewForm({ allEndpoints: false, port: undefined }),
      viewForm({ allEndpoints: true, port: undefined }),
      viewForm({ allEndpoints: false, port: { name: 'http' } }),
      viewForm({ allEndpoints: false, port: { number: 8080 } }),
      viewForm({ allEndpoints: true, port: { name: '8080' } }),
      viewForm({ allEndpoints: true, port: { number: 8080 } }),
    ];
    assert.deepEqual(forms, [
      'routable:',
      'all:',
      'routable:name=http',
      'routable:number=8080',
      'all:name=8080',
      'all:number=8080',
    ]);
  });

  it('summarise a Service as its key, version, endpoint count and ready count', () => {
    assert.deepEqual(summaryBody(snapshot), {
      namespace: 'shop',
      name: 'web',
      version: snapshot.version,
      endpoints: 3,
      ready: 1,
    });
  });
});
