// split-brain: two sides that cannot exchange data never both accept writes for longer than the
// bound (one contact window), and never both acknowledge quorum writes.
//
// "Accepts" is judged by what happened, not by what a node said: a write accepted at instant t on X
// is one that passed X's fence at t (it was acknowledged, or stored though it failed later). The fence
// decides when the call reaches the node: at the client's call, or when a paused node resumes.
//
// The rule checked is per node, and implies the two-sides property: a controller X may accept a
// write at t only if, within [t − bound, t], X could complete a DIRECT round trip (by the TRUE
// network: truth.ts roundTripDoneMs) with enough controllers to make fenceQuorum with itself: sent at
// or after t − bound, answer read by t, one per controller, not necessarily at the same time (the write
// fence counts a controller for one contact window after the sending of its last answered round
// trip). The two ways of a round trip need not be open at one instant: bytes held by a cut arrive when
// it heals (seed 1508059: a's ping reached b, b's answer was held by a one-way cut and arrived when it
// healed, the instant b was paused). So a minority may keep accepting for one contact window at most. Two
// nodes that both pass it within one window had overlapping majorities, so no two disjoint sides
// both accepted beyond the bound (a side that moves, e.g. a with c, then c with b, is no split).
// That no two sides both acknowledge quorum writes follows from quorum-writes (acked-writes.ts): a
// quorum ack needs the write to have been able to reach durabilityQuorum controllers while in flight.
// (Skipped when fenceQuorum is undefined: AgentAssisted, or writes not fenced.)
//
// Live membership: the controllers counted and the quorum are those of the node's own record at the
// instant (removals.ts votersAt: a majority of its voters, contacts with voters only; a learner may
// accept nothing). Records on different epochs may have voter sets whose majorities do not meet (two
// changes apart), so a run whose membership changed is also checked across nodes (checkVoterSides):
// two writes accepted on two controllers within PAIR_WINDOW_MS of each other must each have had
// round trips, within the bound, with voters that have at least one controller in common; disjoint
// sets are two sides that each believed it held a quorum.
//
// AgentAssisted weighs agents' vote leases, whose truth is the agents' grants (vote-leases.ts checks
// that counting stays inside them and that no agent's vote counts twice), so there the two-sides
// property is checked as stated: two controllers that accepted writes within PAIR_WINDOW_MS of each
// other, the earlier one staying live (not paused, not down) until the later write, could exchange
// data directly at some instant of the bound before one of the two (a stale view of the other
// controller lasts one contact window, as in Controllers mode), or could each exchange data with a
// third controller that is a voter of both their records (a region added live: the two sides then
// overlap in that voter, which each may count; a learner counts for neither).
import type { History, WriteOp } from './history.ts';
import { fmtMs, storedAck } from './history.ts';
import { canExchange, isLive, roundTripDoneMs, segments, type Segment } from './truth.ts';
import type { Violation } from './violation.ts';
import { knowsRemoved, linkedAt, votersAt } from './removals.ts';

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

/**
 * How many controllers `node` can have completed a direct round trip with (sent at or after `fromMs`,
 * answer read by `toMs`), itself included: what the write fence counts as contact
 * (quorum/controller-contacts.ts: a round trip over a direct link, dated by its sending). Each may
 * be a different round trip.
 */
function contactsWithin(segs: readonly Segment[], controllers: readonly string[], node: string, fromMs: number, toMs: number, linked: (z: string, atMs: number) => boolean, membershipChanges: readonly number[] = []): number {
  return contactSet(segs, controllers, node, fromMs, toMs, linked, membershipChanges).length;
}

/** The controllers of contactsWithin. */
function contactSet(segs: readonly Segment[], controllers: readonly string[], node: string, fromMs: number, toMs: number, linked: (z: string, atMs: number) => boolean, membershipChanges: readonly number[] = []): string[] {
  // Within one segment nothing changes, so the earliest sending in each is the best one; but who
  // admits whom may change within a segment (a record committed), so each such instant is a
  // sending to try too.
  const starts = overlapping(segs, fromMs, toMs).map((s) => Math.max(s.fromMs, fromMs));
  for (const at of membershipChanges) if (at > fromMs && at <= toMs) starts.push(at);
  // A round trip counts only if neither end refused the other when it was answered (a removal,
  // removals.ts): one answered before the peer learned of the removal still counts, for one window
  // like any contact; none can be answered after.
  const done = (z: string): boolean => z === node || starts.some((at) => {
    const doneMs = roundTripDoneMs(segs, node, z, at);
    return doneMs !== undefined && doneMs <= toMs && linked(z, doneMs);
  });
  return controllers.filter(done);
}

/**
 * Live membership in Controllers mode: two controllers that accepted writes within PAIR_WINDOW_MS of
 * each other had, each within the bound before its write, round trips with voters of its own record
 * that include a common controller (see the file comment).
 */
