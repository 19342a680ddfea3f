// The fencing decision: may this controller accept a write at this instant? Decided from the tally of
// this very moment and nothing else — no delay, no hysteresis — so losing quorum fences the next write
// at once. (detectionDelayMs only decides when status reports a partition as Confirmed.)
//
// Two reasons to fence, both with the stable error code FENCED:
//   NO_QUORUM   the controllers (and, in AgentAssisted, agent leases) reached do not carry the threshold;
//   CLOCK_SKEW  they do, but not once the controllers (and agents) whose clocks disagree with this
//               one's are left out (clock-skew.ts): this controller's write stamps would reorder
//               last-writer-wins; or its own stamps stand still, more than maxClockOffset above its
//               clock (it was set back), whoever agrees with it.
//   (NO_QUORUM too when they do, but not once the controllers whose clocks are not measured yet are
//   left out: for one probe round trip after a link comes up.)

import type { ClockAgreement } from './clock-skew.ts';
import type { QuorumConfig } from './quorum-config.ts';
import type { TallyResult } from './tally.ts';

/** Stable error code of a fenced write. */
export type FencedCode = 'FENCED';

/** Why writes are fenced (stable codes). */
export type FenceReason = 'NO_QUORUM' | 'CLOCK_SKEW';

/** Every fence reason, in a stable order (for metrics). */
export const FENCE_REASONS: readonly FenceReason[] = ['NO_QUORUM', 'CLOCK_SKEW'];

/** Decision for one write. */
export interface WriteDecision {
  /** True when the write may be stored and replicated. */
  allowed: boolean;
  /** 'FENCED' when refused, else undefined. */
  code: FencedCode | undefined;
  /** Why quorum for writes is not held (set also for a minority write accepted with fenceWrites off), else undefined. */
  reason: FenceReason | undefined;
  /** Human-readable: votes held, total and threshold (the FENCED error message when refused). */
  message: string;
  /** True when accepted without quorum because fenceWrites is false: count it as a minority write. */
  minorityWrite: boolean;
}

/**
 * Decides whether a write is accepted, from the tally of this moment (`t`: the controllers reached)
 * and, when given, the clock agreement of the same moment.
 */
export function decideWrite(t: TallyResult, config: Pick<QuorumConfig, 'fenceWrites' | 'minAgentsForQuorum'>, clock?: ClockAgreement): WriteDecision {
  const votes = (r: TallyResult): string => `${r.votes} of ${r.total} votes, threshold ${r.threshold}`;
  let reason: FenceReason;
  let why: string;
  let held: string;
  if (!t.haveQuorum) {
    reason = 'NO_QUORUM';
    held = votes(t);
    why = t.reason === 'too_few_agents'
      ? `${t.reachableAgents} agent leases counted, ${config.minAgentsForQuorum} needed without a majority of controllers (${t.reachableControllers}/${t.configuredControllers} reached)`
      : t.reason === 'prior_voters' && t.prior !== undefined
      ? `enough by the current voters, but not by the voters before the last voter change (${t.prior.controllers.join(', ')}: ${t.prior.votes} of ${t.prior.total} votes, threshold ${t.prior.threshold}); ` +
        'both count until the next membership change, which the controllers propose once the change has reached a quorum'
      : `${t.reachableControllers}/${t.configuredControllers} controllers reached${t.mode === 'AgentAssisted' ? `, ${t.reachableAgents} agent leases counted` : ''}`;
  } else if (clock?.stampsAheadMs !== undefined) {
    reason = 'CLOCK_SKEW';
    held = votes(clock.tally);
    why = `clock skew: this controller's stamps stand ${Math.round(clock.stampsAheadMs)} ms above its own clock, more than maxClockOffset ` +
      `(${clock.maxClockOffsetMs} ms): its clock was set back, and until it passes them its writes would lose last-writer-wins to earlier ones`;
  } else if (clock !== undefined && !clock.tally.haveQuorum && clock.skewedPeers.length > 0) {
    reason = 'CLOCK_SKEW';
    held = votes(clock.tally);
    why = `clock skew: this controller's clock differs by more than maxClockOffset (${clock.maxClockOffsetMs} ms) from ${clock.skewedPeers.join(', ')}; ` +
      `${clock.tally.reachableControllers}/${t.reachableControllers} controllers reached` +
      `${t.mode === 'AgentAssisted' ? ` and ${clock.tally.reachableAgents}/${t.reachableAgents} agent leases` : ''} agree with it` +
      `${clock.unmeasuredPeers.length > 0 ? ` (not measured yet: ${clock.unmeasuredPeers.join(', ')})` : ''}`;
  } else if (clock !== undefined && !clock.tally.haveQuorum) {
    reason = 'NO_QUORUM';
    held = votes(clock.tally);
    why = `the clocks of ${clock.unmeasuredPeers.join(', ')} are not measured yet (their first clock probe is pending); ` +
      `${clock.tally.reachableControllers}/${t.reachableControllers} controllers reached` +
      `${t.mode === 'AgentAssisted' ? ` and ${clock.tally.reachableAgents}/${t.reachableAgents} agent leases` : ''} are measured and agree`;
  } else {
    return { allowed: true, code: undefined, reason: undefined, message: `quorum held: ${votes(clock?.tally ?? t)}`, minorityWrite: false };
  }
  if (!config.fenceWrites) {
    return { allowed: true, code: undefined, reason, message: `minority write accepted (fenceWrites is off): ${held}; ${why}`, minorityWrite: true };
  }
  return { allowed: false, code: 'FENCED', reason, message: `writes fenced: this controller holds ${held}; ${why}. Reads are still served`, minorityWrite: false };
}
