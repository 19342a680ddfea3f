// Voter changes in AgentAssisted mode (live membership): the rules that keep "two sides that cannot
// exchange data never both hold quorum" true while the controllers' voter set changes, when agents'
// vote leases count too.
//
// Why Controllers mode's argument does not carry over (quorum/voter-slot.ts). There, a controller on
// epoch e needs a majority of the voters of e, and once e+2 is chosen a majority of the voters of e+1
// has moved on and never counts for it again. In AgentAssisted a controller can hold quorum with its
// own weight and agent leases alone (a tie between two datacenters broken by agents), so a side left
// on e is not ruled out by the controllers that moved on. And the totals of neighbouring epochs differ
// by controllerWeight: with the defaults (controllerWeight 10) two sides, one counting by the old
// voters and one by the new, can both pass their thresholds.
//
// The rules (each but `finish`, which is for liveness, checked necessary by
// test/quorum/agent-epoch-explorer.ts):
//   joint      a controller whose record changed the voters holds quorum only with the threshold of
//              the voters before the change too (tally.ts priorControllers). The record carries those
//              voters until the next change (membership/federation-members.ts priorVoters);
//   agents     every vote request carries the controller's committed epoch, and an agent refuses a
//              controller on an epoch below one it has granted at (agent-vote-state.ts, saved across
//              restarts): an agent whose vote counted on e+1 never counts on e again;
//   knowers    a controller proposes a change only when the controllers and agents not known to be on
//              its own epoch could not hold quorum among the voters before its record's change, even
//              all on one side (`knowersBlock`). Known to be on it are itself, the controllers by
//              the epoch of their latest clock answer or by their answer to its own commit of the
//              epoch (a removed controller, which nobody reaches any more, included), agents by the
//              epoch their counted lease answered (lease-table.ts countedAtEpoch); and then it waits
//              one settle (members-settle.ts) before the value can be chosen, so no reading of those
//              controllers from an older epoch is still counted anywhere.
//   finish     once a voter change is committed, the controllers propose a change that only ends the
//              joint accounting (the next record has no priorVoters), so it lasts as long as the
//              knowers rule needs and no longer;
//   registry   the agent registry is a chain of its own (node/votes/registry-keeper.ts, one
//              registrar), so: the registrar changes it only while `registryWait` says nothing (no
//              value pending for the next epoch, no joint count, settled); an acceptor accepts a value
//              only from a proposer on its registry version; and a version carries the registrar's
//              epoch, by which a controller on an older epoch counts nothing (`countsByRegistry`).
//
// Why it is safe. Let X hold quorum on epoch e and Z on epoch f ≥ e on the other side of a split.
//   f = e:     one total, disjoint votes (agent leases are exclusive): not both above half of it.
//   f = e+1:   Z passes the threshold of the voters of e too (joint), X passes it: two disjoint vote
//              sets both above half of the total of e. (A controller removed at e+1 still counts for
//              Z among the voters of e when Z reaches it: it is on one side only, like any other.)
//   f ≥ e+2:   e+2 was chosen, after its proposer P (on e+1) found a set K of controllers and agents on
//              e+1 such that those outside K cannot hold quorum among the voters of e, and waited one
//              settle. X counts none of K: a controller of K is on e+1 or later, and X's reading of it
//              from an older epoch has expired (the settle); an agent of K has granted at e+1, so it
//              refuses X, and X stopped counting any lease it held from before (exclusivity: the agent
//              granted to P only once that lease had expired). So X's votes lie outside K: no quorum.
// The registry of agents is taken as the same on both sides (its own changes keep neighbouring
// totals overlapping: agent-registry.ts).
//
// What it costs: a voter change in AgentAssisted needs, as in Controllers mode, a majority of the
// controllers of both voter sets to choose it (Paxos among controllers), so with two controllers both
// must be up; each change waits for the agents to renew their leases on the new epoch (a third of a
// lease) and for one settle; and until the finishing change, writes need both thresholds.

import type { QuorumConfig } from './quorum-config.ts';
import { tally, type TallyResult } from './tally.ts';

/** What a controller knows of its peers' epochs and its agents' leases when it would propose a change. */
export interface EpochQuorumInput {
  /** Its committed membership epoch. */
  epoch: number;
  /**
   * Controllers known to be on an epoch: those reached now by their latest valid clock answer, and
   * those that answered this controller's commit of its epoch (reached or not: epochs never go back).
   */
  controllerEpochs: ReadonlyMap<string, number>;
  /** Agents whose lease it counts now and whose counted grant answered a request on `epoch`. */
  agentsAtEpoch: Iterable<string>;
  /** The agent registry. */
  registeredAgents: ReadonlySet<string>;
  /** The voters before its record's voter change, if it changed them (tally.ts). */
  priorControllers?: readonly string[];
}

/** The outcome of the knowers rule. */
export interface KnowersResult {
  /** True when the controllers and agents not known to be on the epoch cannot hold quorum among the voters before it. */
  blocked: boolean;
  /** The best tally those outside could make among the voters before the change (undefined: no voter of them is outside). */
  outside: TallyResult | undefined;
  /** Controllers known to be on the epoch, this one included. */
  knownControllers: string[];
}

/**
 * The knowers rule: this controller (`config.self`, voters `config.controllers`, on `input.epoch`)
 * may propose a membership change only when everyone NOT known to be on its epoch (controllers and
 * registered agents) could not hold quorum among the voters before its record's change, even all
 * together on one side: the tally of a voter among them reaching all of them and holding all their
 * agents' leases fails (AgentAssisted). A side still on the epoch before can then never win again
 * once the next epoch is chosen (see the file comment).
 */
export function knowersBlock(config: QuorumConfig, input: EpochQuorumInput): KnowersResult {
  const prior = input.priorControllers ?? config.controllers;
  const known = new Set<string>([config.self]);
  for (const [c, e] of input.controllerEpochs) if (e === input.epoch) known.add(c);
  const agentsKnown = new Set(input.agentsAtEpoch);
  const outsideControllers = prior.filter((c) => !known.has(c));
  const knownControllers = [...known].sort();
  const x = outsideControllers[0];
  if (x === undefined) return { blocked: true, outside: undefined, knownControllers };
  const outside = tally({ ...config, self: x, controllers: prior }, {
    reachableControllers: outsideControllers,
    leasedAgents: [...input.registeredAgents].filter((a) => !agentsKnown.has(a)),
    registeredAgents: input.registeredAgents,
  });
  return { blocked: !outside.haveQuorum, outside, knownControllers };
}

/** Why the agent registry may not change now (rule 5 of the file comment), or undefined. */
export type RegistryWait =
  /** This controller accepted a value for the next epoch that is not decided as far as it knows. */
  | 'pending'
  /** Its record counts by two voter sets (a voter change not finished). */
  | 'joint'
  /** It committed its epoch less than a settle ago. */
  | 'settling';

/** Whether (and why not) the registrar may change the agent registry now. */
export function registryWait(s: { pendingValue: boolean; joint: boolean; settling: boolean }): RegistryWait | undefined {
  return s.pendingValue ? 'pending' : s.joint ? 'joint' : s.settling ? 'settling' : undefined;
}

/**
 * Whether a controller on membership epoch `epoch` may count by a registry version written at
 * `registryEpoch` (0: written without a membership record): not when it was written on a later
 * epoch (the controller is behind; it counts nothing until it catches up).
 */
export function countsByRegistry(registryEpoch: number, epoch: number): boolean {
  return registryEpoch <= epoch;
}
