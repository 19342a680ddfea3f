// Flattening a resource into leaf fields and building it back, for the Merge strategy's per-field
// registers. Leaves are scalars, arrays (atomic: merging list elements has no stable identity) and
// empty objects. A path is the JSON encoding of its segment list, so any key text is safe.
import { setOwn, type Json } from './canonical.ts';

/** Path of the record's existence flag under Merge. */
export const ROOT_PATH = '';

/** Encode segments as a path string. */
export function encodePath(segments: readonly string[]): string {
  return JSON.stringify(segments);
}

/** Decode a path string into segments. */
export function decodePath(path: string): string[] {
  const s: unknown = JSON.parse(path);
  if (!Array.isArray(s) || s.length === 0 || !s.every((x) => typeof x === 'string')) {
    throw new TypeError(`bad field path ${path.slice(0, 100)}`);
  }
  return s as string[];
}

function isPlainObject(v: Json): v is { [key: string]: Json } {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Leaves of an object: path -> value. */
export function flattenLeaves(value: { [key: string]: Json }): Map<string, Json> {
  const out = new Map<string, Json>();
  const walk = (v: { [key: string]: Json }, prefix: string[]): void => {
    for (const [k, x] of Object.entries(v)) {
      const segs = [...prefix, k];
      if (isPlainObject(x) && Object.keys(x).length > 0) walk(x, segs);
      else out.set(encodePath(segs), x);
    }
  };
  walk(value, []);
  return out;
}

interface TrieNode {
  leaf: boolean;
  children: Map<string, TrieNode>;
}

/**
 * Build an object from leaves in priority order. A leaf that would sit inside another placed leaf, or
 * above placed fields, is skipped, so concurrent type changes (a field set to a scalar on one side and
 * given sub-fields on the other) resolve by priority. Returns the object and the skipped paths.
 */
export function buildFromLeaves(leaves: ReadonlyArray<readonly [string, Json]>): { value: { [key: string]: Json }; skipped: string[] } {
  const root: TrieNode = { leaf: false, children: new Map() };
  const value: { [key: string]: Json } = {};
  const skipped: string[] = [];
  for (const [path, leafValue] of leaves) {
    const segs = decodePath(path);
    let node = root;
    let blocked = false;
    for (const s of segs) {
      if (node.leaf) { blocked = true; break; }
      let next = node.children.get(s);
      if (next === undefined) {
        next = { leaf: false, children: new Map() };
        node.children.set(s, next);
      }
      node = next;
    }
    if (blocked || node.leaf || node.children.size > 0) {
      skipped.push(path);
      continue;
    }
    node.leaf = true;
    let obj = value;
    for (let i = 0; i < segs.length - 1; i++) {
      const s = segs[i] as string;
      const child = Object.hasOwn(obj, s) ? obj[s] : undefined;
      if (isPlainObject(child as Json)) {
        obj = child as { [key: string]: Json };
      } else {
        const created: { [key: string]: Json } = {};
        setOwn(obj, s, created);
        obj = created;
      }
    }
    setOwn(obj, segs[segs.length - 1] as string, structuredClone(leafValue));
  }
  return { value, skipped };
}
