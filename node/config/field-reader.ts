// Reading one mapping of a parsed config file with every problem recorded under its field path
// (`spec.members[1].endpoint`), so a file is checked in one pass and the operator sees every mistake
// at once. Keys that are never read are reported as unknown fields (with a suggestion for a typo).
import type { ConfigIssue } from '../errors.ts';
import { parseDuration } from './duration.ts';

/** The path of a child field: `spec` + `sync` → `spec.sync`; `` + `spec` → `spec`. */
export function childPath(path: string, key: string | number): string {
  if (typeof key === 'number') return `${path}[${key}]`;
  return path === '' ? key : `${path}.${key}`;
}

/** A short rendering of a bad value for messages (bounded, never the whole value). */
export function show(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  return String(v);
}

/**
 * The object without its undefined fields. The validators merge `{ ...defaults, ...given }`, where
 * a field present as undefined would replace its default.
 */
export function defined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

function isMapping(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

// Levenshtein distance, for "did you mean" on unknown fields (names are short; O(n·m) is nothing).
function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur.push(Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1]!.toLowerCase() === b[j - 1]!.toLowerCase() ? 0 : 1)));
    }
    prev = cur;
  }
  return prev[b.length]!;
}

/** Options of a scalar field. */
export interface FieldOptions<T> {
  /** Missing is a problem. */
  required?: boolean;
  /** Value when missing. */
  default?: T;
}

/** One mapping of the config file being read; records problems in a shared list. */
export class FieldReader {
  /** Path of this mapping (`spec.sync`); '' for the document root. */
  readonly path: string;
  /** False when the value was not a mapping (already reported); every read then returns undefined. */
  readonly ok: boolean;
  readonly #o: Record<string, unknown>;
  readonly #issues: ConfigIssue[];
  readonly #known = new Set<string>();
  // A required mapping that is missing (reported once by its parent): nothing inside it is reported.
  readonly #absent: boolean;

  /** `absent`: the value is a missing required mapping, already reported; reads return undefined silently. */
  constructor(value: unknown, path: string, issues: ConfigIssue[], absent = false) {
    this.path = path;
    this.#issues = issues;
    this.#absent = absent;
    this.ok = !absent && isMapping(value);
    this.#o = this.ok ? (value as Record<string, unknown>) : {};
    if (!this.ok) this.problem('', `must be a mapping (key: value), got ${show(value)}`);
  }

