// Public API of the quorum module (pure: no timers, sockets, clocks or randomness; time is passed in).

export { ASSUMED_CLOCK_RATE_DRIFT_PPM, minDriftMarginMs } from './clock-drift.ts';
export {
  MAX_AGENT_ABSENCE_MS, MAX_AGENTS, MAX_CONTROLLERS, MAX_DELAY_MS, MAX_LEASE_MS,
  MAX_OUTSTANDING_REQUESTS_PER_AGENT, MAX_WEIGHT,
} from './limits.ts';
export { isMemberName as isQuorumMemberName, MEMBER_NAME_CHARS_MAX as NAME_CHARS_MAX } from '../membership/member-name.ts';
export {
  defaultQuorumSize, QUORUM_DEFAULTS, QUORUM_MODES, quorumConfig, validateQuorumConfig,
  type QuorumConfig, type QuorumConfigInput, type QuorumConfigInvalid, type QuorumConfigIssue, type QuorumConfigResult,
  type QuorumConfigValid, type QuorumMode,
} from './quorum-config.ts';
export { controllerMajority, isStrictMajority, totalWeight, weightedThreshold } from './threshold.ts';
export { countsByRegistry, knowersBlock, registryWait, type EpochQuorumInput, type KnowersResult, type RegistryWait } from './agent-epochs.ts';
export { tally, type PriorTally, type QuorumReason, type TallyInput, type TallyResult } from './tally.ts';
export {
  AgentVoteState, type AgentVoteOptions, type GrantRefusal, type VoteGranted, type VoteLease, type VoteRefused,
  type VoteRequestResult,
} from './agent-vote-state.ts';
export { INCARNATION_CHARS_MAX, LeaseTable, type GrantOutcome, type LeaseTableOptions } from './lease-table.ts';
export { contactWindowMs, ControllerContacts, type ControllerContactsOptions } from './controller-contacts.ts';
export { defaultLeaseForWindow, LEASE_STEP_MS, leaseWindowMismatch, type LeaseTiming, type LeaseWindowMismatch } from './lease-window.ts';
export { decideWrite, FENCE_REASONS, type FenceReason, type FencedCode, type WriteDecision } from './fencing.ts';
export { clockAgreeingControllers, clockVoters, skewedReachable, stampsStandingStillMs, unmeasuredReachable, type ClockAgreement, type ClockVoters } from './clock-skew.ts';
export {
  initialPhaseState, quorumLost, withQuorum, PartitionPhaseMachine, partitionStateOf, PHASES, stepPhase,
  type PartitionState, type Phase, type PhaseInput, type PhaseOptions, type PhaseState, type PhaseTally,
  type PhaseTransition,
} from './partition-phase.ts';
export { quorumStatus, type QuorumStatus } from './quorum-status.ts';
export {
  decideRegistryChange, emptyAgentRegistry, majoritiesOverlap,
  type AgentRegistry, type RegistryAccepted, type RegistryChange, type RegistryContext, type RegistryDecision,
  type RegistryRefusal, type RegistryRefused,
} from './agent-registry.ts';
