// split-brain: two sides that cannot exchange data never both accept writes for longer than the
// bound (one contact window), and never both acknowledge quorum writes.
//
// "Accepts" is judged by what happened, not by what a node said: a write accepted at instant t on X
// is one that passed X's fence at t (it was acknowledged, or stored though it failed later). The fence
// decides when the call reaches the node: at the client's call, or when a paused node resumes.
// Sides come from the TRUE network (truth.ts): X and Y are split while no chain of controllers that
// can exchange data links them. For each pair split over [p, q): if both accepted writes after
// p + bound, both sides kept accepting past the bound; if both acknowledged a quorum write that began
// and ended within [p, q), two majorities existed at once.
import type { History, WriteOp } from './history.ts';
import { fmtMs, storedAck } from './history.ts';
import { isLive, segments, sides, type Segment } from './truth.ts';
import type { Violation } from './violation.ts';

/** When the fence decided on `op`: its call, or the first instant after it its node was live. */
export function decisionMs(segs: readonly Segment[], op: Pick<WriteOp, 'node' | 'startMs'>): number {
  for (const s of segs) {
    if (s.toMs <= op.startMs) continue;
    if (isLive(s.state, op.node)) return Math.max(s.fromMs, op.startMs);
  }
  return op.startMs;
}

interface Acceptance {
  op: WriteOp;
  atMs: number;
}

/** Split episodes of controllers x and y: maximal stretches in which they are on different sides. */
function episodes(segs: readonly Segment[], sidesOf: ReadonlyArray<string[][]>, x: string, y: string): Array<{ fromMs: number; toMs: number; cause: string }> {
  const out: Array<{ fromMs: number; toMs: number; cause: string }> = [];
  for (let i = 0; i < segs.length; i++) {
    const seg = segs[i]!;
    const split = !sidesOf[i]!.some((side) => side.includes(x) && side.includes(y));
    if (!split) continue;
    const last = out[out.length - 1];
    if (last !== undefined && last.toMs === seg.fromMs) last.toMs = seg.toMs;
    else out.push({ fromMs: seg.fromMs, toMs: seg.toMs, cause: seg.state.cause });
  }
  return out;
}

/** Two sides never both accept writes for longer than `boundMs`, nor both acknowledge quorum writes. */
export function checkSplitBrain(h: History, boundMs: number): Violation[] {
  const segs = segments(h);
  const sidesOf = segs.map((s) => sides(s.state, h.controllers));
  const accepted = new Map<string, Acceptance[]>();
  for (const op of h.writes) {
    if (storedAck(op) === undefined) continue;
    const list = accepted.get(op.node) ?? [];
    list.push({ op, atMs: decisionMs(segs, op) });
    accepted.set(op.node, list);
  }
  const out: Violation[] = [];
  const cs = [...h.controllers].sort();
  for (let i = 0; i < cs.length; i++) {
    for (let j = i + 1; j < cs.length; j++) {
      const x = cs[i]!;
      const y = cs[j]!;
      for (const ep of episodes(segs, sidesOf, x, y)) {
        // The last stretch includes the run's last instant (the checkers may run right after a write).
        const before = (t: number): boolean => t < ep.toMs || (ep.toMs === h.endMs && t === h.endMs);
        const during = (n: string): Acceptance[] => (accepted.get(n) ?? []).filter((a) => a.atMs >= ep.fromMs && before(a.atMs));
        const ax = during(x);
        const ay = during(y);
        if (ax.length === 0 || ay.length === 0) continue;
        const lastX = ax.reduce((a, b) => (b.atMs > a.atMs ? b : a));
        const lastY = ay.reduce((a, b) => (b.atMs > a.atMs ? b : a));
        const limit = ep.fromMs + boundMs;
        if (lastX.atMs > limit && lastY.atMs > limit) {
          out.push({
            checker: 'split-brain', atMs: Math.min(lastX.atMs, lastY.atMs), node: `${x},${y}`,
            message: `${x} and ${y} could not exchange data from ${fmtMs(ep.fromMs)} (${ep.cause}) to ${fmtMs(ep.toMs)}, yet both accepted writes more than ${fmtMs(boundMs)} into it: ` +
              `${x} #${lastX.op.id} (${lastX.op.key}) at ${fmtMs(lastX.atMs)}, ${y} #${lastY.op.id} (${lastY.op.key}) at ${fmtMs(lastY.atMs)}`,
          });
        }
        const quorumAcks = (list: Acceptance[]): Acceptance[] => list.filter((a) => a.op.durability === 'quorum' && a.op.outcome.status === 'ok' &&
          a.op.endMs !== undefined && before(a.op.endMs));
        const qx = quorumAcks(ax);
        const qy = quorumAcks(ay);
        if (qx.length > 0 && qy.length > 0) {
          const a = qx[0]!;
          const b = qy[0]!;
          out.push({
            checker: 'split-brain', atMs: Math.max(a.op.endMs!, b.op.endMs!), node: `${x},${y}`,
            message: `${x} and ${y} could not exchange data from ${fmtMs(ep.fromMs)} (${ep.cause}) to ${fmtMs(ep.toMs)}, yet both acknowledged quorum writes: ` +
              `${x} #${a.op.id} (${a.op.key}) at ${fmtMs(a.op.endMs!)}, ${y} #${b.op.id} (${b.op.key}) at ${fmtMs(b.op.endMs!)}`,
          });
        }
      }
    }
  }
  return out;
}
