// What nodes say agrees with the truth.
//
// fence-truth: a controller that, by the TRUE network, can exchange data DIRECTLY (both ways) with
//   fenceQuorum controllers (itself included) whose stamps agree with its own (its own not standing
//   still above its clock; within
//   maxClockOffset/2, clear of the fence's measuring error) is not fenced for longer than the bound
//   (a majority must not fence itself because of another member's cut, and must un-fence soon after
//   a heal). Directly, as the fence counts (quorum/controller-contacts.ts: relayed traffic proves
//   nothing): a controller joined to a majority only through chains of others (a–b and b–d up, a–c,
//   a–d, a–e cut) may stay fenced; replication still relays its data, but its own writes wait for
//   direct contact. Needs RunConfig.fenceQuorum and the fence timeline; time before a controller's
//   first fence entry is not judged.
// status-truth: once the run has been healed for the settle bound, the final status of every running
//   controller shows writes accepted, no Confirmed partition (when every controller runs, or while it
//   holds quorum), every
//   running peer Healthy and its sync lag within the bound; every running agent is Connected to a
//   running controller; and the metrics, when recorded, say the same.
import { fmtMs, type History } from './history.ts';
import { badRuns, canExchange, clockOffsetAt, entryAt, healedAtMs, isLive, segments, stampOffsetAt, stateAt } from './truth.ts';
import type { Violation } from './violation.ts';
import { knowsRemoved, linkedAt, recordAt, votersAt } from './removals.ts';


/**
 * Controllers `node` can exchange data with directly at `atMs` (itself included) whose stamps agree
 * clearly with its own: the ones its fence can count. Stamps, as the fence compares them
 * (stampOffsetAt: a clock that was set back stamps at the height it reached until real time passes
 * it); and none while `node`'s own stamps stand clearly above its clock (it fences itself then:
 * quorum/clock-skew.ts stampsStandingStillMs).
 */
export function healthySide(h: History, node: string, atMs: number): string[] {
  const s = stateAt(h, atMs);
  if (!isLive(s, node)) return [];
  const margin = h.config.maxClockOffsetMs / 2;
  const own = stampOffsetAt(h, node, atMs);
  if (own - clockOffsetAt(h.clocks, node, atMs) > margin) return [];
  // A removed controller (or one a removal cut off) counts no one, as the fence does (removals.ts).
  if (knowsRemoved(h, node, node, atMs)) return [];
  // Live membership: only the voters of its record count, and only peers on its epoch or an older
  // one (the count rule); a learner counts no one.
  const mine = recordAt(h, node, atMs);
  const voters = mine?.voters;
  if (voters !== undefined && !voters.includes(node)) return [];
  const countable = (c: string): boolean => voters === undefined || (voters.includes(c) && (recordAt(h, c, atMs)?.epoch ?? 0) <= mine!.epoch);
  return h.controllers.filter((c) => (c === node || (canExchange(s, node, c) && linkedAt(h, node, c, atMs) && countable(c))) && Math.abs(stampOffsetAt(h, c, atMs) - own) <= margin);
}

/** The votes `node` needs at `atMs`: a majority of its record's voters, or the run's fenceQuorum. */
function quorumAt(h: History, node: string, atMs: number): number | undefined {
  const voters = votersAt(h, node, atMs);
  return voters === undefined ? h.config.fenceQuorum : Math.floor(voters.length / 2) + 1;
}

/** Moments a controller's standing stamps are passed by real time (less the margin, and exactly): when healthySide can change by itself. */
function stampBreaks(h: History): number[] {
  const margin = h.config.maxClockOffsetMs / 2;
  return [...h.starts, ...h.stamps].flatMap((x) => [x.atMs + x.hlcOffsetMs - margin, x.atMs + x.hlcOffsetMs]);
}

