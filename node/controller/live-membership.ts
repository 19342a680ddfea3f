// What a controller does with each membership record it commits (live membership, issue 21), and the
// promotion of caught-up learners. The record decides, from the moment it is committed here:
//   - who may connect as a controller: every controller it lists is admitted under its name and peer
//     ID (AuthService.admitController; the record wins over the configuration's pins), and is dialed
//     at the endpoints it lists;
//   - with whom this controller replicates (every listed controller, learners included) and whose
//     copies count for quorum durability (the voters): Replicator.setControllers;
//   - whose votes count for the write fence, and by which epoch (WriteFence.setMembers): a learner,
//     this controller included, never counts.
// A controller the record does not list keeps what it had: it was removed (its own refusal of every
// connection is MembersService.removed), or the record is older than its configuration.
//
// A peer that answers a clock probe with a newer epoch than this controller's holds a record this one
// has not committed (a commit it was not told, being cut off or down): this controller asks that peer
// for it at once, rather than at its next periodic round, since the write fence does not count a peer
// on a newer epoch (one fetch in flight per peer).
//
// Promotion: a learner added with autoPromote becomes a voter once caught up. The voter that proposes
// it is the first by name among the voters this one reaches (itself included), so two controllers that
// reach each other do not compete (Paxos settles it if they do). Caught up is judged by an
// anti-entropy session with the learner run from here (promotion.ts isCaughtUp).
//
// In AgentAssisted mode (`finishVoterChanges`) a voter that has held an accepted value for the next
// epoch for `undecidedAfterMs` finishes that vote itself (MembersService.completeSlot): the agent
// registry does not change while one is pending, and a controller in doubt about its own removal
// refuses writes (quorum/agent-epochs.ts), so a proposer that went away must not leave either for good.
//
// Finishing (AgentAssisted, `finishVoterChanges`): a record made by a voter change keeps the voters
// before it, and the fence counts by both until the next change (quorum/agent-epochs.ts). The same
// first voter proposes `finish` (a change that only drops them) as soon as the knowers rule lets it,
// before any promotion.
import type { Logger } from 'pino';
import { every, type TimerComponents } from '../components.ts';
import type { FederationMembers } from '../../membership/federation-members.ts';
import { isCaughtUp, PROMOTE_CHECK_INTERVAL_MS } from '../../membership/promotion.ts';
import type { MembershipNode } from '../membership/membership-node.ts';
import type { MembersService } from '../membership/members-service.ts';
import type { Replicator } from '../replication/replicator.ts';
import type { WriteFence } from './write-fence.ts';

/** What the wiring reaches. */
export interface LiveMembershipParts {
  membership: Pick<MembershipNode, 'memberName' | 'auth' | 'authenticatedPeers' | 'addDialTarget' | 'on'>;
  members: MembersService;
  fence: Pick<WriteFence, 'setMembers' | 'reachable'>;
  replicator: Pick<Replicator, 'setControllers' | 'peerUp' | 'sync'>;
  timers: TimerComponents;
  /** Whether the node is running (promotion stops with it). */
  running: () => boolean;
  /** AgentAssisted: end each voter change's joint accounting with a `finish` change. */
  finishVoterChanges?: boolean;
  /**
   * How long a value accepted here stays undecided before this controller finishes the vote itself,
   * ms: longer than a proposer waits for settling voters (4 settles), so it does not race a live one.
   */
  undecidedAfterMs: number;
  logger?: Logger;
}

/** Apply `record` to the parts (see the file comment). */
export function applyMembersRecord(p: LiveMembershipParts, record: FederationMembers): void {
  const self = p.membership.memberName;
  if (!record.controllers.some((c) => c.name === self)) return;
  for (const c of record.controllers) {
    if (c.name === self) continue;
    p.membership.auth.admitController(c.name, c.peerId);
    for (const addr of c.endpoints) p.membership.addDialTarget(addr.includes('/p2p/') ? addr : `${addr}/p2p/${c.peerId}`);
  }
  p.replicator.setControllers(record.controllers.map((c) => c.name), record.voters);
  p.fence.setMembers({ epoch: record.epoch, voters: record.voters, ...(record.priorVoters === undefined ? {} : { priorVoters: record.priorVoters }) });
  // Controllers that authenticated before the record listed them (a joiner, a controller added while
  // connected) replicate from now on.
  const listed = new Set(record.controllers.map((c) => c.name));
  for (const peer of p.membership.authenticatedPeers()) if (peer.role === 'controller' && listed.has(peer.member)) p.replicator.peerUp(peer.member);
}

