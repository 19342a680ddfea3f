// Agents.
//
// agent-failover: while an agent runs and some controller can exchange data with it, it is Connected
//   to such a controller, except for stretches no longer than its failover bound (start-up, a
//   failover, a failback). Time while no controller is reachable, or the agent is down or paused,
//   is not judged and ends any stretch. A controller whose link to the agent is slowed so that a
//   round trip can take the agent's health-check deadline or longer is not reachable for this rule:
//   by its configuration the agent counts a check answered that late as failed (seed 800418: a link
//   slowed to 122-244 ms each way, checks with a 200 ms deadline). But staying Connected to one whose
//   round trips straddle the deadline is not wrong either: most of its checks are answered in time, and
//   the agent fails over only after failureThreshold failures in a row (seed 1503839: x stayed on a,
//   slowed to 56-110 ms each way, 10.2 s). Only a controller no check can reach in time (the shortest
//   round trip at the deadline or beyond, or no data at all) must be left within the bound.
//   A controller some other controller has removed from the federation is not one to follow: the agent
//   learns the denial from its controllers' directory and refuses it, even while the removed one does
//   not know yet (seed 1862727: a, removed at 5.3 s, restarted at 12.8 s without knowing, having
//   learnt it from refusals the first time; x rightly stayed off it).
// agent-changes: within one incarnation (start) of an agent, the changes it applies have strictly
//   increasing seqs, and per key each record strictly follows the previous one causally: an equal
//   version vector is a change applied twice, an older or concurrent one is out of order.
import { compareVv } from '../../../storage/logic/version-vector.ts';
import { fmtMs, type History } from './history.ts';
import { badRuns, canExchange, entryAt, isLive, roundTripMaxMs, roundTripMinMs, segments, stateAt } from './truth.ts';
import type { Violation } from './violation.ts';
import { linkedAt, removedByOthersAt } from './removals.ts';


/** Each agent follows a reachable controller, but for stretches of at most `boundMs`. */
export function checkAgentFailover(h: History, boundMs: number, checkTimeoutMs = Infinity): Violation[] {
  const segBreaks = segments(h).map((s) => s.fromMs);
  const out: Violation[] = [];
  for (const agent of h.agents) {
    const mine = h.follows.filter((f) => f.agent === agent).sort((a, b) => a.atMs - b.atMs);
    // A controller that knows it was removed refuses agents (removals.ts): membership changes are breaks too.
    const breaks = [...segBreaks, ...mine.map((f) => f.atMs), ...(h.memberships ?? []).map((m) => m.atMs)];
    const reachable = (t: number): string[] => {
      const s = stateAt(h, t);
      return isLive(s, agent) ? h.controllers.filter((c) => canExchange(s, agent, c) && linkedAt(h, agent, c, t) && !removedByOthersAt(h, c, t) && roundTripMaxMs(s, agent, c) < checkTimeoutMs) : [];
    };
    // Some of the agent's checks of `c` can be answered in time.
    const usable = (t: number, c: string): boolean => {
      const s = stateAt(h, t);
      return isLive(s, agent) && canExchange(s, agent, c) && linkedAt(h, agent, c, t) && roundTripMinMs(s, agent, c) < checkTimeoutMs;
    };
    const bad = (t: number): boolean => {
      const r = reachable(t);
      if (r.length === 0) return false;
      const f = entryAt(mine, t);
      return f === undefined || f.state !== 'Connected' || f.controller === undefined || !(r.includes(f.controller) || usable(t, f.controller));
    };
    for (const run of badRuns(h.startMs, h.endMs, breaks, bad)) {
      if (run.toMs - run.fromMs <= boundMs) continue;
      const f = entryAt(mine, run.fromMs);
      const doing = f === undefined ? 'had not reported yet' : `was ${f.state}${f.controller === undefined ? '' : ` on ${f.controller}`}`;
      out.push({ checker: 'agent-failover', atMs: run.fromMs, node: agent,
        message: `${agent} ${doing} from ${fmtMs(run.fromMs)} for ${fmtMs(run.toMs - run.fromMs)}${run.toMs === h.endMs ? ' (still at the end)' : ''} ` +
          `though ${reachable(run.fromMs).join(', ')} could be reached (failover bound ${fmtMs(boundMs)})` });
    }
  }
  return out;
}

/** No agent applies a change twice or out of order. */
export function checkAgentChanges(h: History): Violation[] {
  const out: Violation[] = [];
  const lastSeq = new Map<string, number>();
  const lastByKey = new Map<string, { vv: Record<string, number>; seq: number; digest: string }>();
  for (const c of h.agentChanges) {
    const life = `${c.agent}\u0000${c.incarnation}`;
    const base = { checker: 'agent-changes', atMs: c.atMs, node: c.agent, key: c.key };
    const prevSeq = lastSeq.get(life);
    if (prevSeq !== undefined && c.seq <= prevSeq) out.push({ ...base, message: `${c.agent} applied seq ${c.seq} after seq ${prevSeq}` });
    lastSeq.set(life, Math.max(c.seq, prevSeq ?? -Infinity));
    const keyId = `${life}\u0000${c.key}`;
    const prev = lastByKey.get(keyId);
    if (prev !== undefined) {
      const order = compareVv(c.vv, prev.vv);
      if (order === 'equal') {
        out.push({ ...base, message: `${c.agent} applied ${c.key} twice: seq ${c.seq} repeats seq ${prev.seq}'s version${c.digest === prev.digest ? '' : ' (with another digest)'} (from ${c.controller ?? 'no controller'})` });
      } else if (order !== 'after') {
        out.push({ ...base, message: `${c.agent} applied ${c.key} out of order: seq ${c.seq} is ${order} seq ${prev.seq}'s version ${JSON.stringify(prev.vv)} (got ${JSON.stringify(c.vv)} from ${c.controller ?? 'no controller'})` });
      }
    }
    lastByKey.set(keyId, { vv: { ...c.vv }, seq: c.seq, digest: c.digest });
  }
  return out;
}