  /** Record a problem with a child field ('' for this mapping itself). */
  problem(key: string | number, problem: string): void {
    if (this.#absent) return;
    this.#issues.push({ field: key === '' ? this.path || '(root)' : childPath(this.path, key), problem });
  }

  /** True when the key is present (and marks it known). */
  has(key: string): boolean {
    this.#known.add(key);
    return this.#o[key] !== undefined && this.#o[key] !== null;
  }

  /** The raw value (marks the key known); undefined when missing or null. */
  raw(key: string, o: FieldOptions<never> = {}): unknown {
    this.#known.add(key);
    const v = this.#o[key];
    if (v === undefined || v === null) {
      if (o.required === true) this.problem(key, 'is required');
      return undefined;
    }
    return v;
  }

  /** A string (non-empty unless allowEmpty). */
  str(key: string, o: FieldOptions<string> & { allowEmpty?: boolean } = {}): string | undefined {
    const v = this.raw(key, { required: o.required === true && o.default === undefined });
    if (v === undefined) return o.default;
    if (typeof v !== 'string') return this.#bad(key, `must be a string, got ${show(v)}`);
    if (v === '' && o.allowEmpty !== true) return this.#bad(key, 'must not be empty');
    return v;
  }

  /** An integer in [min, max]. */
  int(key: string, min: number, max: number, o: FieldOptions<number> = {}): number | undefined {
    const v = this.raw(key, { required: o.required === true && o.default === undefined });
    if (v === undefined) return o.default;
    if (typeof v !== 'number' || !Number.isSafeInteger(v)) return this.#bad(key, `must be an integer, got ${show(v)}`);
    if (v < min || v > max) return this.#bad(key, `must be in ${min}..${max}, got ${v}`);
    return v;
  }

  /** true or false (YAML 1.2: `yes`/`no` are strings, and refused). */
  bool(key: string, o: FieldOptions<boolean> = {}): boolean | undefined {
    const v = this.raw(key, { required: o.required === true && o.default === undefined });
    if (v === undefined) return o.default;
    if (typeof v !== 'boolean') return this.#bad(key, `must be true or false, got ${show(v)}`);
    return v;
  }

  /** One of a fixed set of strings. */
  oneOf<T extends string>(key: string, values: readonly T[], o: FieldOptions<T> = {}): T | undefined {
    const v = this.raw(key, { required: o.required === true && o.default === undefined });
    if (v === undefined) return o.default;
    if (typeof v !== 'string' || !values.includes(v as T)) return this.#bad(key, `must be one of ${values.join(', ')}, got ${show(v)}`);
    return v as T;
  }

  /** A Go-style duration string, in milliseconds, within [minMs, maxMs]. */
  duration(key: string, o: FieldOptions<number> & { minMs?: number; maxMs?: number } = {}): number | undefined {
    const v = this.raw(key, { required: o.required === true && o.default === undefined });
    if (v === undefined) return o.default;
    const d = parseDuration(v);
    if ('problem' in d) return this.#bad(key, d.problem);
    if (o.minMs !== undefined && d.ms < o.minMs) return this.#bad(key, `must be at least ${o.minMs} ms, got ${show(v)}`);
    if (o.maxMs !== undefined && d.ms > o.maxMs) return this.#bad(key, `must be at most ${o.maxMs} ms, got ${show(v)}`);
    return d.ms;
  }

  /** A list of at most `max` items (an empty list when missing and not required). */
  list(key: string, max: number, o: { required?: boolean } = {}): unknown[] | undefined {
    const v = this.raw(key, o);
    if (v === undefined) return undefined;
    if (!Array.isArray(v)) return this.#bad(key, `must be a list, got ${show(v)}`);
    if (v.length > max) return this.#bad(key, `at most ${max} entries, got ${v.length}`);
    return v;
  }

  /** A list of strings (each non-empty). */
  strings(key: string, max: number, o: { required?: boolean } = {}): string[] | undefined {
    const l = this.list(key, max, o);
    if (l === undefined) return undefined;
    const bad = l.findIndex((s) => typeof s !== 'string' || s === '');
    if (bad >= 0) return this.#bad(`${key}[${bad}]`, `must be a non-empty string, got ${show(l[bad])}`);
    return l as string[];
  }

  /** A nested mapping; a missing one reads as empty (its fields take their defaults) unless required. */
  child(key: string, o: { required?: boolean } = {}): FieldReader {
    const v = this.raw(key, o);
    return new FieldReader(v ?? {}, childPath(this.path, key), this.#issues, v === undefined && (o.required === true || this.#absent));
  }

  /** Readers over each mapping of a list (`members[0]`, `members[1]`, …); [] when missing. */
  items(key: string, max: number, o: { required?: boolean } = {}): FieldReader[] {
    const l = this.list(key, max, o) ?? [];
    return l.map((v, i) => new FieldReader(v, childPath(childPath(this.path, key), i), this.#issues));
  }

  /** Report every key that was never read as an unknown field. Call once, after every read. */
  done(): void {
    if (!this.ok) return;
    for (const k of Object.keys(this.#o)) {
      if (this.#known.has(k)) continue;
      const near = [...this.#known].filter((n) => distance(k, n) <= Math.max(1, Math.floor(n.length / 4)));
      this.#issues.push({
        field: childPath(this.path, k),
        problem: `unknown field${near.length > 0 ? ` (did you mean ${near.map((n) => childPath(this.path, n)).join(' or ')}?)` : ''}`,
      });
    }
  }

  #bad(key: string, problem: string): undefined {
    this.problem(key, problem);
    return undefined;
  }
}
