// One incremental ADS stream (DeltaAggregatedResources), the variant Envoy prefers: the client sends changes to
// its subscriptions, the server sends only resources whose version differs from what the client holds, and names
// what is gone (or never existed) in `removed_resources`. Requests are diffs, so none is ever ignored; nonces only
// tie an ACK or a NACK to the response it judges.
import { AdsStream, type TypeStateBase } from './ads-stream.ts';
import { reportNack } from './stream-common.ts';
import { VersionSet } from './version-set.ts';
import type { DeltaDiscoveryRequest, DeltaDiscoveryResponse, DeltaResource, ResourceKind } from './wire.ts';

interface TypeState extends TypeStateBase {
  readonly kind: ResourceKind;
  readonly typeUrl: string;
  readonly names: Set<string>;
  wildcard: boolean;
  /** Per resource, the version the client holds as far as we know (seeded by initial_resource_versions). */
  readonly known: VersionSet;
  /** Names subscribed to that do not exist and were already reported in removed_resources. */
  readonly reportedAbsent: Set<string>;
  /** The first request of a type is always answered (Envoy waits for it to finish initializing). */
  mustAnswer: boolean;
  readonly dirty: Set<string>;
  allDirty: boolean;
  /**
   * Versions the type's first request said the client holds of names it neither subscribes to nor gets from its
   * wildcard: held in `known` until the first answer drops them, so counted against the names bound until then.
   */
  heldBeyondNames: number;
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
    // The type's first request on this stream: its initial_resource_versions say what the client holds.
    const firstOfType = state === undefined;
    if (state === undefined) {
      const initial = Object.entries(request.initial_resource_versions);
      const heldBeyondNames = this.#heldBeyond(kind, request, initial);
      if (this.refuseOverBound(this.heldNames() + heldBeyondNames)) return;
      state = {
        kind,
        typeUrl: request.type_url,
        names: new Set(),
        // An empty first subscription is the legacy wildcard; it lasts until `*` is unsubscribed.
        wildcard: request.resource_names_subscribe.length === 0,
        known: new VersionSet(this.deps.instanceId, initial),
        reportedAbsent: new Set(),
        mustAnswer: true,
        dirty: new Set(),
        allDirty: true,
        heldBeyondNames,
      };
      this.types.set(request.type_url, state);
    }
    // A request costs what it changes: each name it (un)subscribes, never a walk of what the stream holds.
    // Names this request drops count as free (once each, however often the request repeats them).
    const dropping = new Set(request.resource_names_unsubscribe.filter((name) => state.names.has(name)));
    let held = this.heldNames() - dropping.size;
    for (const name of request.resource_names_subscribe) {
      if (name === '*') {
        state.wildcard = true;
        state.allDirty = true;
      } else {
        if (!state.names.has(name)) {
          // Checked name by name: an oversized request is refused after at most the bound's worth of work.
          if (this.refuseOverBound((held += 1))) return;
          state.names.add(name);
          this.interest.add(state.typeUrl, name);
        }
        if (!firstOfType) {
          // "The server must respond with all resources listed in resource_names_subscribe, even if it believes
          // the client has the most recent version of them" (discovery.proto): a client that dropped a resource
          // and wants it back before it unsubscribed (Envoy's RemoveThenAdd) asks again for a name it still
          // holds, and waits for it. So forget what we think it holds: the resource (or its absence) is sent
          // again. On the type's first request, initial_resource_versions say what the client holds: kept.
          state.known.delete(name);
          state.reportedAbsent.delete(name);
        }
        state.dirty.add(name);
      }
    }
    for (const name of request.resource_names_unsubscribe) {
      if (name === '*') {
        state.wildcard = false;
        // What only the wildcard covered is the client's to drop; we just stop tracking it.
        for (const known of [...state.known.keys()]) if (!state.names.has(known)) state.known.delete(known);
      } else {
        if (state.names.delete(name)) this.interest.remove(state.typeUrl, name);
        state.known.delete(name);
        state.reportedAbsent.delete(name);
        state.dirty.delete(name);
      }
    }
    this.interest.setWildcard(state.typeUrl, state.wildcard);
    this.pump.schedule();
  }

  /** Names subscribed to, and versions held beyond them until the first answer, all types together. */
  protected override heldNames(): number {
    let held = super.heldNames();
    for (const state of this.types.values()) held += state.heldBeyondNames;
    return held;
  }

  /**
   * How many of the versions a type's first request says the client holds the stream would keep beyond what the
   * request itself subscribes to (counted name by name in onRequest) and what a wildcard covers (bounded by the
   * catalog's own bound): an Envoy reconnecting to a wildcard CDS of more Clusters than the names allowed per stream
   * holds no more than the wildcard gives it, and must not be refused for saying so.
   */
  #heldBeyond(
    kind: ResourceKind,
    request: DeltaDiscoveryRequest,
    initial: ReadonlyArray<readonly [string, string]>,
  ): number {
    const subscribed = request.resource_names_subscribe;
    const wildcard = subscribed.length === 0 || subscribed.includes('*');
    const covered = wildcard ? this.deps.catalog.wildcardNameSet(kind) : EMPTY;
    const named = new Set(subscribed);
    let beyond = 0;
    for (const [name] of initial) if (!covered.has(name) && !named.has(name)) beyond += 1;
    return beyond;
  }

  /** Only what differs from what the client holds, and what is gone (or never existed) by name. */
  protected respond(state: TypeState): DeltaDiscoveryResponse | undefined {
    const { catalog } = this.deps;
    const wildcardNames = state.wildcard ? catalog.wildcardNameSet(state.kind) : EMPTY;
    const isTarget = (name: string): boolean => state.names.has(name) || wildcardNames.has(name);
    // Everything only when everything may have changed (first answer, wildcard); else what was marked.
    const candidates = state.allDirty
      ? new Set([...state.names, ...wildcardNames, ...state.known.keys()])
      : state.dirty;
    // This pass drops every version held beyond the names (they are no targets): they no longer count.
    if (state.allDirty) state.heldBeyondNames = 0;
    const resources: DeltaResource[] = [];
    const removed: string[] = [];
    for (const name of candidates) {
      const resource = isTarget(name) ? catalog.get(state.kind, name, this.caller) : undefined;
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
    const version = state.known.version();
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

const EMPTY: ReadonlySet<string> = new Set();
