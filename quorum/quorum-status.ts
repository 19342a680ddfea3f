// The status object behind `novactl federation status --verbose`: the guide's fields, from the phase
// machine and the tally of the same moment.

import type { QuorumConfig, QuorumMode } from './quorum-config.ts';
import type { PartitionState, Phase } from './partition-phase.ts';
import { partitionStateOf } from './partition-phase.ts';
import type { TallyResult } from './tally.ts';

/** The quorum part of `federation status --verbose`. */
export interface QuorumStatus {
  /** Phase: Healthy, Suspected, Partitioned or Healing. */
  phase: Phase;
  /** Partition state: None, Suspected or Confirmed. */
  partitionState: PartitionState;
  /** Other controllers reached / other controllers configured, e.g. "0/2". */
  reachablePeers: string;
  /** True when writes are refused right now (no quorum and fenceWrites on). */
  writesFenced: boolean;
  /** Reads are always served, whatever the quorum. */
  readsAllowed: true;
  /** Counting mode. */
  quorumMode: QuorumMode;
  /** Votes held. */
  ourVotes: number;
  /** Total votes configured. */
  totalVotes: number;
  /** Votes needed. */
  threshold: number;
  /** True when quorum is held. */
  haveQuorum: boolean;
  /** Registered agents whose vote lease is counted here. */
  reachableAgents: number;
}

/** Builds the status from the current phase and the tally of the same moment. */
export function quorumStatus(phase: Phase, t: TallyResult, config: Pick<QuorumConfig, 'fenceWrites'>): QuorumStatus {
  return {
    phase,
    partitionState: partitionStateOf(phase),
    reachablePeers: `${t.reachableControllers - 1}/${t.configuredControllers - 1}`,
    writesFenced: config.fenceWrites && !t.haveQuorum,
    readsAllowed: true,
    quorumMode: t.mode,
    ourVotes: t.votes,
    totalVotes: t.total,
    threshold: t.threshold,
    haveQuorum: t.haveQuorum,
    reachableAgents: t.reachableAgents,
  };
}
