// The standard grpc.health.v1.Health service, following the process's readiness: SERVING once every source has
// synced, NOT_SERVING before that and from the moment shutdown begins, so that load balancers and Kubernetes gRPC
// probes stop sending new clients here before streams are ended.
import {
  status,
  type sendUnaryData,
  type ServerUnaryCall,
  type ServerWritableStream,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import type { Readiness } from '../../observability/readiness.ts';
import { StatusError } from './errors.ts';
import type {
  HealthCheckRequestMessage,
  HealthCheckResponseMessage,
  HealthListResponseMessage,
  ServingStatusName,
} from './wire.ts';

export interface HealthOptions {
  readonly readiness: Readiness;
  /**
   * How often Watch streams re-check readiness, in ms. Readiness has no change events (sources report their state
   * when asked), so watchers are told within this delay; Check always answers the state of the moment.
   */
  readonly pollMs: number;
}

interface Watcher {
  readonly service: string;
  readonly call: ServerWritableStream<HealthCheckRequestMessage, HealthCheckResponseMessage>;
  last: ServingStatusName;
}

export class HealthService {
  readonly #options: HealthOptions;
  /** The names reported on: "" (the whole server) and each service served. */
  readonly #services = new Set<string>(['']);
  readonly #watchers = new Set<Watcher>();
  #poll: NodeJS.Timeout | undefined;
  #shutDown = false;

  constructor(options: HealthOptions) {
    this.#options = options;
  }

  /** Reports on `name` (a fully qualified service name, e.g. "envoy.service.discovery.v3.AggregatedDiscoveryService"). */
  addService(name: string): void {
    this.#services.add(name);
    this.refresh();
  }

  /** The status of `service` now; undefined when it is not reported on. */
  status(service: string): ServingStatusName | undefined {
    if (!this.#services.has(service)) return undefined;
    return !this.#shutDown && this.#options.readiness.ready ? 'SERVING' : 'NOT_SERVING';
  }

  /** Tells every watcher whose status changed; called by the poll timer and on shutdown. */
  refresh(): void {
    for (const watcher of this.#watchers) {
      const current = this.status(watcher.service) ?? 'SERVICE_UNKNOWN';
      if (current === watcher.last) continue;
      watcher.last = current;
      watcher.call.write({ status: current });
    }
  }

  /** NOT_SERVING for good: watchers are told, then their streams end with UNAVAILABLE. */
  shutdown(): void {
    if (this.#shutDown) return;
    this.#shutDown = true;
    this.refresh();
    this.#stopPolling();
    const ending = new StatusError(status.UNAVAILABLE, 'endpointd is shutting down');
    for (const watcher of [...this.#watchers]) watcher.call.emit('error', ending);
    this.#watchers.clear();
  }

  implementation(): UntypedServiceImplementation {
    return {
      Check: (
        call: ServerUnaryCall<HealthCheckRequestMessage, HealthCheckResponseMessage>,
        callback: sendUnaryData<HealthCheckResponseMessage>,
      ) => {
        const current = this.status(call.request.service);
        if (current === undefined) {
          callback(
            new StatusError(status.NOT_FOUND, `no health status for service "${call.request.service}"`),
          );
          return;
        }
        callback(null, { status: current });
      },
      List: (
        _call: ServerUnaryCall<unknown, HealthListResponseMessage>,
        callback: sendUnaryData<HealthListResponseMessage>,
      ) => {
        const statuses: Record<string, HealthCheckResponseMessage> = {};
        for (const service of this.#services)
          statuses[service] = { status: this.status(service) ?? 'UNKNOWN' };
        callback(null, { statuses });
      },
      Watch: (call: ServerWritableStream<HealthCheckRequestMessage, HealthCheckResponseMessage>) => {
        const watcher: Watcher = {
          service: call.request.service,
          call,
          last: this.status(call.request.service) ?? 'SERVICE_UNKNOWN',
        };
        call.write({ status: watcher.last });
        if (this.#shutDown) {
          call.end();
          return;
        }
        this.#watchers.add(watcher);
        const forget = (): void => {
          this.#watchers.delete(watcher);
          if (this.#watchers.size === 0) this.#stopPolling();
        };
        call.on('cancelled', forget);
        call.on('close', forget);
        this.#poll ??= setInterval(() => this.refresh(), this.#options.pollMs).unref();
      },
    };
  }

  #stopPolling(): void {
    clearInterval(this.#poll);
    this.#poll = undefined;
  }
}
