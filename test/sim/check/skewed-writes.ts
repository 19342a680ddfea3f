// skewed-writes: a controller whose wall clock is clearly off its side's does not keep accepting
// writes (they would carry stamps that reorder last-writer-wins): once its clock has been off for
// longer than the bound (the time the clock probes need to notice), it is fenced (CLOCK_SKEW). Its
// own clock's steps show at once, another's at that one's next probe: the bound runs from the later
// of the moment it became clearly off and the last clock change (or restart) of another side member.
//
// "Clearly off": its offset from true time differs from the median offset of the controllers on its
// side (itself included) by more than 1.5 × maxClockOffset. Between 0.5 × and 1.5 × is the
// measuring error's grey zone, where fencing and accepting are both right (fence-truth treats up to
// 0.5 × as clearly agreeing). Not judged: an AgentAssisted side of two controllers, where no third
// controller clock says which one is off and the agents' clocks decide (they are clock witnesses;
// lww-real-time judges what the writes did).
//
// Who is on its side changes with the network, but a node learns it only when its contacts with the
// members that left lapse (one contact window: the split-brain bound): until then it may still count
// a departed member whose clock agreed with its own. So a write within that window of the node's last
// side change is not judged against the new side (simulation seed 601780: c, correct, un-fenced on a's
// clock 0.3 s after a silent cut left it with b, 3.8 s ahead, and fenced again 0.3 s later).
//
// The offsets are those of the STAMPS each node issues (truth.ts stampOffsetAt), as the fence
// compares them (docs/configuration.md "Clock skew"): the hybrid clock never runs backward, so a clock
// set back stamps at the height it had reached until real time passes it, and stamps received from
// others can pull it ahead. The history records that height whenever it rises above the node's own
// clock, and at each restart (restored from disk). And a write is judged by its own stamp too when the
// run recorded the epoch (config.epochMs): a write whose stamp is not clearly off its side's cannot
// reorder last-writer-wins beyond the grey zone.
import { fmtMs, storedAck, type History } from './history.ts';
import { decisionMs } from './split-brain.ts';
import { segments, sideOf, stampOffsetAt, stateAt, type Segment } from './truth.ts';
import type { Violation } from './violation.ts';
import { linkedAt, votersAt } from './removals.ts';

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/**
 * How far `node`'s stamps are from its side's median at `atMs` (ownMs: its own offset, if known
 * better), and who that side is: the controllers it can exchange data with that it counts, under
 * live membership the voters of its record that it does not refuse (removals.ts; seed 1863466: b,
 * 4.7 s ahead, rightly accepted with c, whose stamps stood still at 5.2 s, and d, 2 of the 3 voters
 * left once a was removed; a's clock is not b's side's any more).
 */
export function skewFromSide(h: History, node: string, atMs: number, ownMs?: number): { skewMs: number; side: string[] } {
  const voters = votersAt(h, node, atMs);
  const side = sideOf(stateAt(h, atMs), h.controllers, node)
    .filter((c) => c === node || (linkedAt(h, node, c, atMs) && (voters === undefined || voters.includes(c))));
  const offsets = side.map((c) => stampOffsetAt(h, c, atMs));
  return { skewMs: (ownMs ?? stampOffsetAt(h, node, atMs)) - median(offsets), side };
}

/** Points a stamp offset may cross the limit between clock changes: a clock set back falls behind gradually. */
const GRID_MS = 10;

/** When `node`'s side (the controllers it can exchange data with) last changed at or before `atMs`; undefined if never. */
export function sideChangedAtMs(h: History, segs: readonly Segment[], node: string, atMs: number): number | undefined {
  let changed: number | undefined;
  for (let i = 1; i < segs.length && segs[i]!.fromMs <= atMs; i++) {
    const before = sideOf(segs[i - 1]!.state, h.controllers, node).join(',');
    if (sideOf(segs[i]!.state, h.controllers, node).join(',') !== before) changed = segs[i]!.fromMs;
  }
  return changed;
}

/**
 * No write is accepted by a controller whose clock has been clearly off its side's for longer than
 * `boundMs`, nor off its side of `sideChangeBoundMs` ago (a contact window) for longer than that.
 */
export function checkSkewedWrites(h: History, boundMs: number, sideChangeBoundMs = boundMs): Violation[] {
  const limit = 1.5 * h.config.maxClockOffsetMs;
  const segs = segments(h);
  const changes = [...new Set([h.startMs, ...segs.map((s) => s.fromMs), ...h.clocks.map((c) => c.atMs)])].sort((a, b) => a - b);
  const off = (node: string, t: number): boolean => Math.abs(skewFromSide(h, node, t).skewMs) > limit;
  const epochMs = h.config.epochMs;
  const out: Violation[] = [];
  for (const op of h.writes) {
    if (storedAck(op) === undefined) continue;
    const t = decisionMs(segs, op);
    if (!off(op.node, t)) continue;
    const sideChanged = sideChangedAtMs(h, segs, op.node, t);
    if (sideChanged !== undefined && t - sideChanged <= sideChangeBoundMs) continue;
    // AgentAssisted with two controllers on the side: no third controller clock says which one is off;
    // the agents' clocks decide (docs/configuration.md "Clock skew"). The side counted as the fence
    // counts it (a joiner still a learner is no third clock: seed 1890161).
    if (h.config.quorumMode === 'AgentAssisted' && skewFromSide(h, op.node, t).side.length === 2) continue;
    const ack = storedAck(op)!;
    // Its own stamp, when it can be read against true time, must be clearly off too.
    const ownMs = epochMs === undefined || !ack.changed || ack.hlc.member !== op.node ? undefined : ack.hlc.wallMs - (epochMs + t);
    if (ownMs !== undefined && Math.abs(skewFromSide(h, op.node, t, ownMs).skewMs) <= limit) continue;
    // Since when has it been off, without a break? (Every change, and a grid between them.)
    const points = [...new Set([...changes.filter((c) => c <= t), ...Array.from({ length: Math.ceil(boundMs / GRID_MS) + 2 }, (_, i) => t - i * GRID_MS)])]
      .filter((p) => p >= h.startMs).sort((a, b) => b - a);
    let since = t;
    let before: number | undefined;
    for (const p of points) {
      if (!off(op.node, p)) {
        before = p;
        break;
      }
      since = p;
    }
    if (t - since <= boundMs) continue;
    // Between the last point it was not off and the first it was: where it crossed, to 1 ms.
    for (let lo = before ?? since; since - lo > 1;) {
      const mid = (lo + since) / 2;
      if (off(op.node, mid)) since = mid;
      else lo = mid;
    }
    // A change of another side member's clock (or its restart) shows at that member's next probe: the
    // bound runs from the last one too.
    const { skewMs, side } = skewFromSide(h, op.node, t, ownMs);
    const peers = side.filter((c) => c !== op.node);
    for (const c of [...h.clocks, ...h.starts]) if (c.atMs <= t && peers.includes(c.node)) since = Math.max(since, c.atMs);
    if (t - since <= boundMs) continue;
    out.push({ checker: 'skewed-writes', atMs: t, node: op.node, key: op.key,
      message: `${op.node} accepted write #${op.id} at ${fmtMs(t)} though its clock had been ${fmtMs(Math.abs(skewMs))} ${skewMs > 0 ? 'ahead of' : 'behind'} ` +
        `its side's (${side.join(', ')}) since ${fmtMs(since)} (maxClockOffset ${h.config.maxClockOffsetMs} ms, bound ${fmtMs(boundMs)})` });
  }
  return out;
}
