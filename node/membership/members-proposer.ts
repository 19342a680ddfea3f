// Proposing a membership change (`novactl federation members add|promote|remove`): one Paxos round
// after another (quorum/voter-slot.ts) until the change is committed, a majority cannot be reached,
// or the rounds run out.
//
//   1. The change is applied to the record this controller has committed (MemberChangeError when it
//      does not apply: nothing is sent).
//   2. prepare, with a ballot above every one seen, to the voters of that epoch; a majority of
//      promises is needed. A controller that has committed a newer epoch is fetched from and the
//      round starts again on its record; a higher promise raises the next ballot.
//   3. accept, of the value the promises impose (valueToPropose) or else of the change, to the voters
//      of the epoch and of the value; chosen once isChosen (a majority of both) accepted it.
//   4. The chosen record is committed here and told to every controller it names. If it was another
//      proposer's value (a proposal left half done), the change is tried again on top of it.
//
// A voter change is accepted by a voter only some time after it committed its epoch (SETTLING,
// members-acceptor.ts): when only settling voters keep the value from being chosen, the proposer
// waits a moment and starts the round again, without counting it, for at most settleWaitMaxMs.
//
// In AgentAssisted mode each round first waits for the knowers rule (`beforeRound`,
// members-knowers.ts): those not known to be on this controller's epoch could not hold quorum among
// the voters before its change, then one settle; SPREADING when that does not happen in time. Accepts
// then carry the agent registry version it counts by (`registryVersion`; REGISTRY from an acceptor on
// another, retried like SETTLING).
//
// With no change (`completeSlot`), a round only finishes what a voter accepted for the slot and was
// left undecided (its proposer went away): in AgentAssisted mode a controller that accepted its own
// removal refuses writes until it knows (MembersService.leaving), and the agent registry waits while
// a value is pending; this is how they get to know.
//
// The transport bounds each exchange (a deadline per request); an exchange that fails counts as no
// answer. Rounds are bounded by roundsMax, so competing proposers end with SUPERSEDED rather than
// looping; the caller may try again.
import { compareBallots, isChosen, isMajorityOf, nextBallot, valueToPropose, type Ballot } from '../../quorum/voter-slot.ts';
import { applyMemberChange, membersId, type FederationMembers, type MemberChange } from '../../membership/federation-members.ts';
import { CodedError } from '../errors.ts';
import type { MembersAcceptor } from './members-acceptor.ts';
import type { MembersReply, MembersRequest } from './members-messages.ts';

/** Rounds a proposal makes at most before giving up with SUPERSEDED. */
export const PROPOSE_ROUNDS_MAX = 8;

/** Asks another controller; rejects (or resolves undefined) when it cannot answer in time. */
export interface MembersTransport {
  ask(member: string, req: MembersRequest): Promise<MembersReply | undefined>;
}

/** Why a proposal did not commit (MemberChangeError covers a change that does not apply). */
export type ProposeCode =
  /** Fewer than a majority of the voters answered: this controller is cut off from them. */
  | 'NO_MAJORITY'
  /** Other proposers' higher ballots kept pre-empting this one for roundsMax rounds. */
  | 'SUPERSEDED'
  /** Voters still settling after their last epoch for longer than settleWaitMaxMs. */
  | 'SETTLING'
  /** AgentAssisted: the controllers and agents on this epoch did not hold quorum in time (members-knowers.ts). */
  | 'SPREADING';

export class ProposeError extends CodedError<ProposeCode> {}

/** Options of a proposal. */
export interface ProposeOptions {
  self: string;
  acceptor: MembersAcceptor;
  transport: MembersTransport;
  roundsMax?: number;
  /** Wait `ms` (the node's timers). */
  sleep: (ms: number) => Promise<void>;
  /** Longest the proposal waits for settling voters, ms (default 30 s). */
  settleWaitMaxMs?: number;
  /** Monotonic clock, ms. */
  nowMs: () => number;
  /** Awaited before each round, with the epoch it proposes on (the knowers rule in AgentAssisted mode). */
  beforeRound?: (epoch: number) => Promise<void>;
  /** AgentAssisted: the agent registry version this controller counts by, sent with each accept (acceptors on another refuse: REGISTRY). */
  registryVersion?: () => number;
}

/** How long a proposer waits before asking settling voters again, ms. */
export const SETTLE_RETRY_MS = 100;

/** The outcome: the record committed with the change, and the records of other proposals it finished on the way. */
export interface ProposeResult {
  record: FederationMembers;
  finished: FederationMembers[];
  /** The controllers that answered the commit of `record` having committed its epoch (or a later one), this one included. */
  committedBy: string[];
}

/** Propose `change` until it is committed; see the file comment. */
export function proposeMemberChange(o: ProposeOptions, change: MemberChange): Promise<ProposeResult> {
  return propose(o, change);
}

/**
 * Finish the slot after this controller's epoch when a voter accepted a value for it: the record
 * decided, or undefined when no voter of a majority that answered had accepted anything (nothing to
 * finish). ProposeError as proposeMemberChange.
 */
export async function completeSlot(o: ProposeOptions): Promise<FederationMembers | undefined> {
  const r = await propose(o, undefined);
  return r?.record;
}

