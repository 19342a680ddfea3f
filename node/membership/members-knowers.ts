// The knowers rule of AgentAssisted voter changes (quorum/agent-epochs.ts), as a proposer runs it
// before each round: wait until the controllers and agents on this controller's epoch hold quorum
// (WriteFence.epochQuorum; agents reach the new epoch as they renew their leases, a third of a lease),
// then wait one settle, so no controller still counts one of them by a reading from an older epoch
// once the value can be chosen. SPREADING when they do not hold quorum within `waitMaxMs`.
import { sleep, type TimerComponents } from '../components.ts';
import type { TallyResult } from '../../quorum/index.ts';
import { ProposeError } from './members-proposer.ts';

/** How often the rule is checked while it does not hold, ms. */
export const KNOWERS_RETRY_MS = 100;

/** What the wait reads. */
export interface KnowersWaitOptions {
  /** The knowers tally now. */
  epochQuorum: () => TallyResult;
  /** The epoch committed here now (the wait ends early when it moves: the round starts on the new one). */
  committedEpoch: () => number;
  /** One settle (members-settle.ts). */
  settleMs: number;
  /** Longest wait for the rule to hold, ms. */
  waitMaxMs: number;
  timers: TimerComponents;
}

/** Wait for the knowers rule on `epoch`, then one settle; see the file comment. */
export async function awaitKnowers(o: KnowersWaitOptions, epoch: number): Promise<void> {
  const deadlineMs = o.timers.nowMs() + o.waitMaxMs;
  for (;;) {
    if (o.committedEpoch() !== epoch) return;
    const t = o.epochQuorum();
    if (t.haveQuorum) {
      await sleep(o.timers, o.settleMs);
      return;
    }
    if (o.timers.nowMs() >= deadlineMs) {
      const prior = t.prior === undefined ? '' : `; by the voters before the last change ${t.prior.votes} of ${t.prior.total}, threshold ${t.prior.threshold}`;
      throw new ProposeError('SPREADING', `the controllers and agents on membership epoch ${epoch} hold ${t.votes} of ${t.total} votes, threshold ${t.threshold}${prior}: ` +
        'a change waits until the last one has reached a quorum of them (agents learn it as they renew their vote leases); try again');
    }
    await sleep(o.timers, KNOWERS_RETRY_MS);
  }
}
