// Every checker, and one call that runs them all over a history.
import { checkLocalWrites, checkLwwRealTime, checkQuorumWrites } from './acked-writes.ts';
import { checkAgentChanges, checkAgentFailover } from './agents.ts';
import { checkConvergence } from './convergence.ts';
import type { History } from './history.ts';
import { checkSplitBrain, checkTwoSides, checkVoterSides } from './split-brain.ts';
import { checkSkewedWrites } from './skewed-writes.ts';
import { checkFenceTruth, checkStatusTruth } from './status-truth.ts';
import { sortViolations, type Violation } from './violation.ts';
import { checkVoteLeases } from './vote-leases.ts';
import { checkRemovedMembers, withoutRemoved } from './removals.ts';

/** The bounds the checkers hold a run to (the design's figures for the run's configuration). */
export interface CheckBounds {
  /** Longest two split sides may both accept writes: one contact window (heartbeat interval × failureThreshold + timeout). */
  splitBrainMs: number;
  /** Longest from the quiet point (last heal, last write) to equal Merkle roots everywhere. */
  convergeMs: number;
  /** Longest a controller may stay fenced on a healthy majority. */
  unfenceMs: number;
  /** Longest an agent may go without following a reachable controller while one is reachable. */
  failoverMs: number;
  /** Largest sync lag status may show once healed for convergeMs. */
  syncLagMs: number;
  /** Longest a controller whose clock is clearly off may go on accepting writes (clock probes noticing; default splitBrainMs). */
  skewFenceMs?: number;
  /** An agent's health-check deadline: a controller whose round trip to it can take this long is not one it can see answering (default: no deadline). */
  agentCheckTimeoutMs?: number;
}

/** The names of the bounds (what `check safety name=3s` may override). */
export const BOUND_NAMES: ReadonlyArray<keyof CheckBounds> = ['splitBrainMs', 'convergeMs', 'unfenceMs', 'failoverMs', 'syncLagMs', 'skewFenceMs', 'agentCheckTimeoutMs'];

/** Names of the checkers, in the order they run. */
export const CHECKER_NAMES = [
  'quorum-writes', 'local-writes', 'lww-real-time', 'skewed-writes', 'split-brain', 'converged', 'fence-truth', 'status-truth',
  'agent-failover', 'agent-changes', 'vote-leases', 'removed-members',
] as const;

export type CheckerName = (typeof CHECKER_NAMES)[number];

/** Runs one checker. */
export function runChecker(name: CheckerName, h: History, b: CheckBounds): Violation[] {
  switch (name) {
    // A removed controller is out of the federation for the checks on the run's end (removals.ts).
    case 'quorum-writes': return checkQuorumWrites({ ...h, final: withoutRemoved(h).final });
    case 'local-writes': return checkLocalWrites({ ...h, final: withoutRemoved(h).final });
    case 'lww-real-time': return checkLwwRealTime(h);
    case 'skewed-writes': return checkSkewedWrites(h, b.skewFenceMs ?? b.splitBrainMs, b.splitBrainMs);
    case 'split-brain': return [...checkSplitBrain(h, b.splitBrainMs), ...checkTwoSides(h, b.splitBrainMs), ...checkVoterSides(h, b.splitBrainMs)];
    case 'converged': return checkConvergence(withoutRemoved(h, { orphans: true }), b.convergeMs);
    case 'fence-truth': return checkFenceTruth(h, b.unfenceMs);
    case 'status-truth': return checkStatusTruth(withoutRemoved(h), { settleMs: b.convergeMs, syncLagMs: b.syncLagMs });
    case 'agent-failover': return checkAgentFailover(h, b.failoverMs, b.agentCheckTimeoutMs);
    case 'agent-changes': return checkAgentChanges(h);
    case 'vote-leases': return checkVoteLeases(h);
    case 'removed-members': return checkRemovedMembers(h, b.splitBrainMs);
  }
}

/** Runs the named checkers (default all); violations in a stable order. */
export function checkHistory(h: History, b: CheckBounds, names: readonly CheckerName[] = CHECKER_NAMES): Violation[] {
  return sortViolations(names.flatMap((n) => runChecker(n, h, b)));
}

export { formatViolation, sortViolations, type Violation } from './violation.ts';
