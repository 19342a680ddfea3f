// The knowers rule of AgentAssisted voter changes (quorum/agent-epochs.ts), as a proposer runs it
// before each round: wait until those not known to be on this controller's epoch could not hold
// quorum among the voters before its change (WriteFence.knowersBlock; agents reach the new epoch as
// they renew their leases, a third of a lease), then wait one settle, so no controller still counts
// one that is by a reading from an older epoch once the value can be chosen. SPREADING when that does
// not happen within `waitMaxMs`.
import { sleep, type TimerComponents } from '../components.ts';
import type { KnowersResult } from '../../quorum/index.ts';
import { ProposeError } from './members-proposer.ts';

/** How often the rule is checked while it does not hold, ms. */
export const KNOWERS_RETRY_MS = 100;

/** What the wait reads. */
export interface KnowersWaitOptions {
  /** The knowers rule now. */
  knowersBlock: () => KnowersResult;
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
    const k = o.knowersBlock();
    if (k.blocked) {
      await sleep(o.timers, o.settleMs);
      return;
    }
    if (o.timers.nowMs() >= deadlineMs) {
      const t = k.outside;
      throw new ProposeError('SPREADING', `known to be on membership epoch ${epoch}: ${k.knownControllers.join(', ')} and the agents that voted on it; the others could still hold ${t?.votes ?? 0} of ${t?.total ?? 0} votes (threshold ${t?.threshold ?? 0}) among the voters before the change: ` +
        'a change waits until the last one has reached enough of them (agents learn it as they renew their vote leases); try again');
    }
    await sleep(o.timers, KNOWERS_RETRY_MS);
  }
}
