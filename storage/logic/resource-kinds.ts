// The registry of resource kinds a federation stores: NovaEdge's own kinds, plus those a deployment
// adds (spec.resourceKinds in a config file, ReplicationConfig.resourceKinds embedded). A resource of
// any other kind — a typo such as `kind: ProxyRute`, or a kind nothing consumes — is refused with a
// did-you-mean, both when it is written (Store.apply) and when a peer sends it (checkReplicatedRecord),
// so it is never stored nor replicated. The federation's own system kinds (system-keys.ts) are always
// known. Pure: the rule and the suggestion, nothing else.
import { InvalidResourceError } from './resource.ts';
import { isSystemKind } from './system-keys.ts';

/** NovaEdge's own resource kinds (its CRDs), known to every node unless a config adds more. */
export const NOVAEDGE_RESOURCE_KINDS: readonly string[] = Object.freeze(['ProxyBackend', 'ProxyGateway', 'ProxyPolicy', 'ProxyRoute', 'ProxyVIP']);

/** Most kinds a config may add. */
export const RESOURCE_KINDS_ADDED_MAX = 256;

/**
 * A resource of a kind the registry does not hold; stable code UNKNOWN_KIND (reported by the admin API
 * as INVALID_ARGUMENT with cause UNKNOWN_KIND), field `kind`.
 */
export class UnknownKindError extends InvalidResourceError {
  override readonly code: string = 'UNKNOWN_KIND';
  /** The closest known kind, when one is close enough to be a typo of it. */
  readonly suggestion: string | undefined;
  constructor(field: string, problem: string, suggestion: string | undefined) {
    super(field, problem);
    this.suggestion = suggestion;
  }
}

/** The kinds a node stores. */
export class ResourceKinds {
  readonly #kinds: ReadonlySet<string>;
  /** Every known kind, sorted (system kinds not included). */
  readonly list: readonly string[];

  /** NovaEdge's kinds plus `added` (which must be valid kind names: the config reader checks them). */
  constructor(added: Iterable<string> = []) {
    this.#kinds = new Set([...NOVAEDGE_RESOURCE_KINDS, ...added]);
    this.list = Object.freeze([...this.#kinds].sort());
  }

  /** True when resources of `kind` may be stored. */
  has(kind: string): boolean {
    return this.#kinds.has(kind) || isSystemKind(kind);
  }

  /** The known kind `kind` is most likely a typo of, or undefined when none is close. */
  suggest(kind: string): string | undefined {
    return closestKind(kind, this.list);
  }

  /** What is wrong with `kind`, or undefined when it is known. */
  problem(kind: string): string | undefined {
    if (this.has(kind)) return undefined;
    const s = this.suggest(kind);
    return `unknown resource kind ${JSON.stringify(kind.slice(0, 100))}${s === undefined ? '' : ` (did you mean ${s}?)`}; `
      + `known kinds: ${this.list.join(', ')}; to store another kind, add it to spec.resourceKinds on every member`;
  }

  /** Throw UnknownKindError (field `field`) unless `kind` is known. */
  check(kind: string, field = 'kind'): void {
    const problem = this.problem(kind);
    if (problem !== undefined) throw new UnknownKindError(field, problem, this.suggest(kind));
  }
}

/**
 * The candidate closest to `kind`, compared case-insensitively: an exact match but for case, else
 * the one a kind name ends with (`Backend` → `ProxyBackend`), else the nearest by edit distance when
 * it is at most a third of the name's length (at least 2). Ties go to the first in `candidates`.
 */
export function closestKind(kind: string, candidates: readonly string[]): string | undefined {
  const k = kind.toLowerCase();
  const exact = candidates.find((c) => c.toLowerCase() === k);
  if (exact !== undefined) return exact;
  if (k.length >= 3) {
    const suffix = candidates.find((c) => c.toLowerCase().endsWith(k));
    if (suffix !== undefined) return suffix;
  }
  const bound = Math.max(2, Math.floor(k.length / 3));
  let best: string | undefined;
  let bestDistance = bound + 1;
  for (const c of candidates) {
    const d = editDistance(k, c.toLowerCase(), bestDistance);
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return best;
}

/**
 * Levenshtein distance between `a` and `b` (insertions, deletions, substitutions, each 1), or any
 * value ≥ `atLeast` once it is known to reach it. Strings are cut at 100 characters (kind names are ≤ 63).
 */
export function editDistance(a: string, b: string, atLeast = Infinity): number {
  const x = a.slice(0, 100);
  const y = b.slice(0, 100);
  if (Math.abs(x.length - y.length) >= atLeast) return atLeast;
  let prev = Array.from({ length: y.length + 1 }, (_, j) => j);
  for (let i = 1; i <= x.length; i++) {
    const row = [i];
    let rowMin = i;
    for (let j = 1; j <= y.length; j++) {
      const v = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (x[i - 1] === y[j - 1] ? 0 : 1));
      row.push(v);
      if (v < rowMin) rowMin = v;
    }
    if (rowMin >= atLeast) return atLeast;
    prev = row;
  }
  return prev[y.length]!;
}
