// What became of each write in one node's final state: still there, superseded by a write that saw
// it, the loser of a concurrent write under LastWriterWins, replaced by a write the history holds no
// ack of, or lost. The write checkers are built on this.
//
// A write is named by its dot (origin, origin's counter for the key) and its stamp. In a final record:
//  - present: an entry with its dot and stamp is held;
//  - superseded: a write that had seen it (its ack's version vector covers the dot, so its stamp is
//    higher: HLCs follow causality) was stored, and that write is itself not lost here;
//  - lww-loser: LastWriterWins only, the record's version vector covers the dot and the record's
//    winner has a higher stamp: a concurrent write won (the conflict rule says so);
//  - unrecorded-successor: the record saw the dot and holds a version whose write the history has no
//    ack of (a write that failed after it was stored, e.g. QUORUM_UNAVAILABLE, or that never got an
//    answer because its node crashed), that could have seen this one: its stamp is higher, and its
//    origin had a client write of the key that may have stored it and had not been answered before
//    this write began. Its causal past is unknown, so it is given the benefit of the doubt; without
//    this every write it replaced, and every write those replaced, would be reported lost. The
//    held versions no client write explains are violations of their own (unexplainedVersions);
//  - lost: no record, the record never saw the dot, or the dot is gone with nothing to account for it.
// Merge and Manual keep concurrent versions, so there only a write that saw it may replace one.
import { compareHlc } from '../../../storage/logic/hlc.ts';
import { newestEntry, type Entry } from '../../../storage/logic/record.ts';
import { vvCount } from '../../../storage/logic/version-vector.ts';
import { dotText, storedAck, type FinalState, type History, type WriteAck, type WriteOp } from './history.ts';

/** A write that reached a store, with its ack. */
export interface StoredWrite {
  op: WriteOp;
  ack: WriteAck;
}

/** What became of a write in one final state. */
export type Fate =
  | { kind: 'present' }
  | { kind: 'superseded'; by: StoredWrite }
  | { kind: 'lww-loser'; winner: Entry; winnerOp: StoredWrite | undefined }
  | { kind: 'unrecorded-successor'; entry: Entry; candidates: WriteOp[] }
  | { kind: 'lost'; why: string };

/**
 * Codes of a write that fails after its origin stored it (the write then replicates like any other):
 * the durability quorum was not reached in time, became unreachable while it waited, or refused it.
 */
export const FAILED_AFTER_STORE_CODES: readonly string[] = ['QUORUM_TIMEOUT', 'QUORUM_UNAVAILABLE', 'REFUSED_BY_PEERS'];

/**
 * True when `op` may have stored a version the history holds no ack of: it failed with a code that
 * can follow the store (and no stored ack was recorded), or it was never answered.
 */
export function mayHaveStoredUnrecorded(op: WriteOp): boolean {
  if (op.outcome.status === 'pending') return true;
  return op.outcome.status === 'error' && op.outcome.stored === undefined && FAILED_AFTER_STORE_CODES.includes(op.outcome.code);
}

/** Every write that reached a store and changed something (acknowledged, or stored though it failed). */
export function storedWrites(h: Pick<History, 'writes'>): StoredWrite[] {
  const out: StoredWrite[] = [];
  for (const op of h.writes) {
    const ack = storedAck(op);
    if (ack !== undefined && ack.changed) out.push({ op, ack });
  }
  return out;
}

/** Computes fates in one history, memoised per (node, write). */
export class FateJudge {
  readonly #byKey = new Map<string, StoredWrite[]>();
  readonly #byDot = new Map<string, StoredWrite>();
  // Key and origin -> the writes that may have stored a version without the history recording it.
  readonly #unrecorded = new Map<string, WriteOp[]>();
  readonly #memo = new Map<string, Fate>();
  readonly #strategy: History['config']['strategy'];
  readonly #endMs: number;

