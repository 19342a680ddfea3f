// The tally: how many votes this controller holds right now, out of how many, and whether that is
// quorum. Pure and total: the caller passes what it currently reaches and which agent leases it
// currently counts (LeaseTable.countedAgents), and gets a structured answer it can log and show.
//
// Why it is safe. Let X and Y be controllers that cannot exchange data, so the controllers each one
// reaches are disjoint sets. Agent leases are exclusive (an agent's vote is counted by at most one
// controller at any instant: see agent-vote-state.ts and lease-table.ts). So X's and Y's votes are
// weights of disjoint subsets of the configured total, their sum is at most the total, and since the
// threshold is more than half of the total, at most one of them reaches it. The minAgentsForQuorum
// condition only ever removes quorum, so it cannot break this.
//
// Across a voter change (AgentAssisted, live membership): the totals of two neighbouring epochs
// differ by controllerWeight, and with controllerWeight ≥ 2 a side still counting by the old voters
// and one counting by the new can both pass their own thresholds out of a pool larger than either
// total. So a controller whose record changed the voters also passes the threshold of the voters
// before it (`priorControllers`, joint accounting): two sides then both pass the old total's
// threshold, out of the old total. quorum/agent-epochs.ts has the rest of that argument (how a side
// two epochs behind is ruled out) and test/quorum/agent-epoch-explorer.ts checks it.

import type { QuorumConfig, QuorumMode } from './quorum-config.ts';
import { invariant } from './invariant.ts';
import { MAX_AGENTS } from './limits.ts';
import { isStrictMajority, totalWeight, weightedThreshold } from './threshold.ts';

/** What the controller currently sees; names outside the configuration never count. */
export interface TallyInput {
  /** Controllers this one currently reaches. Itself always counts; unknown names and duplicates are ignored. */
  reachableControllers: Iterable<string>;
  /** Agents whose vote lease to this controller is counted now (from LeaseTable.countedAgents). */
  leasedAgents: Iterable<string>;
  /** The agent registry: only these agents count, in the total and in the votes. */
  registeredAgents: ReadonlySet<string>;
  /**
   * AgentAssisted with live membership: the voters of the epoch before this controller's, when its
   * record changed them. Quorum then needs the threshold of that set too (self counts only if in it).
   * Ignored in Controllers mode (there a single-voter change keeps majorities intersecting).
   */
  priorControllers?: readonly string[];
}

/** The joint part of an AgentAssisted tally: the same votes counted by the voters before the change. */
export interface PriorTally {
  /** Voters of the previous epoch. */
  controllers: readonly string[];
  votes: number;
  total: number;
  threshold: number;
  /** Of them, reached (this controller included when it is one). */
  reachableControllers: number;
  haveQuorum: boolean;
}

/** Why the tally came out as it did (stable codes). */
export type QuorumReason =
  /** Votes reach the threshold (and, in AgentAssisted, the agent condition holds). */
  | 'quorum'
  /** Votes are below the threshold. */
  | 'below_threshold'
  /** AgentAssisted: votes reach the threshold but fewer than minAgentsForQuorum agent leases are
   *  counted and no strict majority of controllers is reached. */
  | 'too_few_agents'
  /** AgentAssisted after a voter change: quorum by the current voters, not by the voters before the change. */
  | 'prior_voters';

/** The structured result of one tally. */
export interface TallyResult {
  /** Counting mode used. */
  mode: QuorumMode;
  /** True when this controller holds quorum at this moment. */
  haveQuorum: boolean;
  /** Votes held (Controllers: controllers reached; AgentAssisted: weighted). */
  votes: number;
  /** Total votes configured (Controllers: n; AgentAssisted: W). */
  total: number;
  /** Votes needed (Controllers: quorumSize; AgentAssisted: ⌊W/2⌋+1). */
  threshold: number;
  /** Part of `votes` from controllers (itself included). */
  controllerVotes: number;
  /** Part of `votes` from agent leases (0 in Controllers mode). */
  agentVotes: number;
  /** Configured controllers reached, itself included. */
  reachableControllers: number;
  /** Configured controllers. */
  configuredControllers: number;
  /** Registered agents whose lease is counted (0 in Controllers mode). */
  reachableAgents: number;
  /** Registered agents (the agent part of the total). */
  registeredAgents: number;
  /** Why. */
  reason: QuorumReason;
  /** AgentAssisted with priorControllers that differ from the configured ones: the joint count. */
  prior?: PriorTally;
}