/** Apply the committed record now and each newer one, and promote caught-up learners; returns the stop function. */
export function wireLiveMembership(p: LiveMembershipParts): () => void {
  applyMembersRecord(p, p.members.committed);
  const offAdopted = p.members.onAdopted((record) => applyMembersRecord(p, record));
  const fetching = new Set<string>();
  const offSamples = p.membership.on('clock-sample', (c) => {
    if (c.epoch === undefined || c.epoch <= p.members.committed.epoch || fetching.has(c.member)) return;
    fetching.add(c.member);
    void p.members.catchUp(c.member).finally(() => fetching.delete(c.member));
  });
  let busy = false;
  // The slot this controller has been in doubt about, and since when (monotonic ms).
  let inDoubt: { epoch: number; sinceMs: number } | undefined;
  const stopTimer = every(p.timers, PROMOTE_CHECK_INTERVAL_MS, () => {
    if (busy || !p.running()) return;
    busy = true;
    const epoch = p.members.committed.epoch;
    const pending = p.finishVoterChanges === true && p.members.acceptor.acceptor.accepted !== undefined;
    const nowMs = p.timers.nowMs();
    if (!pending) inDoubt = undefined;
    else if (inDoubt?.epoch !== epoch) inDoubt = { epoch, sinceMs: nowMs };
    const complete = inDoubt !== undefined && nowMs - inDoubt.sinceMs >= p.undecidedAfterMs;
    const work = complete
      ? p.members.completeSlot().then((r) => { if (r !== undefined) p.logger?.info({ epoch: r.epoch }, 'finished a membership vote left undecided'); },
        (err: unknown) => { p.logger?.debug({ err: (err as Error).message }, 'a membership vote left undecided not finished this round'); })
      : promoteCaughtUp(p);
    void work.finally(() => { busy = false; });
  });
  return () => {
    offAdopted();
    offSamples();
    stopTimer();
  };
}

// One promotion round: the first learner to promote, if this controller is the one to do it.
async function promoteCaughtUp(p: LiveMembershipParts): Promise<void> {
  const record = p.members.committed;
  const self = p.membership.memberName;
  if (!record.voters.includes(self) || p.members.removed) return;
  const learners = record.controllers.filter((c) => c.autoPromote && record.learners.includes(c.name));
  const finish = p.finishVoterChanges === true && record.priorVoters !== undefined;
  if (learners.length === 0 && !finish) return;
  const reached = new Set(p.fence.reachable());
  const first = record.voters.find((v) => v === self || reached.has(v));
  if (first !== self) return;
  if (finish) {
    try {
      const { record: after } = await p.members.propose({ op: 'finish' });
      p.logger?.info({ epoch: after.epoch }, 'voter change finished: counted by the new voters alone');
    } catch (err) {
      p.logger?.debug({ err: (err as Error).message }, 'voter change not finished this round');
    }
    return;
  }
  const connected = new Set(p.membership.authenticatedPeers().filter((x) => x.role === 'controller').map((x) => x.member));
  for (const l of learners) {
    if (!connected.has(l.name)) continue;
    try {
      const report = await p.replicator.sync(l.name);
      if (!isCaughtUp(report)) continue;
      const { record: after } = await p.members.propose({ op: 'promote', name: l.name });
      p.logger?.info({ member: l.name, epoch: after.epoch }, 'learner caught up: promoted to voter');
      return; // one voter change at a time
    } catch (err) {
      p.logger?.debug({ member: l.name, err: (err as Error).message }, 'learner not promoted this round');
    }
  }
}
