// The controllers' voter configuration as replicated state, and the rules that keep "two sides that
// cannot exchange data never both hold quorum" true while it changes (live membership).
//
// A configuration has an epoch (one more per change), its voters, its learners (they replicate and
// serve reads but neither vote nor count), and, while a voter change is not yet effective, the voter
// set before it (`joint`). The rules, in the order a change goes through them:
//
//   propose   a controller that holds quorum under its configuration applies one change to it:
//             add a learner, promote a learner to voter, or remove a member. A voter change makes the
//             configuration joint (old and new voter sets); one voter change at a time: no change is
//             proposed while one is joint.
//   adopt     a controller stores a configuration it hears of only when its epoch is higher than its
//             own; one of the same epoch but other content is a conflict and refused (two sides that
//             each proposed a change from the same epoch; at most one of them can be committed).
//             Epochs never go back (the configuration is stored durably before it is acknowledged).
//   count     a controller counts a reached peer's vote only when the peer's configuration is the
//             same as its own (same epoch, same content) or older; never one that moved past it.
//             Under a joint configuration it holds quorum only with a quorum of the old voter set AND
//             of the new one.
//   commit    a joint configuration becomes effective (the next epoch, the new voter set alone) once
//             a quorum of the old set and a quorum of the new set have stored it.
//
// Why it is safe (checked exhaustively by test/quorum/voter-config-explorer.ts over small federations,
// partitions changing between any two steps, concurrent proposals on opposite sides): consecutive
// configurations share a voter set (a joint one contains the set before and after it), so two sides on
// neighbouring configurations would each need a quorum of that shared set. A configuration two or
// more steps ahead was committed, so a quorum of the set between has stored a newer epoch and no longer
// counts for a side still behind it. Two proposals from one epoch cannot both commit: each needs a
// quorum of the old set to store it, and a controller stores only one configuration per epoch.
//
// Not solved here (why nothing in node/ uses this yet): liveness. Two proposals made at once from one
// epoch can split the voters so that neither reaches a quorum, and voters holding one do not count
// voters holding the other: every controller fenced, with no rule to move on. The way out is to decide
// each epoch's configuration with ballots (a single-decree Paxos: a new round carries on the accepted
// proposal of highest ballot), so any controller can finish or replace a stuck proposal: that is
// quorum/voter-slot.ts, explored by test/quorum/voter-slot-explorer.ts and voter-epoch-explorer.ts.

import { MAX_CONTROLLERS } from './limits.ts';
import { controllerMajority } from './threshold.ts';

/** The voter configuration of the controllers. Sets are sorted and disjoint. */
export interface VoterConfig {
  /** One more per change; starts at 1. */
  readonly epoch: number;
  /** Controllers whose votes count (after the change in progress, if any). */
  readonly voters: readonly string[];
  /** Controllers that replicate and serve reads but do not vote. */
  readonly learners: readonly string[];
  /** While a voter change is not effective yet: the voters before it. A quorum of both is needed. */
  readonly joint?: readonly string[];
}

/** One change of a configuration. */
export type VoterChange =
  | { op: 'add-learner'; member: string }
  | { op: 'promote'; member: string }
  | { op: 'remove'; member: string }
  /** Make a joint configuration effective (see `committable`). */
  | { op: 'commit' };

/** Why a change was refused (stable codes). */
export type VoterChangeCode =
  | 'CHANGE_IN_PROGRESS' | 'ALREADY_MEMBER' | 'NOT_A_LEARNER' | 'NOT_A_MEMBER' | 'LAST_VOTER' | 'NOTHING_TO_COMMIT' | 'TOO_MANY_MEMBERS';

/** A change that cannot be applied to this configuration. */
export class VoterChangeError extends Error {
  override readonly name = 'VoterChangeError';
  readonly code: VoterChangeCode;
  constructor(code: VoterChangeCode, message: string) {
    super(message);
    this.code = code;
  }
}

/** How a configuration heard of relates to one's own. */
export type ConfigOrder =
  /** Higher epoch: store it. */
  | 'newer'
  /** The same configuration. */
  | 'same'
  /** Lower epoch: keep one's own. */
  | 'older'
  /** Same epoch, other content: refused (a proposal from the other side of a split). */
  | 'conflict';

const sorted = (xs: Iterable<string>): string[] => [...new Set(xs)].sort();

/** The first configuration of a federation: `voters` from the YAML, epoch 1. */
export function initialVoterConfig(voters: Iterable<string>, learners: Iterable<string> = []): VoterConfig {
  const v = sorted(voters);
  const l = sorted(learners).filter((m) => !v.includes(m));
  if (v.length === 0) throw new VoterChangeError('LAST_VOTER', 'a configuration needs at least one voter');
  if (v.length + l.length > MAX_CONTROLLERS) throw new VoterChangeError('TOO_MANY_MEMBERS', `at most ${MAX_CONTROLLERS} controllers`);
  return { epoch: 1, voters: v, learners: l };
}

