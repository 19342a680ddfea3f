// The fencing decision: may this controller accept a write at this instant? Decided from the tally of
// this very moment and nothing else — no delay, no hysteresis — so losing quorum fences the next write
// at once. (detectionDelayMs only decides when status reports a partition as Confirmed.)

import type { QuorumConfig } from './quorum-config.ts';
import type { TallyResult } from './tally.ts';

/** Stable error code of a fenced write. */
export type FencedCode = 'FENCED';

/** Decision for one write. */
export interface WriteDecision {
  /** True when the write may be stored and replicated. */
  allowed: boolean;
  /** 'FENCED' when refused for lack of quorum, else undefined. */
  code: FencedCode | undefined;
  /** Human-readable: votes held, total and threshold (the FENCED error message when refused). */
  message: string;
  /** True when accepted without quorum because fenceWrites is false: count it as a minority write. */
  minorityWrite: boolean;
}

/** Decides whether a write is accepted, from the tally of this moment. */
export function decideWrite(t: TallyResult, config: Pick<QuorumConfig, 'fenceWrites' | 'minAgentsForQuorum'>): WriteDecision {
  const votes = `${t.votes} of ${t.total} votes, threshold ${t.threshold}`;
  if (t.haveQuorum) return { allowed: true, code: undefined, message: `quorum held: ${votes}`, minorityWrite: false };
  const why = t.reason === 'too_few_agents'
    ? `${t.reachableAgents} agent leases counted, ${config.minAgentsForQuorum} needed without a majority of controllers (${t.reachableControllers}/${t.configuredControllers} reached)`
    : `${t.reachableControllers}/${t.configuredControllers} controllers reached${t.mode === 'AgentAssisted' ? `, ${t.reachableAgents} agent leases counted` : ''}`;
  if (!config.fenceWrites) {
    return { allowed: true, code: undefined, message: `minority write accepted (fenceWrites is off): ${votes}; ${why}`, minorityWrite: true };
  }
  return { allowed: false, code: 'FENCED', message: `writes fenced: this controller holds ${votes}; ${why}. Reads are still served`, minorityWrite: false };
}