export function checkVoterSides(h: History, boundMs: number): Violation[] {
  if (h.config.fenceQuorum === undefined || (h.memberOps ?? []).length === 0) return [];
  const segs = segments(h);
  const changes = (h.memberships ?? []).map((m) => m.atMs);
  const accepted = h.writes
    .filter((op) => storedAck(op) !== undefined && h.controllers.includes(op.node))
    .map((op) => {
      const t = decisionMs(segs, op);
      const voters = votersAt(h, op.node, t) ?? h.controllers;
      const reached = voters.includes(op.node) ? contactSet(segs, voters, op.node, t - boundMs, t, (z, atMs) => linkedAt(h, op.node, z, atMs), changes) : [];
      return { op, t, reached: new Set(reached) };
    })
    .sort((a, b) => a.t - b.t);
  const out: Violation[] = [];
  for (let j = 0; j < accepted.length; j++) {
    const later = accepted[j]!;
    if (later.t - boundMs < h.startMs) continue;
    for (let i = j - 1; i >= 0 && later.t - accepted[i]!.t <= PAIR_WINDOW_MS; i--) {
      const earlier = accepted[i]!;
      if (earlier.op.node === later.op.node || [...earlier.reached].some((c) => later.reached.has(c))) continue;
      out.push({
        checker: 'split-brain', atMs: later.t, node: later.op.node,
        message: `${earlier.op.node} accepted write #${earlier.op.id} at ${fmtMs(earlier.t)} having reached ${[...earlier.reached].sort().join(', ')}, and ` +
          `${later.op.node} write #${later.op.id} (${later.op.key}) at ${fmtMs(later.t)} having reached ${[...later.reached].sort().join(', ')}: ` +
          'no controller in common, two sides each counted a quorum of its own voters',
      });
      break;
    }
  }
  return out;
}

/** No controller accepts a write beyond the bound without a direct majority within it. */
export function checkSplitBrain(h: History, boundMs: number): Violation[] {
  const fq = h.config.fenceQuorum;
  if (fq === undefined) return [];
  const segs = segments(h);
  const changes = (h.memberships ?? []).map((m) => m.atMs);
  const out: Violation[] = [];
  for (const op of h.writes) {
    if (storedAck(op) === undefined || !h.controllers.includes(op.node)) continue;
    const t = decisionMs(segs, op);
    const voters = votersAt(h, op.node, t);
    const counted = voters ?? h.controllers;
    const q = voters === undefined ? fq : Math.floor(voters.length / 2) + 1;
    const best = knowsRemoved(h, op.node, op.node, t) || !counted.includes(op.node) ? 0
      : contactsWithin(segs, counted, op.node, t - boundMs, t, (z, atMs) => linkedAt(h, op.node, z, atMs), changes);
    // A window reaching back before the run's start is given the benefit of the doubt: runs start
    // from a formed federation.
    if (best < q && t - boundMs >= h.startMs) {
      const since = [...segs].reverse().find((s) => s.fromMs <= t - boundMs && directContacts(s, h.controllers, op.node).length >= fq);
      out.push({
        checker: 'split-brain', atMs: t, node: op.node,
        message: `${op.node} accepted write #${op.id} (${op.key}) at ${fmtMs(t)}, but it could exchange data directly with at most ${best} of ` +
          `${counted.length} ${voters === undefined ? 'controllers' : `voters of its record (${counted.join(', ')})`} (itself included; quorum ${q}) in the ${fmtMs(boundMs)} before` +
          `${since === undefined ? '' : `: without a majority since ${fmtMs(since.toMs)}`}, so another side may have been accepting too`,
      });
    }
  }
  return out;
}

/** Writes on two controllers this close in time count as accepted at once. */
export const PAIR_WINDOW_MS = 1_000;

/** AgentAssisted: no two controllers that could not exchange data both accept writes at once beyond the bound. */
export function checkTwoSides(h: History, boundMs: number): Violation[] {
  if (h.config.quorumMode !== 'AgentAssisted' || h.config.fenceWrites === false) return [];
  const segs = segments(h);
  const accepted = h.writes
    .filter((op) => storedAck(op) !== undefined && h.controllers.includes(op.node))
    .map((op) => ({ op, t: decisionMs(segs, op) }))
    .sort((a, b) => a.t - b.t);
  const out: Violation[] = [];
  const reported = new Set<string>();
  for (let j = 0; j < accepted.length; j++) {
    const later = accepted[j]!;
    if (later.t - boundMs < h.startMs) continue; // runs start from a formed federation
    for (let i = j - 1; i >= 0 && later.t - accepted[i]!.t <= PAIR_WINDOW_MS; i--) {
      const earlier = accepted[i]!;
      const [x, y] = [earlier.op.node, later.op.node];
      if (x === y) continue;
      // "At once": the earlier one could have gone on accepting until the later write (it stayed live).
      if (overlapping(segs, earlier.t, later.t).some((s) => !isLive(s.state, x))) continue;
      // Either one may have had a stale view of the other for the bound: only both beyond it is a split.
      const exchangedWithin = (p: string, q: string, t: number): boolean =>
        overlapping(segs, t - boundMs, t).some((s) => isLive(s.state, p) && isLive(s.state, q) && canExchange(s.state, p, q)
          && (linkedAt(h, p, q, Math.max(s.fromMs, t - boundMs)) || linkedAt(h, p, q, Math.min(s.toMs, t))));
      const exchanged = (p: string, q: string): boolean => exchangedWithin(p, q, later.t) || exchangedWithin(p, q, earlier.t);
      if (exchanged(x, y)) continue;
      // With three controllers or more (a region added), a voter of both that each could exchange data
      // with makes the two sides overlap: each may count it (a cut between two controllers only).
      const votersX = votersAt(h, x, earlier.t) ?? h.controllers;
      const votersY = votersAt(h, y, later.t) ?? h.controllers;
      if (votersX.some((z) => z !== x && z !== y && votersY.includes(z) && exchanged(x, z) && exchanged(z, y))) continue;
      const pair = [x, y].sort().join('|');
      if (reported.has(`${pair}@${later.op.id}`)) continue;
      reported.add(`${pair}@${later.op.id}`);
      out.push({
        checker: 'split-brain', atMs: later.t, node: y,
        message: `${x} accepted write #${earlier.op.id} at ${fmtMs(earlier.t)} and ${y} write #${later.op.id} (${later.op.key}) at ${fmtMs(later.t)}, ` +
          `but they could not exchange data directly at any instant of the ${fmtMs(boundMs)} before either: two sides accepted at once`,
      });
    }
  }
  return out;
}
