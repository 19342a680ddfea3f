// What became of each write in one node's final state: still there, superseded by a write that saw
// it, the loser of a concurrent write under LastWriterWins, or lost. The write checkers are built on
// this.
//
// A write is named by its dot (origin, origin's counter for the key) and its stamp. In a final record:
//  - present: an entry with its dot and stamp is held;
//  - superseded: a write that had seen it (its ack's version vector covers the dot, so its stamp is
//    higher: HLCs follow causality) was stored, and that write is itself not lost here;
//  - lww-loser: LastWriterWins only, the record's version vector covers the dot and the record's
//    winner has a higher stamp: a concurrent write won (the conflict rule says so);
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
  | { kind: 'lost'; why: string };

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
  readonly #memo = new Map<string, Fate>();
  readonly #strategy: History['config']['strategy'];

  constructor(h: Pick<History, 'writes' | 'config'>) {
    this.#strategy = h.config.strategy;
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
    return { kind: 'lost', why: `${state.node} saw it but holds neither it nor a write that replaced it` };
  }
}
