// Merge: field-level. Each leaf field is a multi-value register under the record's version vector:
// a field changed on one side keeps that change; a field changed concurrently on both sides keeps both
// entries, serves the one with the higher stamp, and is reported as a conflict until it is written
// again or resolved. No common ancestor is needed: the version vector tells superseded entries apart.
// Removing a field writes a stamped removal entry for it (field-tombstone.ts), so a removal and a
// concurrent change of the same field resolve by stamp like two changes do, and are reported the
// same way; a removal is kept while the field stays absent.
// The entry at ROOT_PATH says whether the resource exists. Every write sets it, and a delete sets it
// false without dropping the fields, so a delete concurrent with an update resolves by stamp on that
// flag and the winner is whole: never a half resource.
import { jsonEqual, type Json } from '../canonical.ts';
import { compareHlc } from '../hlc.ts';
import { buildFromLeaves, decodePath, flattenLeaves, ROOT_PATH } from '../json-paths.ts';
import type { Entry, StoredRecord } from '../record.ts';
import { versionOf, type ConflictInfo, type ConflictRule, type ConflictVersion, type LocalWrite } from './conflict-rule.ts';
import { FIELD_REMOVALS_MAX, FIELD_REMOVED, isFieldRemoved } from './field-tombstone.ts';
import { newestFirst } from './whole-value.ts';

function byPath(entries: readonly Entry[]): Map<string, Entry[]> {
  const out = new Map<string, Entry[]>();
  for (const e of entries) {
    const p = e.path ?? ROOT_PATH;
    const list = out.get(p);
    if (list === undefined) out.set(p, [e]);
    else list.push(e);
  }
  return out;
}

function exists(groups: Map<string, Entry[]>): boolean {
  const root = newestFirst(groups.get(ROOT_PATH) ?? [])[0];
  return root !== undefined && root.value === true;
}

// Winners per field that hold a value (a winning removal leaves the field out), highest stamp first;
// ties (one write setting several fields) by path.
function winners(groups: Map<string, Entry[]>): Entry[] {
  const out: Entry[] = [];
  for (const [p, list] of groups) {
    if (p === ROOT_PATH) continue;
    const w = newestFirst(list)[0]!;
    if (!isFieldRemoved(w.value)) out.push(w);
  }
  return out.sort((a, b) => compareHlc(b.hlc, a.hlc) || ((a.path ?? '') < (b.path ?? '') ? -1 : 1));
}

function viewOf(groups: Map<string, Entry[]>): { [key: string]: Json } | null {
  if (!exists(groups)) return null;
  return buildFromLeaves(winners(groups).map((e) => [e.path ?? ROOT_PATH, e.value] as const)).value;
}

function rootEntry(current: StoredRecord | undefined, value: boolean, w: LocalWrite): Entry {
  return { counter: w.counter, hlc: w.hlc, path: ROOT_PATH, value };
}

// Fields with concurrent entries that disagree. Concurrent entries that agree (two updates of the
// root flag, two removals or two equal values of a field) are no conflict.
function fieldConflicts(groups: Map<string, Entry[]>): Array<[string, Entry[]]> {
  return [...groups]
    .filter(([, list]) => list.length > 1 && list.some((e) => !jsonEqual(e.value, list[0]!.value)))
    .sort(([a], [b]) => (a < b ? -1 : 1));
}

// A field's version as `describe` shows it: a removal has value null and `removed: true`.
function fieldVersion(e: Entry): ConflictVersion {
  return isFieldRemoved(e.value) ? { ...versionOf(e), value: null, removed: true } : versionOf(e);
}

