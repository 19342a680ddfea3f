// Manual: concurrent versions are kept as siblings until an operator resolves them. Each member serves
// its own side (its own sibling, else the newest). Local writes to a key with siblings are refused:
// the operator resolves first, so nobody overwrites a conflict without seeing it.
import type { ConflictRule } from './conflict-rule.ts';
import { versionOf } from './conflict-rule.ts';
import { newestFirst, servedEntry, wholeValueWrite } from './whole-value.ts';

/** A write to a key with an unresolved Manual conflict; stable code CONFLICT. */
export class ConflictPendingError extends Error {
  readonly code = 'CONFLICT';
  readonly key: string;
  constructor(key: string) {
    super(`${key} has an unresolved conflict: resolve it with --keep local|remote first`);
    this.key = key;
  }
}

export const manual: ConflictRule = {
  name: 'Manual',
  prune(entries) {
    return entries;
  },
  write(current, value, w) {
    if (current !== undefined && current.entries.length > 1) throw new ConflictPendingError(current.key);
    const served = current === undefined ? undefined : manual.view(current, w.self);
    return wholeValueWrite(current, value, w, served);
  },
  deleted(record) {
    return record.entries.every((e) => e.value === null);
  },
  view(record, self) {
    return servedEntry(record, self).value as ReturnType<ConflictRule['view']>;
  },
  served: servedEntry,
  conflict(record, self) {
    if (record.entries.length < 2) return undefined;
    const local = servedEntry(record, self);
    const remote = newestFirst(record.entries.filter((e) => e !== local));
    const detected = newestFirst(record.entries)[0]!.hlc;
    return { key: record.key, strategy: 'Manual', local: versionOf(local), remote: remote.map(versionOf), detected };
  },
  resolve(record, keep, w) {
    const c = manual.conflict(record, w.self);
    if (c === undefined) return undefined;
    const chosen = keep === 'local' ? c.local : c.remote[0]!;
    // The new version's vv covers every sibling (the store increments vv over the record's own), so
    // it dominates both sides on every replica.
    return [{ counter: w.counter, hlc: w.hlc, value: chosen.value }];
  },
};
