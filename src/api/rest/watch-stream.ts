// One watch stream over HTTP: SSE or NDJSON, the current state first, then every change. The stream writes only
// while the client reads (the response's backpressure); what changes meanwhile waits in the subscription, where
// the latest state of each service replaces an older one, so a client that stops reading costs bounded memory.
// With caller locality, a change that leaves the caller's view as it was (another zone's endpoints) is not sent:
// its version is the hash of what the caller receives, and that did not change.
import type { Request, Response } from 'express';
import { serviceKeyString, type ServiceKey } from '../../model.ts';
import type { StoreReader } from '../../store/faces.ts';
import type { ServiceChange, SubscriptionScope } from '../../store/subscription.ts';
import { cachedViewVersion } from '../../views/cached-view-version.ts';
import { changeInClusterView, inClusterView } from '../../views/clusters.ts';
import { sentViewVersions } from '../../views/sent-view-versions.ts';
import type { ViewOptions } from '../../views/service-view.ts';
import { encodedStateEvent, frame, type StreamFormat } from './representation.ts';

export interface WatchStreamOptions {
  readonly store: StoreReader;
  readonly scope: SubscriptionScope;
  readonly view: ViewOptions;
  readonly format: StreamFormat;
  /** One-service streams only: the version the client already has; its state is then not resent. */
  readonly resumeVersion: string | undefined;
  readonly heartbeatMs: number;
}

/** A live stream, for the server's shutdown: `end()` closes it cleanly. */
export interface OpenStream {
  end(): void;
}

export function openWatchStream(req: Request, res: Response, options: WatchStreamOptions): OpenStream {
  const { store, scope, view, format } = options;
  const single = scope.kind === 'service' ? scope.key : undefined;

  res.status(200);
  res.setHeader('Cache-Control', 'no-cache, no-transform');
  res.setHeader('X-Accel-Buffering', 'no'); // proxies (nginx) must not buffer a stream
  res.setHeader(
    'Content-Type',
    format === 'sse' ? 'text/event-stream; charset=utf-8' : 'application/x-ndjson',
  );
  res.flushHeaders();
  req.socket.setNoDelay(true);

  let synced = false;
  let ended = false;
  const sent = sentViewVersions(store.encoded, view);
  const write = (chunk: string | Buffer): boolean => res.write(chunk);

  const flush = (): void => {
    if (ended) return;
    while (!res.writableNeedDrain) {
      const taken = subscription.take();
      const change = taken === undefined ? undefined : changeInClusterView(taken, view.cluster);
      if (change === undefined) {
        if (!synced) {
          synced = true;
          write(frame({ type: 'SYNCED' }, format));
        }
        return;
      }
      writeChange(change);
    }
  };

  const writeChange = (change: ServiceChange): void => {
    if (!sent.isNews(change)) return;
    const { current, previous, key } = change;
    if (current === undefined) {
      if (previous === undefined) return;
      write(
        frame({ type: 'DELETED', namespace: key.namespace, name: key.name }, format, single ? '' : undefined),
      );
      return;
    }
    const type = previous === undefined ? 'ADDED' : 'MODIFIED';
    write(encodedStateEvent(store.encoded, current, type, view, format, single !== undefined));
  };

  // Subscribe before reading the current state: both are synchronous, so no change can fall between them.
  const subscription = store.subscribe(scope, () => setImmediate(flush));
  if (single !== undefined) {
    const current = inClusterView(store.get(single), view.cluster);
    if (current === undefined) {
      write(frame({ type: 'ABSENT', namespace: single.namespace, name: single.name }, format, ''));
    } else if (cachedViewVersion(store.encoded, current, view) !== options.resumeVersion) {
      subscription.deliver(initialChange(single, current));
    } else if (options.resumeVersion !== undefined) {
      sent.holds(serviceKeyString(single), options.resumeVersion);
    }
  } else {
    const namespace = scope.kind === 'namespace' ? scope.namespace : undefined;
    for (const snapshot of store.list(namespace)) {
      if (inClusterView(snapshot, view.cluster) !== undefined)
        subscription.deliver(initialChange(snapshot, snapshot));
    }
  }
  res.on('drain', flush);
  flush();

  const heartbeat = setInterval(() => {
    if (res.writableNeedDrain) return; // a client that is not reading has no use for more bytes
    const now = single === undefined ? undefined : inClusterView(store.get(single), view.cluster);
    const version =
      single === undefined
        ? undefined
        : now === undefined
          ? null
          : cachedViewVersion(store.encoded, now, view);
    write(frame(version === undefined ? { type: 'HEARTBEAT' } : { type: 'HEARTBEAT', version }, format));
  }, options.heartbeatMs);

  const cleanUp = (): void => {
    if (ended) return;
    ended = true;
    clearInterval(heartbeat);
    subscription.close();
  };
  res.on('close', cleanUp);
  return {
    end: () => {
      cleanUp();
      res.end();
    },
  };
}

function initialChange(key: ServiceKey, current: ServiceChange['current']): ServiceChange {
  return {
    id: serviceKeyString(key),
    key: { namespace: key.namespace, name: key.name },
    previous: undefined,
    current,
  };
}
