// The two things a replica does to a record, as pure functions shared by the LevelDB store and by
// in-memory replicas in tests: a local write, and the join of a record received from a peer.
import type { Json } from './canonical.ts';
import type { HybridClock, HlcStamp } from './hlc.ts';
import { joinRecords } from './join.ts';
import { makeRecord, newestEntry, type StoredRecord } from './record.ts';
import type { ConflictRule } from './rules/conflict-rule.ts';
import { compareVv, raiseVv, vvCount } from './version-vector.ts';

/** A local operation on one key. */
export type LocalOp =
  | { op: 'put'; value: { [key: string]: Json } }
  | { op: 'delete' }
  | { op: 'resolve'; keep: 'local' | 'remote' };

/** Result of a local operation: the new record, or undefined when nothing changes. */
export interface LocalOutcome {
  record: StoredRecord | undefined;
  hlc: HlcStamp;
}

/**
 * Build the record a local operation produces. The stamp exceeds every stamp in the record, whoever
 * wrote it, so "newer by causality" implies "newer by HLC" (LastWriterWins relies on it). The new
 * version vector covers everything held, so the write dominates what this member has seen.
 *
 * The write's counter (its dot, with the member) is above the member's counter in the held record
 * and above `counterFloor`: a counter this member may have handed to peers in a record it then lost
 * in a crash (sent before its own copy was durable) is at most the floor the store restarts with
 * (dot-reservation.ts), so no counter names two different writes of a key.
 * May throw the rule's errors (ConflictPendingError).
 */
export function localOp(
  rule: ConflictRule, clock: HybridClock, nowMs: number, key: string, current: StoredRecord | undefined, op: LocalOp,
  counterFloor = 0,
): LocalOutcome {
  // The held stamps were already accepted (checked for skew when they arrived), so they only raise
  // the clock here; a clock that stepped back since must not make our own data look "too far ahead".
  if (current !== undefined) clock.restore(newestEntry(current).hlc);
  const hlc = clock.now(nowMs);
  const counter = Math.max(current === undefined ? 0 : vvCount(current.vv, clock.member), counterFloor) + 1;
  const w = { self: clock.member, hlc, counter };
  let entries;
  switch (op.op) {
    case 'put': entries = rule.write(current, op.value, w); break;
    case 'delete': entries = rule.write(current, null, w); break;
    case 'resolve': entries = current === undefined ? undefined : rule.resolve(current, op.keep, w); break;
  }
  if (entries === undefined) return { record: undefined, hlc };
  return { record: makeRecord(key, raiseVv(current?.vv ?? {}, clock.member, counter), entries), hlc };
}

/** Result of joining a remote record. */
export interface RemoteOutcome {
  /** The joined record; equal (same digest) to the held one when nothing was new. */
  record: StoredRecord;
  changed: boolean;
  /** The incoming versions were concurrent with the held ones. */
  concurrent: boolean;
}

/**
 * Join a validated remote record into the held one. Observes its stamp first, so ClockSkewError is
 * thrown (and nothing changes) for a record stamped too far in the future.
 */
export function remoteJoin(
  rule: ConflictRule, clock: HybridClock, nowMs: number, current: StoredRecord | undefined, incoming: StoredRecord,
): RemoteOutcome {
  clock.receive(newestEntry(incoming).hlc, nowMs);
  const concurrent = current !== undefined && compareVv(current.vv, incoming.vv) === 'concurrent';
  const record = joinRecords(rule, current, incoming);
  return { record, changed: current === undefined || record.digest !== current.digest, concurrent };
}
