// Version vectors: member name -> count of that member's writes seen. They decide causality between
// two versions of a record; equal and concurrent are different answers.
//
// Member names index these objects, and any DNS-1123 name is a member name: "constructor" is one. So
// every read is an own-property read (vvCount) and every write defines an own property: a vector
// decoded with JSON.parse has Object.prototype, where `vv.constructor` is a function and
// `vv['__proto__'] = n` would change the prototype instead of adding an entry.

/** A version vector: member name -> number of that member's writes included. Zero entries are omitted. */
export type VersionVector = Readonly<Record<string, number>>;

/** How two version vectors relate: a before b, a after b, equal, or concurrent (neither dominates). */
export type Causality = 'before' | 'after' | 'equal' | 'concurrent';

/** Upper bound on one counter: past this a vector cannot be compared exactly any more. */
export const VV_COUNTER_MAX = Number.MAX_SAFE_INTEGER;

/** `member`'s counter in `vv` (0 when absent): an own-property read, whatever the member's name. */
export function vvCount(vv: VersionVector, member: string): number {
  return Object.hasOwn(vv, member) ? vv[member]! : 0;
}

/** Compare two vectors. */
export function compareVv(a: VersionVector, b: VersionVector): Causality {
  let aAhead = false;
  let bAhead = false;
  for (const m of Object.keys(a)) {
    const x = vvCount(a, m);
    const y = vvCount(b, m);
    if (x > y) aAhead = true;
    else if (x < y) bAhead = true;
  }
  for (const m of Object.keys(b)) {
    if (Object.hasOwn(a, m)) continue;
    if (vvCount(b, m) > 0) bAhead = true;
  }
  if (aAhead && bAhead) return 'concurrent';
  if (aAhead) return 'after';
  if (bAhead) return 'before';
  return 'equal';
}

/** Pointwise maximum, keys sorted so the result encodes canonically. */
export function mergeVv(a: VersionVector, b: VersionVector): VersionVector {
  const out: Record<string, number> = {};
  for (const m of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) {
    const v = Math.max(vvCount(a, m), vvCount(b, m));
    if (v > 0) Object.defineProperty(out, m, { value: v, enumerable: true, writable: true, configurable: true });
  }
  return out;
}

/** The vector with `member`'s counter raised by one. Throws at the counter bound rather than wrap. */
export function incrementVv(vv: VersionVector, member: string): VersionVector {
  return raiseVv(vv, member, vvCount(vv, member) + 1);
}

/** The vector with `member`'s counter raised to `counter` (kept when already higher). Throws past the counter bound. */
export function raiseVv(vv: VersionVector, member: string, counter: number): VersionVector {
  if (!Number.isSafeInteger(counter) || counter > VV_COUNTER_MAX) throw new RangeError(`version vector counter of ${member} overflows`);
  const one: Record<string, number> = {};
  Object.defineProperty(one, member, { value: counter, enumerable: true, writable: true, configurable: true });
  return mergeVv(vv, one);
}

/** True when the vector includes the write numbered `counter` of `member`. */
export function vvCovers(vv: VersionVector, member: string, counter: number): boolean {
  return vvCount(vv, member) >= counter;
}

/** True when `v` has the shape of a version vector with at most `membersMax` entries. */
export function isVersionVector(v: unknown, membersMax: number): v is VersionVector {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const keys = Object.keys(v);
  if (keys.length > membersMax) return false;
  for (const k of keys) {
    const c = (v as Record<string, unknown>)[k];
    if (k.length === 0 || k.length > 253 || !Number.isSafeInteger(c) || (c as number) < 1) return false;
  }
  return true;
}
