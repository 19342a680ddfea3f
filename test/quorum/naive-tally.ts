// Reference tally, written as plainly as possible (arrays and loops, thresholds found by counting up)
// to compare the real one against. Deliberately shares no code with quorum/.

import type { QuorumConfig } from '../../quorum/quorum-config.ts';

/** What the naive tally answers. */
export interface NaiveTally {
  haveQuorum: boolean;
  votes: number;
  total: number;
  threshold: number;
}

/** The design's rule, counted by hand. */
export function naiveTally(cfg: QuorumConfig, reachable: readonly string[], leased: readonly string[], registered: readonly string[]): NaiveTally {
  let reached = 0;
  for (const c of cfg.controllers) if (c === cfg.self || reachable.includes(c)) reached++;
  const n = cfg.controllers.length;
  if (cfg.mode === 'Controllers') {
    return { haveQuorum: reached >= cfg.quorumSize, votes: reached, total: n, threshold: cfg.quorumSize };
  }
  const agents: string[] = [];
  for (const a of registered) if (!agents.includes(a) && !cfg.controllers.includes(a)) agents.push(a);
  let counted = 0;
  for (const a of agents) if (leased.includes(a)) counted++;
  const total = cfg.controllerWeight * n + cfg.agentWeight * agents.length;
  let threshold = 0;
  while (2 * threshold <= total) threshold++; // the least weight that is more than half
  const votes = cfg.controllerWeight * reached + cfg.agentWeight * counted;
  const controllerMajority = 2 * reached > n;
  return { haveQuorum: votes >= threshold && (counted >= cfg.minAgentsForQuorum || controllerMajority), votes, total, threshold };
}

/** The guide's arithmetic: every agent that reaches a controller counts for it (no exclusivity). */
export function guideVotes(controllerWeight: number, agentWeight: number, agentsReaching: number): number {
  return controllerWeight + agentWeight * agentsReaching;
}
