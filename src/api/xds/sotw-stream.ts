// One state-of-the-world ADS stream (StreamAggregatedResources): per type URL the names subscribed, the last
// nonce and what was sent, and the rules of the protocol that real clients were seen to depend on
// (notes/xds-facts.md): ACK/NACK judged by error_detail, stale nonces ignored, empty names a wildcard only on a
// type's first request, full-state Listener/Cluster responses, a new stream's first request of each type always
// answered, a NACKed version not sent again until a newer one is accepted.
import { AdsStream, type TypeStateBase } from './ads-stream.ts';
import type { EncodedResource } from './catalog.ts';
import { reportNack, versionOf } from './stream-common.ts';
import { VersionSet } from './version-set.ts';
import type { DiscoveryRequest, DiscoveryResponse, ResourceKind } from './wire.ts';

interface TypeState extends TypeStateBase {
  readonly kind: ResourceKind;
  readonly typeUrl: string;
  names: Set<string>;
  wildcard: boolean;
  /** The first request had no names (legacy wildcard): later empty requests keep it, they are only ACKs. */
  legacyWildcard: boolean;
  /** The nonce of the last response of this type; requests quoting another one are stale. */
  lastNonce: string | undefined;
  lastVersion: string | undefined;
  /** The version the client NACKed last: not sent again until the client accepts a newer one. */
  rejectedVersion: string | undefined;
  /** Per resource, the version the client was last sent. */
  readonly sent: VersionSet;
  /** Answer even if nothing changed: the first request of the type, or names were added. */
  mustAnswer: boolean;
  /** Names to look at again on the next flush (all of them when `allDirty`). */
  readonly dirty: Set<string>;
  allDirty: boolean;
}

/** Listener and Cluster responses carry every subscribed resource: one missing means "deleted". */
const FULL_STATE: ReadonlySet<ResourceKind> = new Set(['listener', 'cluster']);

export class SotwStream extends AdsStream<DiscoveryRequest, DiscoveryResponse, TypeState> {
  protected onRequest(kind: ResourceKind, request: DiscoveryRequest): void {
    const deps = this.deps;
    const names = new Set(request.resource_names);
    const explicitWildcard = names.delete('*');
    let state = this.types.get(request.type_url);
    if (state === undefined) {
      if (this.refuseOverBound(this.heldNames() + names.size)) return;
      const legacyWildcard = request.resource_names.length === 0;
      state = {
        kind,
        typeUrl: request.type_url,
        names,
        wildcard: legacyWildcard || explicitWildcard,
        legacyWildcard,
        lastNonce: undefined,
        lastVersion: undefined,
        rejectedVersion: undefined,
        sent: new VersionSet(deps.instanceId),
        mustAnswer: true,
        dirty: new Set(),
        allDirty: true,
      };
      this.types.set(request.type_url, state);
      for (const name of names) this.interest.add(state.typeUrl, name);
    } else {
      if (state.lastNonce !== undefined && request.response_nonce !== state.lastNonce) {
        // Stale: the client had not seen our latest response yet. It will send its names again when it has;
        // acting on this one would answer twice and start a request/response ping-pong.
        deps.stats.staleRequests += 1;
        return;
      }
      if (state.lastNonce !== undefined) {
        if (request.error_detail !== undefined) {
          state.rejectedVersion = state.lastVersion;
          reportNack(deps, {
            typeUrl: state.typeUrl,
            nonce: request.response_nonce,
            version: state.lastVersion ?? '',
            node: this.node,
            error: request.error_detail,
          });
        } else {
          deps.stats.acks += 1;
          // The client took a newer version: what it rejected before may be right to send again (a Service
          // removed, re-added and removed once more comes back to the same version). A request quoting the
          // rejected response itself (a subscription change after the NACK) is no such acceptance.
          if (state.lastVersion !== state.rejectedVersion) state.rejectedVersion = undefined;
        }
      }
      if (this.refuseOverBound(this.heldNames() - state.names.size + names.size)) return;
      state.legacyWildcard = state.legacyWildcard && request.resource_names.length === 0;
      const wildcard = state.legacyWildcard || explicitWildcard;
      const wasWildcard = state.wildcard;
      state.wildcard = wildcard;
      for (const name of names) {
        if (!state.names.has(name)) {
          state.dirty.add(name);
          state.mustAnswer = true;
          this.interest.add(state.typeUrl, name);
        }
      }
      let removed = false;
      for (const name of state.names) {
        if (!names.has(name)) {
          state.sent.delete(name);
          this.interest.remove(state.typeUrl, name);
          removed = true;
        }
      }
      state.names = names;
      // An ACK that changes nothing (the usual request) costs no registration update and no flush.
      if (!state.mustAnswer && !removed && wasWildcard === state.wildcard) return;
      if (state.wildcard && !wasWildcard) state.allDirty = true;
    }
    this.interest.setWildcard(state.typeUrl, state.wildcard);
    this.pump.schedule();
  }

