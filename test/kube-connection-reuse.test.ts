// The Kubernetes client keeps its connections to an HTTPS API server (src/kube/dispatcher-reuse.ts): requests one
// after the other share a connection or two, whatever their number; a rotated bearer token changes the header, not
// the connection; changed TLS material (a new client certificate) opens a new connection and closes the old one;
// and the Kubernetes source, through lists, watches and relists, opens a handful of connections, not one per request.
// Shown with the real client-node KubeConfig and undici against the fake API server over TLS.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { KubeConfig } from '@kubernetes/client-node';
import { KubeClient } from '../src/kube/kube-client.ts';
import { createLogger } from '../src/observability/logger.ts';
import { KubernetesSource } from '../src/sources/kubernetes/index.ts';
import { EndpointStore } from '../src/store/endpoint-store.ts';
import { endpointSlice, FakeApiServer, service } from './support/fake-apiserver/index.ts';
import { eventually } from './support/http.ts';
import { generateTls } from './support/fake-apiserver/tls.ts';

const SLICES = '/apis/discovery.k8s.io/v1/endpointslices';

const apis: FakeApiServer[] = [];
after(async () => {
  await Promise.all(apis.map((api) => api.close()));
});

async function tlsApi(tokens?: Record<string, object>): Promise<FakeApiServer> {
  const api = await FakeApiServer.start({ tls: true, ...(tokens === undefined ? {} : { tokens }) });
  apis.push(api);
  return api;
}

