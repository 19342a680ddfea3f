// Deciding each voter configuration's successor (live membership, issue 21), with the liveness that
// quorum/voter-config.ts lacks: two proposals made at once from one epoch can no longer block the
// federation, because any controller can finish or replace a stuck proposal.
//
// The successor of epoch e ("slot e+1") is decided by single-decree Paxos among the voters of epoch e:
//   prepare   a proposer picks a ballot above every one it has seen and asks the voters of e to
//             promise it; a voter promises a ballot above any it promised, and answers with what it
//             accepted for the slot, if anything. A voter takes part only once it has committed e.
//   accept    with promises from a majority of the voters of e, the proposer asks them to accept the
//             value of the highest-ballot acceptance among the promises, or, with none, its own
//             change; a voter accepts unless it promised a higher ballot.
//   chosen    the slot's value is chosen once a majority of the voters of e, and of the voters of the
//             value itself, accepted it in one ballot (isChosen; prepare needs the voters of e only);
//             whoever learns that commits epoch e+1 (durably) and tells the others, who commit it too
//             (fetching it first if need be). Paxos: at most one value is ever chosen per slot, and a
//             proposer of a higher ballot always carries a value that may have been chosen.
//
// The value is the next configuration, and it differs from the current one by ONE voter at most (add
// or remove one voter; learners come and go freely). Any majority of a voter set and any majority of
// the set one voter more or less intersect, which is what the counting rule needs:
//
//   count     a controller counts a reached peer's vote only when the peer has committed the same
//             epoch as itself or an older one (known from the peer's heartbeats and acknowledgements),
//             never a newer one.
//
// Why two sides that cannot exchange data never both hold quorum across changes: suppose X holds a
// majority of the voters of e on its side, and Y, on the other side, a majority of the voters of f ≥ e.
//   f ≤ e+1: the two majorities intersect (at most one voter apart), and a controller is on one side.
//   f ≥ e+2: e+2 was chosen, by a majority B of the voters of e+1 that had committed e+1 to take part,
//            so B never counts for X again (epochs never go back, and newer peers do not count); X's
//            majority of the voters of e intersects B (one voter apart): it counts one of B, a
//            contradiction.
// Checked: test/quorum/voter-slot.test.ts checks the rules one by one and Paxos's agreement over
// random schedules; test/quorum/voter-slot-explorer.ts explores every interleaving of the Paxos
// messages of concurrent proposers over one and two changes, and voter-epoch-explorer.ts every
// interleaving of choices, commits and adoptions several epochs deep, each against every split of the
// network (test/quorum/voter-slot-explorer.test.ts). node/ runs it (node/membership/members-*.ts);
// it replaced voter-config.ts's joint configurations, which need no ballots but can block.
//
// As shipped, a controller does not see a peer's epoch at the instant: it counts the peer by the
// epoch of its latest clock answer, which may be up to one probe cycle old, and a voter therefore
// waits that long after committing an epoch before it accepts a voter change (settling,
// node/membership/members-acceptor.ts). voter-epoch-explorer.ts with `staleReadings` checks that
// pair of rules, and finds a split without the wait.
//
// What it costs: while a commit spreads, a controller still on e does not count those on e+1, so a
// write to it in that instant (about one round trip) may be fenced; a voter change waits one probe
// cycle after the previous one; adding or removing a learner does not change the voters.

import type { VoterConfig } from './voter-config.ts';

/** A Paxos ballot: a round, made unique by the proposer's name. Ordered by round, then proposer. */
export interface Ballot {
  readonly round: number;
  readonly proposer: string;
}

/** Negative, zero or positive as `a` is below, equal to or above `b`. */
export function compareBallots(a: Ballot, b: Ballot): number {
  if (a.round !== b.round) return a.round - b.round;
  return a.proposer < b.proposer ? -1 : a.proposer > b.proposer ? 1 : 0;
}

/** A ballot above `seen` for `proposer`. */
export function nextBallot(seen: Ballot | undefined, proposer: string): Ballot {
  return { round: (seen?.round ?? 0) + 1, proposer };
}

/**
 * What one voter holds for the slot after its committed epoch. `C` is the value decided: a voter
 * configuration, or a record that carries one (membership/federation-members.ts).
 */
export interface SlotAcceptor<C extends VoterConfig = VoterConfig> {
  /** The epoch this voter has committed; the slot is epoch + 1. */
  readonly epoch: number;
  /** Highest ballot promised for the slot. */
  readonly promised?: Ballot;
  /** What it accepted for the slot, if anything. */
  readonly accepted?: { readonly ballot: Ballot; readonly config: C };
}

/** The acceptor state of a voter that has just committed `epoch`: nothing promised for the next slot. */
export function freshAcceptor<C extends VoterConfig = VoterConfig>(epoch: number): SlotAcceptor<C> {
  return { epoch };
}