  protected respond(state: TypeState): DiscoveryResponse | undefined {
    return FULL_STATE.has(state.kind) ? this.#fullState(state) : this.#changedOnly(state);
  }

  /** Every subscribed resource that exists; sent when the set or a version changed, or an answer is owed. */
  #fullState(state: TypeState): DiscoveryResponse | undefined {
    const resources: EncodedResource[] = [];
    for (const name of this.#subscribed(state)) {
      const resource = this.deps.catalog.get(state.kind, name, this.caller);
      if (resource !== undefined) resources.push(resource);
    }
    const version = versionOf(
      resources.map((r) => [r.name, r.version] as const),
      this.deps.instanceId,
    );
    if (version === state.rejectedVersion) return undefined;
    if (!state.mustAnswer && version === state.lastVersion) return undefined;
    state.sent.clear();
    return this.#response(state, version, resources);
  }

  /**
   * Routes and assignments are not full state: only those whose version changed are sent. An assignment of a
   * Service that is gone is sent empty, so that clients stop calling endpoints that went away with it.
   */
  #changedOnly(state: TypeState): DiscoveryResponse | undefined {
    const { catalog } = this.deps;
    const wildcardNames = state.wildcard ? catalog.wildcardNameSet(state.kind) : undefined;
    // What was marked changed, unless everything may have: a flush costs the changed names, not the held ones.
    const candidates = state.allDirty
      ? this.#subscribed(state)
      : [...state.dirty].filter((n) => state.names.has(n) || wildcardNames?.has(n) === true);
    const changed: EncodedResource[] = [];
    for (const name of candidates) {
      const resource =
        catalog.get(state.kind, name, this.caller) ??
        (state.kind === 'endpoint' ? catalog.emptyAssignment(name) : undefined);
      if (resource === undefined || state.sent.get(name) === resource.version) continue;
      changed.push(resource);
    }
    if (changed.length === 0 && !state.mustAnswer) return undefined;
    const version = state.sent.versionWith(changed);
    if (version === state.rejectedVersion) return undefined;
    return this.#response(state, version, changed);
  }

  #subscribed(state: TypeState): string[] {
    if (!state.wildcard) return [...state.names];
    const all = new Set(this.deps.catalog.wildcardNames(state.kind));
    for (const name of state.names) all.add(name);
    return [...all];
  }

  /** Sends `resources` as `version`; each is then what the client was last sent of its name. */
  #response(state: TypeState, version: string, resources: readonly EncodedResource[]): DiscoveryResponse {
    for (const r of resources) state.sent.set(r.name, r.version);
    const nonce = this.nextNonce();
    state.lastNonce = nonce;
    state.lastVersion = version;
    state.mustAnswer = false;
    this.deps.stats.responses += 1;
    this.deps.stats.resourcesSent += resources.length;
    return { version_info: version, resources: resources.map((r) => r.any), type_url: state.typeUrl, nonce };
  }
}
