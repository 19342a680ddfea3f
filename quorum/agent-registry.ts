// The agent registry: which agents count in the AgentAssisted total. It is replicated state, and a
// change is accepted only by a controller that holds quorum at that moment — otherwise both sides of
// a split could each register "their" agents and both reach a majority of their own total.
//
// Consecutive versions must also have overlapping majorities: a controller still on the old version
// and one already on the new version could otherwise both reach quorum on disjoint votes. With old
// total W and new total W', two disjoint vote sets lie within the larger of the two registries, so
// they cannot both win iff threshold(W) + threshold(W') > max(W, W'). Adding or removing one agent
// of weight 1 always satisfies it; heavier agent weights may not (for some totals), and such a change
// is refused as `no_overlap`. The check ignores how the actual weights can be divided, so it may
// refuse a change that would have been safe; it never accepts an unsafe one. This holds between CONSECUTIVE versions only: the replication of the
// registry must make each change known to a quorum before the next one is proposed (that is the
// replication layer's job, not this pure decision's).
//
// Removal is for agents that stayed away: the proposer must not have heard from the agent for
// agentAbsenceExpiryMs (its clock; counted from its own start when it never heard from it).

import { isMemberName as isQuorumMemberName } from '../membership/member-name.ts';
import { MAX_AGENTS } from './limits.ts';
import type { QuorumConfig } from './quorum-config.ts';
import { tally, type TallyResult } from './tally.ts';
import { totalWeight, weightedThreshold } from './threshold.ts';

/** One version of the registry. */
export interface AgentRegistry {
  /** Incremented by one on every accepted change. */
  readonly version: number;
  /** Registered agent member names. */
  readonly agents: ReadonlySet<string>;
}

/** The registry before any agent is registered. */
export function emptyAgentRegistry(): AgentRegistry {
  return { version: 0, agents: new Set() };
}

/** A proposed change: one agent at a time. */
export type RegistryChange =
  | { op: 'add'; agent: string }
  | { op: 'remove'; agent: string };

/** What the proposing controller sees when it proposes. */
export interface RegistryContext {
  /** Its configuration. */
  config: QuorumConfig;
  /** Controllers it reaches now. */
  reachableControllers: Iterable<string>;
  /** Agent leases it counts now. */
  leasedAgents: Iterable<string>;
  /** Now, on its monotonic clock. */
  nowMs: number;
  /** When it last heard from the agent concerned (its clock); undefined if never since it started. */
  lastSeenMs: number | undefined;
  /** When it started, on the same clock. */
  startedAtMs: number;
  /** Live membership: the voters before the record's voter change (tally.ts joint accounting). */
  priorControllers?: readonly string[];
}

/** Why a change was refused (stable codes). */
export type RegistryRefusal =
  /** The agent name is not a member name. */
  | 'invalid_name'
  /** The name is a configured controller. */
  | 'is_controller'
  /** Add: the agent is already registered. */
  | 'already_registered'
  /** Remove: the agent is not registered. */
  | 'not_registered'
  /** Add: the registry holds MAX_AGENTS agents. */
  | 'registry_full'
  /** Remove: the agent was seen less than agentAbsenceExpiryMs ago, or its lease counts now. */
  | 'still_present'
  /** The old and new totals would allow two disjoint majorities. */
  | 'no_overlap'
  /** The proposer does not hold quorum now. */
  | 'no_quorum';

/** An accepted change. */
export interface RegistryAccepted {
  /** Accepted. */
  accepted: true;
  /** The next registry version, to be replicated. */
  registry: AgentRegistry;
  /** The tally the decision was made on. */
  tally: TallyResult;
  /** Human-readable summary. */
  message: string;
}

/** A refused change. */
export interface RegistryRefused {
  /** Refused. */
  accepted: false;
  /** Why. */
  reason: RegistryRefusal;
  /** The tally the decision was made on. */
  tally: TallyResult;
  /** Human-readable detail. */
  message: string;
}

/** Outcome of a proposal. */
export type RegistryDecision = RegistryAccepted | RegistryRefused;

/** True when no vote set winning under total `a` is disjoint from one winning under total `b` (nested registries). */
export function majoritiesOverlap(a: number, b: number): boolean {
  return weightedThreshold(a) + weightedThreshold(b) > Math.max(a, b);
}

/** Decides whether the proposing controller may apply `change` to `registry`. */
export function decideRegistryChange(registry: AgentRegistry, change: RegistryChange, ctx: RegistryContext): RegistryDecision {
  const { config } = ctx;
  const t = tally(config, {
    reachableControllers: ctx.reachableControllers, leasedAgents: ctx.leasedAgents, registeredAgents: registry.agents,
    ...(ctx.priorControllers === undefined ? {} : { priorControllers: ctx.priorControllers }),
  });
  const refuse = (reason: RegistryRefusal, message: string): RegistryDecision => ({ accepted: false, reason, tally: t, message });
  const a = change.agent;
  if (!isQuorumMemberName(a)) return refuse('invalid_name', `agent name ${JSON.stringify(String(a)).slice(0, 70)} is not a member name`);
  if (config.controllers.includes(a)) return refuse('is_controller', `${a} is a configured controller, not an agent`);
  const next = new Set(registry.agents);
  if (change.op === 'add') {
    if (registry.agents.has(a)) return refuse('already_registered', `${a} is already registered`);
    if (registry.agents.size >= MAX_AGENTS) return refuse('registry_full', `the registry already holds ${MAX_AGENTS} agents`);
    next.add(a);
  } else {
    if (!registry.agents.has(a)) return refuse('not_registered', `${a} is not registered`);
    const leased = [...ctx.leasedAgents].includes(a);
    const absentMs = ctx.nowMs - (ctx.lastSeenMs ?? ctx.startedAtMs);
    if (leased || absentMs < config.agentAbsenceExpiryMs) {
      return refuse('still_present', `${a} was seen ${leased ? 'just now (its lease counts)' : `${absentMs} ms ago`}; removal needs ${config.agentAbsenceExpiryMs} ms of absence`);
    }
    next.delete(a);
  }
  if (config.mode === 'AgentAssisted') {
    // By the voters, and after a voter change by the voters before it too (both totals count).
    for (const n of new Set([config.controllers.length, ...(ctx.priorControllers === undefined ? [] : [ctx.priorControllers.length])])) {
      const before = totalWeight(config.controllerWeight, n, config.agentWeight, registry.agents.size);
      const after = totalWeight(config.controllerWeight, n, config.agentWeight, next.size);
      if (!majoritiesOverlap(before, after)) {
        return refuse('no_overlap', `total ${before} → ${after}: thresholds ${weightedThreshold(before)} and ${weightedThreshold(after)} would let two disjoint sides both win`);
      }
    }
  }
  if (!t.haveQuorum) {
    return refuse('no_quorum', `registry changes need quorum: this controller holds ${t.votes} of ${t.total} votes, threshold ${t.threshold}`);
  }
  return {
    accepted: true,
    registry: { version: registry.version + 1, agents: next },
    tally: t,
    message: `${change.op === 'add' ? 'registered' : 'removed'} ${a} (registry version ${registry.version + 1})`,
  };
}
