// Canonical JSON: object keys sorted, no whitespace, only finite numbers. Two replicas that hold the
// same value produce the same bytes, so digests and Merkle hashes agree byte for byte.
import { hash } from 'node:crypto';

/** A JSON value. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Canonical encoding of a JSON value; throws TypeError on anything JSON cannot carry exactly. */
export function canonicalJson(value: unknown): string {
  // The native serialiser does the writing; `sorted` only reorders keys where needed (values that
  // came from a canonical encoding are already in order and are not copied) and checks the values.
  return JSON.stringify(sorted(value));
}

// The value with every object's keys in sorted order: the same reference when already sorted.
function sorted(value: unknown): unknown {
  if (value === null) return value;
  switch (typeof value) {
    case 'boolean':
    case 'string':
      return value;
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError('non-finite number');
      return value;
    case 'object': {
      if (Array.isArray(value)) {
        let out: unknown[] | undefined;
        for (let i = 0; i < value.length; i++) {
          const x = value[i];
          if (x === undefined) throw new TypeError('undefined in an array');
          const y = sorted(x);
          if (y !== x) (out ??= value.slice())[i] = y;
        }
        return out ?? value;
      }
      if (Object.getPrototypeOf(value) !== Object.prototype && Object.getPrototypeOf(value) !== null) {
        throw new TypeError('not a plain object');
      }
      const o = value as Record<string, unknown>;
      const keys = Object.keys(o);
      let inOrder = true;
      for (let i = 1; i < keys.length; i++) if (keys[i - 1]! > keys[i]!) { inOrder = false; break; }
      let out: Record<string, unknown> | undefined;
      if (!inOrder) out = Object.fromEntries(keys.sort().map((k) => [k, o[k]]));
      for (const k of keys) {
        const x = o[k];
        if (x === undefined) continue;
        const y = sorted(x);
        if (y !== x) setOwn((out ??= { ...o }), k, y);
      }
      return out ?? o;
    }
    default:
      throw new TypeError(`${typeof value} is not JSON`);
  }
}

/**
 * Set an own property. Unlike `obj[key] = value`, a key such as "__proto__" (legal in JSON) becomes
 * data instead of changing the object's prototype.
 */
export function setOwn(obj: object, key: string, value: unknown): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

/** SHA-256 of a string, lowercase hex. */
export function sha256Hex(text: string): string {
  return hash('sha256', text, 'hex');
}

/** Deep equality of two JSON values (key order ignored). */
export function jsonEqual(a: Json, b: Json): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!jsonEqual(a[i] as Json, b[i] as Json)) return false;
    return true;
  }
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  for (const k of ka) {
    if (!Object.hasOwn(b, k) || !jsonEqual(a[k] as Json, b[k] as Json)) return false;
  }
  return true;
}
