// split-brain: two sides that cannot exchange data never both accept writes for longer than the
// bound (one contact window), and never both acknowledge quorum writes.
//
// "Accepts" is judged by what happened, not by what a node said: a write accepted at instant t on X
// is one that passed X's fence at t (it was acknowledged, or stored though it failed later). The fence
// decides when the call reaches the node: at the client's call, or when a paused node resumes.
//
// The rule checked is per node, and implies the two-sides property: a controller X may accept a
// write at t only if, within [t − bound, t], X could exchange data DIRECTLY (both ways, by the TRUE
// network: truth.ts) with enough controllers to make fenceQuorum with itself, each at some instant of
// that window (not necessarily the same one: the write fence counts a controller for one contact
// window after its last proof), and a minority may keep accepting for one contact window at most. Two
// nodes that both pass it within one window had overlapping majorities, so no two disjoint sides
// both accepted beyond the bound (a side that moves, e.g. a with c, then c with b, is no split).
// That no two sides both acknowledge quorum writes follows from quorum-writes (acked-writes.ts): a
// quorum ack needs the write to have been able to reach durabilityQuorum controllers while in flight.
// (Skipped when fenceQuorum is undefined: AgentAssisted, or writes not fenced.)
import type { History, WriteOp } from './history.ts';
import { fmtMs, storedAck } from './history.ts';
import { canExchange, isLive, segments, type Segment } from './truth.ts';
import type { Violation } from './violation.ts';

/** When the fence decided on `op`: its call, or the first instant after it its node was live. */
export function decisionMs(segs: readonly Segment[], op: Pick<WriteOp, 'node' | 'startMs'>): number {
  for (const s of segs) {
    if (s.toMs <= op.startMs) continue;
    if (isLive(s.state, op.node)) return Math.max(s.fromMs, op.startMs);
  }
  return op.startMs;
}

/** Segments overlapping [fromMs, toMs] (an instant counts: a segment ending at fromMs does not). */
function overlapping(segs: readonly Segment[], fromMs: number, toMs: number): Segment[] {
  return segs.filter((s) => s.toMs > fromMs && s.fromMs <= toMs);
}

/** Controllers `node` exchanges data with directly in `seg`, itself included (none when it is not live). */
function directContacts(seg: Segment, controllers: readonly string[], node: string): string[] {
  if (!isLive(seg.state, node)) return [];
  return [node, ...controllers.filter((c) => c !== node && canExchange(seg.state, node, c))];
}

/** How many controllers `node` exchanged data with directly at some instant of `segs`, itself included. */
function contactsWithin(segs: readonly Segment[], controllers: readonly string[], node: string): number {
  return new Set(segs.flatMap((s) => directContacts(s, controllers, node))).size;
}

/** No controller accepts a write beyond the bound without a direct majority within it. */
export function checkSplitBrain(h: History, boundMs: number): Violation[] {
  const fq = h.config.fenceQuorum;
  if (fq === undefined) return [];
  const segs = segments(h);
  const out: Violation[] = [];
  for (const op of h.writes) {
    if (storedAck(op) === undefined || !h.controllers.includes(op.node)) continue;
    const t = decisionMs(segs, op);
    const window = overlapping(segs, t - boundMs, t);
    const best = contactsWithin(window, h.controllers, op.node);
    // A window reaching back before the run's start is given the benefit of the doubt: runs start
    // from a formed federation.
    if (best < fq && t - boundMs >= h.startMs) {
      const since = [...segs].reverse().find((s) => s.fromMs <= t - boundMs && directContacts(s, h.controllers, op.node).length >= fq);
      out.push({
        checker: 'split-brain', atMs: t, node: op.node,
        message: `${op.node} accepted write #${op.id} (${op.key}) at ${fmtMs(t)}, but it could exchange data directly with at most ${best} of ` +
          `${h.controllers.length} controllers (itself included; quorum ${fq}) in the ${fmtMs(boundMs)} before` +
          `${since === undefined ? '' : `: without a majority since ${fmtMs(since.toMs)}`}, so another side may have been accepting too`,
      });
    }
  }
  return out;
}