  constructor(h: Pick<History, 'writes' | 'config' | 'endMs'>) {
    this.#strategy = h.config.strategy;
    this.#endMs = h.endMs;
    for (const op of h.writes) {
      if (!mayHaveStoredUnrecorded(op)) continue;
      const id = `${op.key}\u0000${op.node}`;
      const list = this.#unrecorded.get(id);
      if (list === undefined) this.#unrecorded.set(id, [op]);
      else list.push(op);
    }
    for (const w of storedWrites(h)) {
      const list = this.#byKey.get(w.op.key);
      if (list === undefined) this.#byKey.set(w.op.key, [w]);
      else list.push(w);
      this.#byDot.set(`${w.op.key}\u0000${dotText(w.ack)}`, w);
    }
    // Successors are tried lowest stamp first, so the one named is deterministic.
    for (const list of this.#byKey.values()) list.sort((a, b) => compareHlc(a.ack.hlc, b.ack.hlc));
  }

  /** Fate of `w` in `state`. */
  fate(w: StoredWrite, state: FinalState): Fate {
    const memoKey = `${state.node}\u0000${w.op.id}`;
    const known = this.#memo.get(memoKey);
    if (known !== undefined) return known;
    const fate = this.#judge(w, state);
    this.#memo.set(memoKey, fate);
    return fate;
  }

  /** The stored write with this dot on this key, if recorded. */
  writeOf(key: string, e: Entry): StoredWrite | undefined {
    const w = this.#byDot.get(`${key}\u0000${e.hlc.member}:${e.counter}`);
    return w !== undefined && compareHlc(w.ack.hlc, e.hlc) === 0 ? w : undefined;
  }

  /** The stored write with this dot on this key whatever its stamp (a different stamp: the dot was reused). */
  writeOfDot(key: string, member: string, counter: number): StoredWrite | undefined {
    return this.#byDot.get(`${key}\u0000${member}:${counter}`);
  }

  /** The client writes of `key` on `origin` that may have stored a version the history holds no ack of. */
  unrecordedCandidates(key: string, origin: string): readonly WriteOp[] {
    return this.#unrecorded.get(`${key}\u0000${origin}`) ?? [];
  }

  #judge(w: StoredWrite, state: FinalState): Fate {
    const { key } = w.op;
    const { hlc, counter } = w.ack;
    const rec = Object.hasOwn(state.records, key) ? state.records[key] : undefined;
    if (rec === undefined) return { kind: 'lost', why: `${state.node} holds no record of the key` };
    if (rec.entries.some((e) => e.hlc.member === hlc.member && e.counter === counter && compareHlc(e.hlc, hlc) === 0)) return { kind: 'present' };
    if (vvCount(rec.vv, hlc.member) < counter) {
      return { kind: 'lost', why: `${state.node} never saw it (its version vector has ${hlc.member}:${vvCount(rec.vv, hlc.member)})` };
    }
    // Successors have strictly higher stamps, so the recursion ends.
    for (const s of this.#byKey.get(key) ?? []) {
      // (A write with the same dot is a reused counter, not a successor: local-writes reports it.)
      if (s === w || (s.ack.hlc.member === hlc.member && s.ack.counter === counter)) continue;
      if (compareHlc(s.ack.hlc, hlc) <= 0 || vvCount(s.ack.vv, hlc.member) < counter) continue;
      if (this.fate(s, state).kind !== 'lost') return { kind: 'superseded', by: s };
    }
    if (this.#strategy === 'LastWriterWins') {
      const winner = newestEntry(rec);
      if (compareHlc(winner.hlc, hlc) > 0) return { kind: 'lww-loser', winner, winnerOp: this.writeOf(key, winner) };
    }
    for (const e of rec.entries) {
      // A held version of a write the history has no ack of; a recorded dot is a recorded write (a
      // different stamp under it is a reused counter, which local-writes reports, never an excuse).
      if (this.writeOfDot(key, e.hlc.member, e.counter) !== undefined) continue;
      // It saw this write only if stamped after it, and (same origin) numbered after it.
      if (compareHlc(e.hlc, hlc) <= 0 || (e.hlc.member === hlc.member && e.counter <= counter)) continue;
      // ... and only if its client write was still unanswered when this one began.
      const candidates = this.unrecordedCandidates(key, e.hlc.member).filter((op) => (op.endMs ?? this.#endMs) >= w.op.startMs);
      if (candidates.length > 0) return { kind: 'unrecorded-successor', entry: e, candidates };
    }
    return { kind: 'lost', why: `${state.node} saw it but holds neither it nor a write that replaced it` };
  }
}