/** A voter's answer to prepare: a promise (with what it accepted), or a refusal with what it knows. */
export type PrepareAnswer<C extends VoterConfig = VoterConfig> =
  | { ok: true; accepted?: { ballot: Ballot; config: C } }
  | { ok: false; why: 'LOWER_BALLOT'; promised: Ballot } | { ok: false; why: 'OTHER_EPOCH'; epoch: number };

/** Prepare for the slot after `epoch` with `ballot`: the voter's new state and its answer. */
export function onPrepare<C extends VoterConfig>(a: SlotAcceptor<C>, epoch: number, ballot: Ballot): { acceptor: SlotAcceptor<C>; answer: PrepareAnswer<C> } {
  if (epoch !== a.epoch) return { acceptor: a, answer: { ok: false, why: 'OTHER_EPOCH', epoch: a.epoch } };
  if (a.promised !== undefined && compareBallots(ballot, a.promised) <= 0) {
    return { acceptor: a, answer: { ok: false, why: 'LOWER_BALLOT', promised: a.promised } };
  }
  return { acceptor: { ...a, promised: ballot }, answer: { ok: true, ...(a.accepted === undefined ? {} : { accepted: a.accepted }) } };
}

/** A voter's answer to accept. */
export type AcceptAnswer = { ok: true } | { ok: false; why: 'LOWER_BALLOT'; promised: Ballot } | { ok: false; why: 'OTHER_EPOCH'; epoch: number };

/** Accept `config` for the slot after `epoch` in `ballot`: the voter's new state and its answer. */
export function onAccept<C extends VoterConfig>(a: SlotAcceptor<C>, epoch: number, ballot: Ballot, config: C): { acceptor: SlotAcceptor<C>; answer: AcceptAnswer } {
  if (epoch !== a.epoch) return { acceptor: a, answer: { ok: false, why: 'OTHER_EPOCH', epoch: a.epoch } };
  if (a.promised !== undefined && compareBallots(ballot, a.promised) < 0) {
    return { acceptor: a, answer: { ok: false, why: 'LOWER_BALLOT', promised: a.promised } };
  }
  return { acceptor: { epoch: a.epoch, promised: ballot, accepted: { ballot, config } }, answer: { ok: true } };
}

/**
 * The value a proposer must carry after its promises: the configuration of the highest-ballot
 * acceptance among them, or, with none, its own.
 */
export function valueToPropose<C extends VoterConfig>(promises: ReadonlyArray<{ accepted?: { ballot: Ballot; config: C } }>, own: C): C {
  let best: { ballot: Ballot; config: C } | undefined;
  for (const p of promises) {
    if (p.accepted !== undefined && (best === undefined || compareBallots(p.accepted.ballot, best.ballot) > 0)) best = p.accepted;
  }
  return best?.config ?? own;
}

/** Strict majority of a voter set. */
export function majority(voters: readonly string[]): number {
  return Math.floor(voters.length / 2) + 1;
}

/** Whether the members in `answered` are a majority of `voters` (members outside the set do not count). */
export function isMajorityOf(voters: readonly string[], answered: Iterable<string>): boolean {
  const set = new Set(answered);
  let n = 0;
  for (const v of voters) if (set.has(v)) n++;
  return n >= majority(voters);
}

/**
 * Whether `value`, accepted in one ballot for the slot after `current` by the members in `acceptedBy`,
 * is chosen: by a majority of the voters of `current` (which any prepare majority meets: Paxos
 * agreement) AND of the voters of `value` (a voter being added accepts too, having committed `current`
 * as a learner), so the new configuration is durable on a majority of both voter sets when it takes
 * effect.
 */
export function isChosen(current: VoterConfig, value: VoterConfig, acceptedBy: Iterable<string>): boolean {
  const set = [...acceptedBy];
  return isMajorityOf(current.voters, set) && isMajorityOf(value.voters, set);
}

/**
 * Whether `next` may succeed `current`: one epoch on, and at most one voter added or removed (learners
 * are free), with at least one voter left.
 */
export function isSingleVoterChange(current: VoterConfig, next: VoterConfig): boolean {
  if (next.epoch !== current.epoch + 1 || next.voters.length === 0 || next.joint !== undefined) return false;
  const before = new Set(current.voters);
  const after = new Set(next.voters);
  let added = 0;
  let removed = 0;
  for (const v of after) if (!before.has(v)) added++;
  for (const v of before) if (!after.has(v)) removed++;
  return added + removed <= 1;
}

/** The count rule: a peer's vote counts only when its committed epoch is known and not newer than this controller's. */
export function peerCountsAtEpoch(myEpoch: number, peerEpoch: number | undefined): boolean {
  return peerEpoch !== undefined && peerEpoch <= myEpoch;
}
