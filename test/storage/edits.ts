// Resource edits for property tests: set or remove one field at a path, with keys such as "__proto__"
// or "constructor" treated as data (own properties), and values that include nested objects and arrays.
import { setOwn, type Json } from '../../storage/logic/canonical.ts';

/** Field names mixed into generated resources: Object.prototype names next to ordinary ones. */
export const FIELD_NAMES = ['a', 'b', 'n', '__proto__', 'constructor', 'toString'] as const;

/** Member names for generated replicas: Object.prototype names next to ordinary ones. */
export const MEMBER_NAMES = ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf', 'm1', 'm2'] as const;

/** Marker for "remove the field". */
export const REMOVE = Symbol('remove');

type Obj = { [key: string]: Json };

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A deep copy that keeps "__proto__" keys as own data. */
export function copyJson<T>(v: T): T {
  return JSON.parse(JSON.stringify(v)) as T;
}

/** `base` with the field at `path` (under `spec`) set to `value`, or removed; `base` is not changed. */
export function editField(base: Obj, path: readonly string[], value: Json | typeof REMOVE): Obj {
  const out = copyJson(base);
  if (!isObj(out.spec)) setOwn(out, 'spec', {});
  let obj = out.spec as Obj;
  for (const seg of path.slice(0, -1)) {
    const child = Object.hasOwn(obj, seg) ? obj[seg] : undefined;
    if (isObj(child)) {
      obj = child;
    } else {
      if (value === REMOVE) return out; // nothing there to remove
      const created: Obj = {};
      setOwn(obj, seg, created);
      obj = created;
    }
  }
  const last = path[path.length - 1]!;
  if (value === REMOVE) delete obj[last];
  else setOwn(obj, last, copyJson(value));
  return out;
}