async function propose(o: ProposeOptions, change: MemberChange): Promise<ProposeResult>;
async function propose(o: ProposeOptions, change: undefined): Promise<ProposeResult | undefined>;
async function propose(o: ProposeOptions, change: MemberChange | undefined): Promise<ProposeResult | undefined> {
  const roundsMax = o.roundsMax ?? PROPOSE_ROUNDS_MAX;
  const settleDeadlineMs = o.nowMs() + (o.settleWaitMaxMs ?? 30_000);
  const finished: FederationMembers[] = [];
  let highest: Ballot | undefined;
  const ask = async (member: string, req: MembersRequest): Promise<MembersReply | undefined> => {
    if (member === o.self) return o.acceptor.answer(req);
    try {
      return await o.transport.ask(member, req);
    } catch {
      return undefined;
    }
  };
  // Notes what a refusal teaches: a higher promise, or a newer epoch (fetched and adopted). True when
  // this controller moved to a newer epoch.
  const learn = async (member: string, r: MembersReply | undefined, epoch: number): Promise<boolean> => {
    if (r?.t !== 'refused') return false;
    if (r.promised !== undefined && (highest === undefined || compareBallots(r.promised, highest) > 0)) highest = r.promised;
    if (r.why !== 'OTHER_EPOCH' || r.epoch <= epoch) return false;
    const fetched = await ask(member, { t: 'fetch', epoch: r.epoch });
    return fetched?.t === 'record' && (await o.acceptor.adopt(fetched.value));
  };
  for (let round = 0; round < roundsMax; round++) {
    const checked = o.acceptor.committed.epoch;
    await o.beforeRound?.(checked);
    // A newer epoch committed meanwhile: check again on it (simulation seed 1890261: an add waiting
    // on epoch 1 went ahead on the epoch a removal had just made, unchecked, and ended its joint count).
    if (o.acceptor.committed.epoch !== checked) {
      round--;
      continue;
    }
    const current = o.acceptor.committed;
    const own = change === undefined ? undefined : applyMemberChange(current, change);
    const ballot = nextBallot(highest, o.self);
    highest = ballot;
    // Prepare.
    const prepared = await Promise.all(current.voters.map(async (v) => [v, await ask(v, { t: 'prepare', epoch: current.epoch, ballot })] as const));
    const promises: Array<{ member: string; accepted?: { ballot: Ballot; config: FederationMembers } }> = [];
    let moved = false;
    for (const [v, r] of prepared) {
      if (r?.t === 'promise' && r.epoch === current.epoch) promises.push({ member: v, ...(r.accepted === undefined ? {} : { accepted: { ballot: r.accepted.ballot, config: r.accepted.value } }) });
      else if (await learn(v, r, current.epoch)) moved = true;
    }
    if (moved) continue;
    if (!isMajorityOf(current.voters, promises.map((p) => p.member))) {
      const answered = prepared.filter(([, r]) => r !== undefined).map(([v]) => v);
      if (!isMajorityOf(current.voters, answered)) throw new ProposeError('NO_MAJORITY', `only ${answered.length} of the ${current.voters.length} voters of epoch ${current.epoch} answered`);
      continue; // refused by higher ballots: next round, above them
    }
    const carried = promises.some((p) => p.accepted !== undefined);
    if (own === undefined && !carried) return undefined; // nothing accepted: nothing to complete
    const value = valueToPropose(promises, own ?? current);
    // Accept.
    const acceptors = [...new Set([...current.voters, ...value.voters])];
    const registry = o.registryVersion?.();
    const accepted = await Promise.all(acceptors.map(async (v) => [v, await ask(v, { t: 'accept', epoch: current.epoch, ballot, value, ...(registry === undefined ? {} : { registry }) })] as const));
    const acceptedBy: string[] = [];
    for (const [v, r] of accepted) {
      if (r?.t === 'accepted' && r.epoch === current.epoch) acceptedBy.push(v);
      else if (await learn(v, r, current.epoch)) moved = true;
    }
    if (moved) continue;
    if (!isChosen(current, value, acceptedBy)) {
      const answered = accepted.filter(([, r]) => r !== undefined).map(([v]) => v);
      if (!isChosen(current, value, answered)) throw new ProposeError('NO_MAJORITY', `only ${answered.length} of the ${acceptors.length} acceptors of epoch ${current.epoch + 1} answered`);
      // Settling after their epoch, or on another agent registry version (it spreads by replication).
      const settling = accepted.filter(([, r]) => r?.t === 'refused' && (r.why === 'SETTLING' || r.why === 'REGISTRY')).map(([v]) => v);
      if (settling.length > 0 && isChosen(current, value, [...acceptedBy, ...settling])) {
        if (o.nowMs() >= settleDeadlineMs) throw new ProposeError('SETTLING', `${settling.join(', ')} still settling after epoch ${current.epoch}, or on another agent registry version; try again`);
        await o.sleep(SETTLE_RETRY_MS);
        round--; // not a contest with another proposer
      }
      continue;
    }
    // Chosen: commit here, tell the others.
    await o.acceptor.adopt(value);
    // (A removed controller is told too: it learns it is no longer a member.)
    const told = new Set([...current.controllers, ...value.controllers].map((c) => c.name).filter((n) => n !== o.self));
    const answers = await Promise.all([...told].map(async (n) => [n, await ask(n, { t: 'commit', value })] as const));
    const committedBy = [o.self, ...answers.filter(([, r]) => r?.t === 'accepted' && r.epoch >= value.epoch).map(([n]) => n)];
    if (own === undefined || membersId(value) === membersId(own)) return { record: value, finished, committedBy };
    finished.push(value);
  }
  throw new ProposeError('SUPERSEDED', `other proposals pre-empted this one ${roundsMax} times; try again`);
}
