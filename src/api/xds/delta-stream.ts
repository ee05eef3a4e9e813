// One incremental ADS stream (DeltaAggregatedResources), the variant Envoy prefers: the client sends changes to
// its subscriptions, the server sends only resources whose version differs from what the client holds, and names
// what is gone (or never existed) in `removed_resources`. Requests are diffs, so none is ever ignored; nonces only
// tie an ACK or a NACK to the response it judges.
import { AdsStream, type TypeStateBase } from './ads-stream.ts';
import { reportNack, versionOf } from './stream-common.ts';
import type { DeltaDiscoveryRequest, DeltaDiscoveryResponse, DeltaResource, ResourceKind } from './wire.ts';

interface TypeState extends TypeStateBase {
  readonly kind: ResourceKind;
  readonly typeUrl: string;
  readonly names: Set<string>;
  wildcard: boolean;
  /** Per resource, the version the client holds as far as we know (seeded by initial_resource_versions). */
  readonly known: Map<string, string>;
  /** Names subscribed to that do not exist and were already reported in removed_resources. */
  readonly reportedAbsent: Set<string>;
  /** The first request of a type is always answered (Envoy waits for it to finish initializing). */
  mustAnswer: boolean;
  readonly dirty: Set<string>;
  allDirty: boolean;
}

export class DeltaStream extends AdsStream<DeltaDiscoveryRequest, DeltaDiscoveryResponse, TypeState> {
  /** The versions of each response, by nonce, until the client judges it (for the NACK log). */
  readonly #pendingVersions = new Map<string, string>();

  protected onRequest(kind: ResourceKind, request: DeltaDiscoveryRequest): void {
    const deps = this.deps;
    if (request.response_nonce !== '') {
      const version = this.#pendingVersions.get(request.response_nonce);
      this.#pendingVersions.delete(request.response_nonce);
      if (request.error_detail !== undefined) {
        reportNack(deps, {
          typeUrl: request.type_url,
          nonce: request.response_nonce,
          version: version ?? '',
          node: this.node,
          error: request.error_detail,
        });
      } else {
        deps.stats.acks += 1;
      }
    }
    let state = this.types.get(request.type_url);
    if (state === undefined) {
      state = {
        kind,
        typeUrl: request.type_url,
        names: new Set(),
        // An empty first subscription is the legacy wildcard; it lasts until `*` is unsubscribed.
        wildcard: request.resource_names_subscribe.length === 0,
        known: new Map(Object.entries(request.initial_resource_versions)),
        reportedAbsent: new Set(),
        mustAnswer: true,
        dirty: new Set(),
        allDirty: true,
      };
      this.types.set(request.type_url, state);
    }
    for (const name of request.resource_names_subscribe) {
      if (name === '*') {
        state.wildcard = true;
        state.allDirty = true;
      } else if (!state.names.has(name)) {
        state.names.add(name);
        state.dirty.add(name);
      }
    }
    for (const name of request.resource_names_unsubscribe) {
      if (name === '*') {
        state.wildcard = false;
        // What only the wildcard covered is the client's to drop; we just stop tracking it.
        for (const known of state.known.keys()) if (!state.names.has(known)) state.known.delete(known);
      } else {
        state.names.delete(name);
        state.known.delete(name);
        state.reportedAbsent.delete(name);
        state.dirty.delete(name);
      }
    }
    this.interest.update(state.typeUrl, state.names, state.wildcard);
    this.pump.schedule();
  }

  /** Only what differs from what the client holds, and what is gone (or never existed) by name. */
  protected respond(state: TypeState): DeltaDiscoveryResponse | undefined {
    const { catalog } = this.deps;
    const targets = new Set(state.names);
    if (state.wildcard) for (const name of catalog.wildcardNames(state.kind)) targets.add(name);
    const candidates = state.allDirty ? new Set([...targets, ...state.known.keys()]) : state.dirty;
    const resources: DeltaResource[] = [];
    const removed: string[] = [];
    for (const name of candidates) {
      const resource = targets.has(name) ? catalog.get(state.kind, name) : undefined;
      if (resource !== undefined) {
        state.reportedAbsent.delete(name);
        if (state.known.get(name) === resource.version) continue;
        state.known.set(name, resource.version);
        resources.push({ name, version: resource.version, resource: resource.any });
      } else if (state.known.delete(name)) {
        removed.push(name);
      } else if (state.names.has(name) && !state.reportedAbsent.has(name)) {
        // Delta says "does not exist" explicitly, instead of leaving the client to its timer.
        state.reportedAbsent.add(name);
        removed.push(name);
      }
    }
    if (resources.length === 0 && removed.length === 0 && !state.mustAnswer) return undefined;
    state.mustAnswer = false;
    const nonce = this.nextNonce();
    const version = versionOf(state.known, this.deps.instanceId);
    this.#pendingVersions.set(nonce, version);
    // A client that never judges responses must not grow this map without bound.
    if (this.#pendingVersions.size > 64) {
      const [oldest] = this.#pendingVersions.keys();
      if (oldest !== undefined) this.#pendingVersions.delete(oldest);
    }
    this.deps.stats.responses += 1;
    this.deps.stats.resourcesSent += resources.length;
    return {
      system_version_info: version,
      resources,
      type_url: state.typeUrl,
      nonce,
      removed_resources: removed,
    };
  }
}