describe('Kubernetes client: connections to an HTTPS API server', () => {
  // Two at most, not one: undici's pool may open a second connection for a request sent in the same turn as the
  // previous answer's end, before it has marked the first connection free again.
  it('sends any number of requests made one after the other on one or two TLS connections', async () => {
    const api = await tlsApi();
    for (let i = 0; i < 30; i++) api.create('endpointslices', endpointSlice({ service: `s${i}` }));
    const config = new KubeConfig();
    config.loadFromString(api.kubeconfigYaml());
    const client = new KubeClient(config);
    const signal = new AbortController().signal;
    let token: string | undefined;
    let pages = 0;
    do {
      const page = await client.list(SLICES, { limit: '2', continue: token }, signal);
      token = page.continueToken;
      pages += 1;
    } while (token !== undefined);
    assert.equal(pages, 15);
    assert.ok(api.connectionsAccepted <= 2, `${api.connectionsAccepted} connections for fifteen pages`);
  });

  it('shares the connection between clients of one KubeConfig, and across a rotated bearer token', async () => {
    const api = await tlsApi({ first: {}, second: {} });
    const config = new KubeConfig();
    config.loadFromString(api.kubeconfigYaml('first'));
    const signal = new AbortController().signal;
    for (let i = 0; i < 5; i++) await new KubeClient(config).list(SLICES, {}, signal);
    const user = config.getCurrentUser();
    assert.ok(user !== null);
    // What a token file rewritten by kubelet, or an exec plugin's new token, amounts to: another header.
    (user as { token?: string }).token = 'second';
    for (let i = 0; i < 5; i++) await new KubeClient(config).list(SLICES, {}, signal);
    assert.deepEqual(
      api.requests.map((r) => r.token),
      [...Array<string>(5).fill('first'), ...Array<string>(5).fill('second')],
    );
    assert.ok(api.connectionsAccepted <= 2, `${api.connectionsAccepted} connections`);
  });

  it('opens a new connection when the TLS material changes, and closes the old one', async () => {
    const api = await tlsApi();
    const config = new KubeConfig();
    config.loadFromString(api.kubeconfigYaml());
    const client = new KubeClient(config);
    const signal = new AbortController().signal;
    await client.list(SLICES, {}, signal);
    // A client certificate appears (an exec plugin's, or a rotated file): the fake does not ask for one, so any
    // valid pair is accepted; what matters is that the client's TLS options are different now.
    const pair = await generateTls();
    const user = config.getCurrentUser() as { certData?: string; keyData?: string } | null;
    assert.ok(user !== null);
    user.certData = Buffer.from(pair.certPem).toString('base64');
    user.keyData = Buffer.from(pair.keyPem).toString('base64');
    const before = api.connectionsAccepted;
    await client.list(SLICES, {}, signal);
    assert.equal(api.connectionsAccepted, before + 1, 'the new options get a connection of their own');
    // Closed by the change, not by an idle timeout (undici's and the server's are 4 and 5 s).
    // The old pool closes its idle connections.
    await eventually(() => api.openConnections === 1 || undefined, 2_000);
    for (let i = 0; i < 10; i++) await client.list(SLICES, {}, signal);
    assert.ok(
      api.connectionsAccepted <= before + 2,
      `ten more requests with the new options: ${api.connectionsAccepted - before} connections`,
    );
  });

  it('lists, watches and relists through the Kubernetes source on a handful of connections', async () => {
    const api = await tlsApi();
    for (let i = 0; i < 1_200; i++) {
      api.create('services', service({ name: `s${i}`, namespace: 'shop' }));
      api.create(
        'endpointslices',
        endpointSlice({ service: `s${i}`, namespace: 'shop', endpoints: [{ addresses: '10.0.0.1' }] }),
      );
    }
    const config = new KubeConfig();
    config.loadFromString(api.kubeconfigYaml());
    const store = new EndpointStore({ encodedCacheBytes: 1 << 20 });
    const source = new KubernetesSource({
      config,
      store,
      logger: createLogger('silent'),
      namespaces: [],
      resource: 'endpointslices',
    });
    try {
      await source.start();
      assert.equal(store.stats().services, 1_200);
      // Watches ended by the server (each watch resumes from its resource version), then the history compacted
      // under them (each list starts again from a fresh snapshot), three times over.
      const watches = (): number => api.requests.filter((r) => r.verb === 'watch').length;
      const lists = (): number => api.requests.filter((r) => r.verb === 'list').length;
      for (let round = 1; round <= 3; round++) {
        const watchesBefore = watches();
        api.endAllWatches();
        // The watches resume.
        await eventually(() => watches() >= watchesBefore + 2 || undefined, 10_000);
        const listsBefore = lists();
        // In one turn, before the watches come back: a change they do not see, then the history compacted up to it.
        api.endAllWatches();
        api.create('services', service({ name: `new-${round}`, namespace: 'shop' }));
        api.create('endpointslices', endpointSlice({ service: `new-${round}`, namespace: 'shop' }));
        api.compact();
        // Both collections list again, then watch again.
        await eventually(() => lists() >= listsBefore + 2 || undefined, 10_000);
        await eventually(() => watches() >= watchesBefore + 6 || undefined, 10_000);
      }
      const requests = api.requests.length;
      assert.ok(requests >= 30, `lists and watches made ${requests} requests`);
      // About as many connections as requests were open at once (two collections, each with its watch and up to
      // three pages in flight), not one per request as before; one more per pool for undici's (first test); and
      // one more for each kept-alive connection that expired idle (on a loaded machine a round can take longer
      // than undici's 4 s keep-alive), which a client with a connection per request never has.
      const peak = api.peakConcurrentRequests;
      const expired = api.connectionsClosedIdle;
      assert.ok(
        api.connectionsAccepted <= peak + 2 + expired,
        `${api.connectionsAccepted} connections for ${requests} requests, at most ${peak} of them at once, ` +
          `${expired} closed after idling`,
      );
      // And the expired ones are not a cover for a client that does not reuse: that one opens nearly every
      // connection while another stands idle; a pool does so only when the end of an answer and the next request
      // cross (the same slack as above).
      assert.ok(
        api.connectionsOpenedBesideIdle <= peak + 2,
        `${api.connectionsOpenedBesideIdle} of ${api.connectionsAccepted} connections opened while another one stood idle`,
      );
    } finally {
      await source.stop();
    }
  });
});