/** No controller stays fenced longer than `boundMs` while on a healthy majority. */
export function checkFenceTruth(h: History, boundMs: number): Violation[] {
  const q = h.config.fenceQuorum;
  if (q === undefined) return [];
  const segBreaks = segments(h).map((s) => s.fromMs);
  const out: Violation[] = [];
  for (const node of h.controllers) {
    const mine = h.fences.filter((f) => f.node === node).sort((a, b) => a.atMs - b.atMs);
    const breaks = [...segBreaks, ...h.clocks.map((c) => c.atMs), ...stampBreaks(h), ...mine.map((f) => f.atMs), ...(h.memberships ?? []).map((m) => m.atMs)];
    const bad = (t: number): boolean => entryAt(mine, t)?.fenced === true && healthySide(h, node, t).length >= (quorumAt(h, node, t) ?? q);
    for (const run of badRuns(h.startMs, h.endMs, breaks, bad)) {
      if (run.toMs - run.fromMs <= boundMs) continue;
      const f = entryAt(mine, run.fromMs)!;
      const open = run.toMs === h.endMs ? ' (still at the end)' : '';
      out.push({ checker: 'fence-truth', atMs: run.fromMs, node,
        message: `${node} was fenced (${f.reason ?? 'no reason'}, ${f.votes}/${f.total} votes) for ${fmtMs(run.toMs - run.fromMs)} from ${fmtMs(run.fromMs)}${open} ` +
          `while it and ${healthySide(h, node, run.fromMs).filter((c) => c !== node).join(', ')} formed a healthy majority (bound ${fmtMs(boundMs)})` });
    }
  }
  return out;
}

/** Bounds of the status check. */
export interface StatusBounds {
  /** Time after the heal before status must agree with the truth. */
  settleMs: number;
  /** Largest sync lag status may show then. */
  syncLagMs: number;
}

/** The final status and metrics agree with the truth, once healed for `settleMs`. */
export function checkStatusTruth(h: History, b: StatusBounds): Violation[] {
  const healed = healedAtMs(h);
  if (healed === undefined || h.endMs - healed < b.settleMs) return [];
  const s = stateAt(h, h.endMs);
  const live = (n: string): boolean => isLive(s, n);
  const allControllersUp = h.controllers.every(live);
  const out: Violation[] = [];
  const v = (node: string, message: string): void => { out.push({ checker: 'status-truth', atMs: h.endMs, node, message: `${message} (healed since ${fmtMs(healed)})` }); };
  for (const [node, fs] of Object.entries(h.finalStatus).sort(([a], [b2]) => (a < b2 ? -1 : 1))) {
    const m = fs.metrics;
    if (fs.role === 'controller') {
      const qs = fs.status.quorum;
      const q = quorumAt(h, node, h.endMs);
      if (qs.writesFenced && h.config.fenceQuorum !== undefined && q !== undefined && healthySide(h, node, h.endMs).length >= q) {
        v(node, `status shows writes fenced (${qs.fenceReason}, ${qs.ourVotes}/${qs.totalVotes} votes) on a healthy majority`);
      }
      // A partition is quorum lost (quorum/partition-phase.ts): never Confirmed while holding quorum,
      // whether or not a member is down (a healthy majority missing a peer is Degraded).
      const confirmedWhy = allControllersUp ? 'with every controller up and connected' : qs.haveQuorum ? 'while holding quorum' : undefined;
      if (confirmedWhy !== undefined && qs.partitionState === 'Confirmed') v(node, `status shows a Confirmed partition (phase ${qs.phase}) ${confirmedWhy}`);
      if (confirmedWhy !== undefined && m !== undefined && (m['novaedge_federation_partition_state{state="confirmed"}'] ?? 0) !== 0) {
        v(node, `metric novaedge_federation_partition_state{state="confirmed"} is set ${confirmedWhy}`);
      }
      for (const row of fs.status.members) {
        if (row.status === 'Local' || !live(row.name)) continue;
        if (row.status !== 'Healthy') v(node, `status shows ${row.name} ${row.status}, but it runs and is connected`);
        if (row.syncLagMs !== undefined && row.syncLagMs > b.syncLagMs) v(node, `status shows sync lag ${row.syncLagMs} ms to ${row.name}, more than ${b.syncLagMs} ms`);
        if (m !== undefined) {
          const healthy = m[`novaedge_federation_member_healthy{member="${row.name}"}`];
          if (healthy !== undefined && healthy !== 1) v(node, `metric novaedge_federation_member_healthy{member="${row.name}"} is ${healthy}, but it runs and is connected`);
          const lag = m[`novaedge_federation_sync_lag_seconds{peer="${row.name}"}`];
          if (lag !== undefined && lag * 1000 > b.syncLagMs) v(node, `metric novaedge_federation_sync_lag_seconds{peer="${row.name}"} is ${lag}, more than ${b.syncLagMs} ms`);
        }
      }
    } else {
      const st = fs.status;
      if (st.state !== 'Connected') v(node, `agent is ${st.state}, not Connected`);
      else if (st.controller === undefined || !h.controllers.includes(st.controller) || !live(st.controller)) v(node, `agent follows ${st.controller ?? 'nobody'}, not a running controller`);
    }
  }
  return out;
}
