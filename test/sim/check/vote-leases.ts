// vote-leases: an agent's vote never counts for two controllers at once.
//  - the intervals in which two different controllers counted the same agent never overlap;
//  - the agent never holds leases granted to two different controllers at once;
//  - a controller counts an agent only inside a lease that agent granted it (counting is never
//    ahead of, or longer than, the grant).
// Intervals are half-open [fromMs, untilMs) in virtual time.
import { fmtMs, type History, type LeaseInterval } from './history.ts';
import type { Violation } from './violation.ts';

function overlap(a: LeaseInterval, b: LeaseInterval): { fromMs: number; untilMs: number } | undefined {
  const fromMs = Math.max(a.fromMs, b.fromMs);
  const untilMs = Math.min(a.untilMs, b.untilMs);
  return fromMs < untilMs ? { fromMs, untilMs } : undefined;
}

/** Merge a list of intervals into disjoint ones, sorted. */
function union(list: readonly LeaseInterval[]): Array<{ fromMs: number; untilMs: number }> {
  const out: Array<{ fromMs: number; untilMs: number }> = [];
  for (const i of [...list].sort((a, b) => a.fromMs - b.fromMs)) {
    const last = out[out.length - 1];
    if (last !== undefined && i.fromMs <= last.untilMs) last.untilMs = Math.max(last.untilMs, i.untilMs);
    else if (i.untilMs > i.fromMs) out.push({ fromMs: i.fromMs, untilMs: i.untilMs });
  }
  return out;
}

/** Vote leases are exclusive, and counted only within grants. */
export function checkVoteLeases(h: History): Violation[] {
  const out: Violation[] = [];
  const byAgent = new Map<string, LeaseInterval[]>();
  for (const l of h.leases) byAgent.set(l.agent, [...(byAgent.get(l.agent) ?? []), l]);
  for (const [agent, list] of [...byAgent].sort(([a], [b]) => (a < b ? -1 : 1))) {
    for (const kind of ['counted', 'granted'] as const) {
      const ls = list.filter((l) => l.kind === kind).sort((a, b) => a.fromMs - b.fromMs || (a.controller < b.controller ? -1 : 1));
      for (let i = 0; i < ls.length; i++) {
        for (let j = i + 1; j < ls.length; j++) {
          const a = ls[i]!;
          const b = ls[j]!;
          if (b.fromMs >= a.untilMs) continue;
          if (a.controller === b.controller) continue;
          const o = overlap(a, b)!;
          out.push({ checker: 'vote-leases', atMs: o.fromMs, node: agent,
            message: kind === 'counted'
              ? `${a.controller} and ${b.controller} both counted ${agent}'s vote from ${fmtMs(o.fromMs)} to ${fmtMs(o.untilMs)}`
              : `${agent} held leases granted to ${a.controller} and ${b.controller} at once from ${fmtMs(o.fromMs)} to ${fmtMs(o.untilMs)}` });
        }
      }
    }
    const grants = list.filter((l) => l.kind === 'granted');
    if (grants.length === 0) continue; // grants not recorded: nothing to compare counting with
    for (const c of list.filter((l) => l.kind === 'counted')) {
      const covered = union(grants.filter((g) => g.controller === c.controller));
      const inside = covered.some((g) => g.fromMs <= c.fromMs && c.untilMs <= g.untilMs);
      if (!inside) {
        out.push({ checker: 'vote-leases', atMs: c.fromMs, node: agent,
          message: `${c.controller} counted ${agent}'s vote from ${fmtMs(c.fromMs)} to ${fmtMs(c.untilMs)}, outside any lease ${agent} granted it` });
      }
    }
  }
  return out;
}
