// Joining two replicas of a record. This is the multi-value-register join under a causal context
// (delta-state CRDTs, Almeida et al.): an entry survives if both sides hold it, or if the other side
// has not seen its write yet. An entry one side dropped after seeing it stays dropped. The result is
// commutative, associative and idempotent, so replicas that see the same writes in any order, with
// duplicates, end with the same bytes. The strategy's prune keeps that property (see each rule).
import { entryId, makeRecord, InvalidRecordError, type Entry, type StoredRecord } from './record.ts';
import type { ConflictRule } from './rules/conflict-rule.ts';
import { compareVv, mergeVv, vvCovers } from './version-vector.ts';

/** Join a held record (or none) with an incoming one for the same key. */
export function joinRecords(rule: ConflictRule, held: StoredRecord | undefined, incoming: StoredRecord): StoredRecord {
  if (held === undefined) {
    const kept = rule.prune(incoming.entries);
    // Nothing pruned: the incoming record is already canonical (validated), no need to rebuild it.
    return kept.length === incoming.entries.length ? incoming : makeRecord(incoming.key, incoming.vv, kept);
  }
  if (held.key !== incoming.key) throw new Error(`assertion: joining ${held.key} with ${incoming.key}`);
  const heldIds = new Set(held.entries.map(entryId));
  const incomingIds = new Set(incoming.entries.map(entryId));
  const out: Entry[] = [];
  for (const e of held.entries) {
    if (incomingIds.has(entryId(e)) || !vvCovers(incoming.vv, e.hlc.member, e.counter)) out.push(e);
  }
  for (const e of incoming.entries) {
    if (!heldIds.has(entryId(e)) && !vvCovers(held.vv, e.hlc.member, e.counter)) out.push(e);
  }
  const kept = rule.prune(out);
  // Only possible when a peer sends a record that contradicts its own history.
  if (kept.length === 0) throw new InvalidRecordError(`record ${held.key}: join leaves no version`);
  const vv = mergeVv(held.vv, incoming.vv);
  // The common case, a newer version replacing every held entry: the join is the incoming record
  // itself (same vv, the very same entries), already canonical and hashed (validated). An entry the
  // two share is kept as held, so any shared entry takes the general path.
  if (kept.length === incoming.entries.length && compareVv(vv, incoming.vv) === 'equal') {
    const mine = new Set(incoming.entries);
    if (kept.every((e) => mine.has(e))) return incoming;
  }
  return makeRecord(held.key, vv, kept);
}
