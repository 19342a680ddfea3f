// When a learner is caught up enough to become a voter (live membership: `members add` without
// --no-promote). A voter runs an anti-entropy session with the learner (it repairs what differs both
// ways) and promotes it when that session found the two stores within `differingKeysMax` keys of each
// other and refused nothing: the catch-up itself is done by earlier sessions, and what is left is
// the writes of the last moment, which push replication carries. Promoting earlier would not be
// unsafe (a voter's copy counts only once stored, and anti-entropy goes on), but a voter far behind
// would make quorum writes wait for copies it cannot give yet.

/** How often a voter looks for learners to promote, ms. */
export const PROMOTE_CHECK_INTERVAL_MS = 1_000;

/** Keys an anti-entropy session may still find different for the learner to count as caught up. */
export const PROMOTE_DIFFERING_KEYS_MAX = 64;

/** What isCaughtUp reads of an anti-entropy session. */
export interface CatchUpReport {
  inSync: boolean;
  differingKeys: number;
  rejected: number;
}

/** Whether a learner whose session with a voter ended as `r` is caught up. */
export function isCaughtUp(r: CatchUpReport, differingKeysMax = PROMOTE_DIFFERING_KEYS_MAX): boolean {
  return r.rejected === 0 && (r.inSync || r.differingKeys <= differingKeysMax);
}
