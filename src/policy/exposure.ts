// Which Services endpointd shows its clients. A hidden Service never reaches the store, so every door (REST,
// gRPC, xDS, lists and watches alike) answers for it exactly as for a Service that does not exist: nothing about
// it can leak through a side door, and a Service that becomes hidden is seen as deleted.
import type { ServiceKey } from '../model.ts';
import type { LabelSelector } from './label-selector.ts';

/** Labels and annotations of the Service object, or, without one, of the objects that describe its endpoints. */
export interface ServiceMetadata {
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
}

export interface ExposureRules {
  /** Only these namespaces are shown; empty: every namespace not hidden. */
  readonly exposeNamespaces: readonly string[];
  /** These namespaces are never shown, even when listed in exposeNamespaces. */
  readonly hideNamespaces: readonly string[];
  /** Shown only when the Service's labels match. */
  readonly selector?: LabelSelector | undefined;
  /** Shown only when the Service carries this annotation with this value (e.g. endpointd.io/expose: "true"). */
  readonly annotation?: { readonly key: string; readonly value: string } | undefined;
}

/** The namespaces Kubernetes itself uses: hidden unless the operator says otherwise. */
export const SYSTEM_NAMESPACES: readonly string[] = ['kube-system', 'kube-public', 'kube-node-lease'];

export class ExposurePolicy {
  readonly #expose: ReadonlySet<string>;
  readonly #hide: ReadonlySet<string>;
  readonly #rules: ExposureRules;

  constructor(rules: ExposureRules) {
    this.#rules = rules;
    this.#expose = new Set(rules.exposeNamespaces);
    this.#hide = new Set(rules.hideNamespaces);
  }

  /** Everything is shown: nothing to check. */
  static readonly OPEN = new ExposurePolicy({ exposeNamespaces: [], hideNamespaces: [] });

  /**
   * Whether clients may see the Service. Rules on labels or annotations fail closed: a Service whose metadata is
   * unknown is hidden by them.
   */
  allows(key: ServiceKey, metadata: ServiceMetadata | undefined): boolean {
    if (this.#hide.has(key.namespace)) return false;
    if (this.#expose.size > 0 && !this.#expose.has(key.namespace)) return false;
    const { selector, annotation } = this.#rules;
    if (selector !== undefined && (metadata === undefined || !selector.matches(metadata.labels)))
      return false;
    if (annotation !== undefined && metadata?.annotations[annotation.key] !== annotation.value) return false;
    return true;
  }
}