/** Counts this controller's votes under `config`. */
export function tally(config: QuorumConfig, input: TallyInput): TallyResult {
  const configured = new Set(config.controllers);
  invariant(configured.has(config.self), 'self is one of the configured controllers');
  invariant(input.registeredAgents.size <= MAX_AGENTS, `at most ${MAX_AGENTS} registered agents`);
  const reached = new Set<string>([config.self]);
  for (const c of input.reachableControllers) if (configured.has(c)) reached.add(c);
  const n = configured.size;
  const r = reached.size;
  let registered = 0;
  for (const a of input.registeredAgents) if (!configured.has(a)) registered++;

  if (config.mode === 'Controllers') {
    const haveQuorum = r >= config.quorumSize;
    return {
      mode: 'Controllers', haveQuorum, votes: r, total: n, threshold: config.quorumSize,
      controllerVotes: r, agentVotes: 0, reachableControllers: r, configuredControllers: n,
      reachableAgents: 0, registeredAgents: registered,
      reason: haveQuorum ? 'quorum' : 'below_threshold',
    };
  }

  const leased = new Set<string>();
  for (const a of input.leasedAgents) if (input.registeredAgents.has(a) && !configured.has(a)) leased.add(a);
  const count = weighted(config, n, r, leased.size, registered);
  let reason: QuorumReason = count.reason;
  let prior: PriorTally | undefined;
  const priorSet = input.priorControllers === undefined ? undefined : new Set(input.priorControllers);
  if (priorSet !== undefined && (priorSet.size !== n || [...priorSet].some((c) => !configured.has(c)))) {
    invariant(priorSet.size > 0, 'the prior voters are not empty');
    // Any reached voter of the prior set counts here, a controller removed since included (it is on
    // one side only, like any other).
    const reachedPrior = new Set<string>([config.self]);
    for (const c of input.reachableControllers) reachedPrior.add(c);
    let pr = 0;
    for (const c of reachedPrior) if (priorSet.has(c)) pr++;
    const p = weighted(config, priorSet.size, pr, leased.size, registered);
    prior = { controllers: [...priorSet].sort(), votes: p.votes, total: p.total, threshold: p.threshold, reachableControllers: pr, haveQuorum: p.reason === 'quorum' };
    if (reason === 'quorum' && !prior.haveQuorum) reason = 'prior_voters';
  }
  return {
    mode: 'AgentAssisted', haveQuorum: reason === 'quorum', votes: count.votes, total: count.total, threshold: count.threshold,
    controllerVotes: count.controllerVotes, agentVotes: count.agentVotes, reachableControllers: r, configuredControllers: n,
    reachableAgents: leased.size, registeredAgents: registered, reason, ...(prior === undefined ? {} : { prior }),
  };
}

// The weighted count of r reached controllers of n, and `leased` agent leases of `registered` agents.
function weighted(config: QuorumConfig, n: number, r: number, leased: number, registered: number) {
  const total = totalWeight(config.controllerWeight, n, config.agentWeight, registered);
  const threshold = weightedThreshold(total);
  const controllerVotes = config.controllerWeight * r;
  const agentVotes = config.agentWeight * leased;
  const votes = controllerVotes + agentVotes;
  const enoughAgents = leased >= config.minAgentsForQuorum || isStrictMajority(r, n);
  const reason: QuorumReason = votes < threshold ? 'below_threshold' : enoughAgents ? 'quorum' : 'too_few_agents';
  return { total, threshold, controllerVotes, agentVotes, votes, reason };
}