export const merge: ConflictRule = {
  name: 'Merge',
  prune(entries) {
    return entries;
  },
  write(current, value, w) {
    const groups = byPath(current?.entries ?? []);
    const shown = viewOf(groups);
    const fields = (current?.entries ?? []).filter((e) => (e.path ?? ROOT_PATH) !== ROOT_PATH);
    if (value === null) {
      if (shown === null) return undefined;
      return [...fields, rootEntry(current, false, w)];
    }
    const counter = w.counter;
    const shownLeaves = shown === null ? new Map<string, Json>() : flattenLeaves(shown);
    const next = flattenLeaves(value);
    const out: Entry[] = [rootEntry(current, true, w)];
    let changed = shown === null || fieldConflicts(new Map([[ROOT_PATH, groups.get(ROOT_PATH) ?? []]])).length > 0;
    for (const [path, v] of next) {
      const held = groups.get(path);
      if (held !== undefined && shownLeaves.has(path) && jsonEqual(shownLeaves.get(path) as Json, v)) {
        out.push(...held);
      } else {
        out.push({ counter, hlc: w.hlc, path, value: v });
        changed = true;
      }
    }
    // A field left out is removed by a stamped entry; one already removed keeps its entries. Of the
    // removals, the newest FIELD_REMOVALS_MAX are kept (by stamp, then path: deterministic).
    const removals: Array<{ path: string; entries: Entry[]; stamp: Entry['hlc'] }> = [];
    for (const [path, held] of groups) {
      if (path === ROOT_PATH || next.has(path)) continue;
      const newest = newestFirst(held)[0]!;
      if (isFieldRemoved(newest.value)) {
        removals.push({ path, entries: held, stamp: newest.hlc });
      } else {
        removals.push({ path, entries: [{ counter, hlc: w.hlc, path, value: FIELD_REMOVED }], stamp: w.hlc });
        changed = true;
      }
    }
    removals.sort((a, b) => compareHlc(b.stamp, a.stamp) || (a.path < b.path ? -1 : 1));
    for (const r of removals.slice(0, FIELD_REMOVALS_MAX)) out.push(...r.entries);
    if (removals.length > FIELD_REMOVALS_MAX) changed = true;
    return changed ? out : undefined;
  },
  deleted(record) {
    return !exists(byPath(record.entries));
  },
  view(record) {
    return viewOf(byPath(record.entries));
  },
  conflict(record, self) {
    const groups = byPath(record.entries);
    const fields = fieldConflicts(groups);
    if (fields.length === 0) return undefined;
    // The served side of a field is its newest entry; "local" is this member's own entry when held.
    const pick = (list: Entry[]): Entry => newestFirst(list.filter((e) => e.hlc.member === self))[0] ?? newestFirst(list)[0]!;
    const firstList = fields[0]![1];
    const local = pick(firstList);
    const all = fields.flatMap(([, list]) => list);
    const info: ConflictInfo = {
      key: record.key,
      strategy: 'Merge',
      local: fieldVersion(local),
      remote: newestFirst(firstList.filter((e) => e !== local)).map(fieldVersion),
      fields: fields.map(([path, list]) => ({
        path: path === ROOT_PATH ? [] : decodePath(path),
        versions: newestFirst(list).map(fieldVersion),
      })),
      detected: newestFirst(all)[0]!.hlc,
    };
    return info;
  },
  resolve(record, keep, w) {
    const groups = byPath(record.entries);
    const fields = fieldConflicts(groups);
    if (fields.length === 0) return undefined;
    const counter = w.counter;
    const out: Entry[] = [];
    const conflicted = new Set(fields.map(([p]) => p));
    for (const [path, list] of groups) {
      if (!conflicted.has(path)) {
        out.push(...list);
        continue;
      }
      const own = newestFirst(list.filter((e) => e.hlc.member === w.self));
      const others = newestFirst(list.filter((e) => e.hlc.member !== w.self));
      const chosen = keep === 'local' ? (own[0] ?? newestFirst(list)[0]!) : (others[0] ?? newestFirst(list)[0]!);
      out.push({ counter, hlc: w.hlc, path, value: chosen.value });
    }
    return out;
  },
};
