// The status object behind `novactl federation status --verbose`: the guide's fields, from the phase
// machine and the tally of the same moment.

import type { ClockAgreement } from './clock-skew.ts';
import { decideWrite, type FenceReason } from './fencing.ts';
import type { QuorumConfig, QuorumMode } from './quorum-config.ts';
import type { PartitionState, Phase } from './partition-phase.ts';
import { partitionStateOf } from './partition-phase.ts';
import type { TallyResult } from './tally.ts';

/** The quorum part of `federation status --verbose`. */
export interface QuorumStatus {
  /** Phase: Healthy, Degraded, Suspected, Partitioned or Healing (partition-phase.ts). */
  phase: Phase;
  /** Partition state: None, Suspected or Confirmed. */
  partitionState: PartitionState;
  /** Other controllers reached / other controllers configured, e.g. "0/2". */
  reachablePeers: string;
  /** True when writes are refused right now (no quorum for writes and fenceWrites on). */
  writesFenced: boolean;
  /** Why writes are refused: NO_QUORUM or CLOCK_SKEW; NONE while they are accepted. */
  fenceReason: FenceReason | 'NONE';
  /** Reached controllers whose clocks differ from this one's by more than maxClockOffset (their votes do not count). */
  clockSkewedPeers: string[];
  /** Reads are always served, whatever the quorum. */
  readsAllowed: true;
  /** Counting mode. */
  quorumMode: QuorumMode;
  /** Votes held (of the controllers reached, only those whose clocks agree with this one's). */
  ourVotes: number;
  /** Total votes configured. */
  totalVotes: number;
  /** Votes needed. */
  threshold: number;
  /** True when quorum for writes is held (clock agreement included). */
  haveQuorum: boolean;
  /**
   * AgentAssisted: registered agents whose vote lease is counted here. Controllers mode: agents
   * connected to this controller (they carry no vote; the write fence sets it).
   */
  reachableAgents: number;
}

/**
 * Builds the status from the current phase and the tally of the same moment (`t`: the controllers
 * reached), with the clock agreement of that moment when there is one.
 */
export function quorumStatus(phase: Phase, t: TallyResult, config: Pick<QuorumConfig, 'fenceWrites' | 'minAgentsForQuorum'>, clock?: ClockAgreement): QuorumStatus {
  const d = decideWrite(t, config, clock);
  const effective = clock?.tally ?? t;
  return {
    phase,
    partitionState: partitionStateOf(phase),
    reachablePeers: `${t.reachableControllers - 1}/${t.configuredControllers - 1}`,
    writesFenced: !d.allowed,
    fenceReason: d.allowed ? 'NONE' : d.reason ?? 'NO_QUORUM',
    clockSkewedPeers: [...(clock?.skewedPeers ?? [])],
    readsAllowed: true,
    quorumMode: t.mode,
    ourVotes: effective.votes,
    totalVotes: effective.total,
    threshold: effective.threshold,
    haveQuorum: t.haveQuorum && effective.haveQuorum,
    reachableAgents: effective.reachableAgents,
  };
}