/** A canonical text of the whole configuration: equal exactly when the configurations are. */
export function configId(c: VoterConfig): string {
  return `${c.epoch}:${c.voters.join(',')}|${c.learners.join(',')}${c.joint === undefined ? '' : `|joint:${c.joint.join(',')}`}`;
}

/** How `theirs` relates to `mine` (the adopt rule). */
export function compareConfigs(mine: VoterConfig, theirs: VoterConfig): ConfigOrder {
  if (theirs.epoch > mine.epoch) return 'newer';
  if (theirs.epoch < mine.epoch) return 'older';
  return configId(theirs) === configId(mine) ? 'same' : 'conflict';
}

/** True when a peer whose configuration is `theirs` counts for a controller on `mine` (the count rule). */
export function peerCounts(mine: VoterConfig, theirs: VoterConfig | undefined): boolean {
  if (theirs === undefined) return false;
  const order = compareConfigs(mine, theirs);
  return order === 'same' || order === 'older';
}

/** Every controller the configuration names: voters, learners, and the old voters of a joint one. */
export function configMembers(c: VoterConfig): string[] {
  return sorted([...c.voters, ...c.learners, ...(c.joint ?? [])]);
}

/** True when `member` may accept writes under `c` (when it holds quorum): a voter of the new set. */
export function isVoter(c: VoterConfig, member: string): boolean {
  return c.voters.includes(member);
}

/** One voter set's share of a quorum decision. */
export interface VoterSetCount {
  /** The set's voters. */
  voters: readonly string[];
  /** Of them, those counted. */
  counted: number;
  /** Votes needed: a strict majority of the set. */
  needed: number;
}

/** The quorum decision under a (possibly joint) configuration. */
export interface VoterQuorum {
  haveQuorum: boolean;
  /** The new (or only) set first, then the old set of a joint configuration. */
  sets: VoterSetCount[];
}

/**
 * Whether the controllers in `counted` (this controller and the reached peers that `peerCounts`) hold
 * quorum under `c`: a strict majority of the voters, and under a joint configuration of the old voters
 * too. The caller decides whether this controller itself may write (`isVoter`).
 */
export function voterQuorum(c: VoterConfig, counted: ReadonlySet<string>): VoterQuorum {
  const count = (voters: readonly string[]): VoterSetCount => {
    let n = 0;
    for (const v of voters) if (counted.has(v)) n++;
    return { voters, counted: n, needed: controllerMajority(voters.length) };
  };
  const sets = [count(c.voters), ...(c.joint === undefined ? [] : [count(c.joint)])];
  return { haveQuorum: sets.every((s) => s.counted >= s.needed), sets };
}

/** True when the joint configuration `c` may be committed: a quorum of each of its voter sets is in `stored`. */
export function committable(c: VoterConfig, stored: ReadonlySet<string>): boolean {
  return c.joint !== undefined && voterQuorum(c, stored).haveQuorum;
}

/**
 * `c` with `change` applied, one epoch higher. Throws VoterChangeError when the change does not apply.
 * (Whether the proposer holds quorum, and for a commit whether the configuration is `committable`, is
 * the caller's to check.)
 */
export function applyVoterChange(c: VoterConfig, change: VoterChange): VoterConfig {
  const epoch = c.epoch + 1;
  if (change.op === 'commit') {
    if (c.joint === undefined) throw new VoterChangeError('NOTHING_TO_COMMIT', `epoch ${c.epoch} has no voter change in progress`);
    return { epoch, voters: c.voters, learners: c.learners };
  }
  const m = change.member;
  if (c.joint !== undefined) {
    throw new VoterChangeError('CHANGE_IN_PROGRESS', `a voter change is in progress (epoch ${c.epoch}): one voter change at a time`);
  }
  switch (change.op) {
    case 'add-learner':
      if (configMembers(c).includes(m)) throw new VoterChangeError('ALREADY_MEMBER', `${m} is already a member`);
      if (c.voters.length + c.learners.length >= MAX_CONTROLLERS) throw new VoterChangeError('TOO_MANY_MEMBERS', `at most ${MAX_CONTROLLERS} controllers`);
      return { epoch, voters: c.voters, learners: sorted([...c.learners, m]) };
    case 'promote':
      if (!c.learners.includes(m)) throw new VoterChangeError('NOT_A_LEARNER', `${m} is not a learner`);
      return { epoch, voters: sorted([...c.voters, m]), learners: c.learners.filter((l) => l !== m), joint: c.voters };
    case 'remove':
      if (c.learners.includes(m)) return { epoch, voters: c.voters, learners: c.learners.filter((l) => l !== m) };
      if (!c.voters.includes(m)) throw new VoterChangeError('NOT_A_MEMBER', `${m} is not a member`);
      if (c.voters.length === 1) throw new VoterChangeError('LAST_VOTER', `${m} is the last voter`);
      return { epoch, voters: c.voters.filter((v) => v !== m), learners: c.learners, joint: c.voters };
  }
}
