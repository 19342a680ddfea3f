// skewed-writes: a controller whose wall clock is clearly off its side's does not keep accepting
// writes (they would carry stamps that reorder last-writer-wins): once its clock has been off for
// longer than the bound (the time the clock probes need to notice), it is fenced (CLOCK_SKEW).
//
// "Clearly off": its offset from true time differs from the median offset of the controllers on its
// side (itself included) by more than 1.5 × maxClockOffset. Between 0.5 × and 1.5 × is the
// measuring error's grey zone, where fencing and accepting are both right (fence-truth treats up to
// 0.5 × as clearly agreeing).
import { fmtMs, storedAck, type History } from './history.ts';
import { decisionMs } from './split-brain.ts';
import { clockOffsetAt, segments, sideOf, stateAt } from './truth.ts';
import type { Violation } from './violation.ts';

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** How far `node`'s clock is from its side's median at `atMs`, and who that side is. */
export function skewFromSide(h: History, node: string, atMs: number): { skewMs: number; side: string[] } {
  const side = sideOf(stateAt(h, atMs), h.controllers, node);
  const offsets = side.map((c) => clockOffsetAt(h.clocks, c, atMs));
  return { skewMs: clockOffsetAt(h.clocks, node, atMs) - median(offsets), side };
}

/** No write is accepted by a controller whose clock has been clearly off its side's for longer than `boundMs`. */
export function checkSkewedWrites(h: History, boundMs: number): Violation[] {
  const limit = 1.5 * h.config.maxClockOffsetMs;
  const segs = segments(h);
  const changes = [...new Set([h.startMs, ...segs.map((s) => s.fromMs), ...h.clocks.map((c) => c.atMs)])].sort((a, b) => a - b);
  const off = (node: string, t: number): boolean => Math.abs(skewFromSide(h, node, t).skewMs) > limit;
  const out: Violation[] = [];
  for (const op of h.writes) {
    if (storedAck(op) === undefined) continue;
    const t = decisionMs(segs, op);
    if (!off(op.node, t)) continue;
    // Since when has it been off, without a break?
    let since = t;
    for (const p of changes.filter((c) => c <= t).reverse()) {
      if (!off(op.node, p)) break;
      since = p;
    }
    if (t - since <= boundMs) continue;
    const { skewMs, side } = skewFromSide(h, op.node, t);
    out.push({ checker: 'skewed-writes', atMs: t, node: op.node, key: op.key,
      message: `${op.node} accepted write #${op.id} at ${fmtMs(t)} though its clock had been ${fmtMs(Math.abs(skewMs))} ${skewMs > 0 ? 'ahead of' : 'behind'} ` +
        `its side's (${side.join(', ')}) since ${fmtMs(since)} (maxClockOffset ${h.config.maxClockOffsetMs} ms, bound ${fmtMs(boundMs)})` });
  }
  return out;
}
