// When an agent checks its replica against the controller it follows again, within one session. The
// live config stream alone is not enough: a record refused from it (the controller's clock stepped
// ahead, so its stamp was past maxClockOffset here) or lost with it is never sent again, and a
// session's first catch-up is the only other path. So a session repeats the catch-up: every
// `periodMs` (one root comparison, a single round trip, when nothing differs), and after a catch-up
// or live batch that refused records, sooner: `afterRefusalMs`, doubling with each further refusing
// round up to the period (a refusal that persists, such as a skew not yet healed, costs little).
// Both come from the failover health-check interval: the pace at which the agent already talks to
// its controller.

/** The periodic catch-up runs every this many health-check intervals. */
export const RESYNC_HEALTH_CHECKS = 6;
/** Bounds of the periodic catch-up interval, ms. */
export const RESYNC_PERIOD_MS_MIN = 1_000;
export const RESYNC_PERIOD_MS_MAX = 300_000;

/** The intervals of one agent's repeated catch-ups. */
export interface ResyncSchedule {
  /** Between two catch-ups when nothing was refused, ms. */
  periodMs: number;
  /** Before the catch-up that follows a refusal, ms (then doubling, up to periodMs). */
  afterRefusalMs: number;
}

/** The schedule for an agent's failover.healthCheckIntervalMs. */
export function resyncSchedule(healthCheckIntervalMs: number): ResyncSchedule {
  const periodMs = Math.min(RESYNC_PERIOD_MS_MAX, Math.max(RESYNC_PERIOD_MS_MIN, healthCheckIntervalMs * RESYNC_HEALTH_CHECKS));
  return { periodMs, afterRefusalMs: Math.min(periodMs, healthCheckIntervalMs) };
}

/**
 * Delay before the next catch-up, ms, given how many rounds in a row (since the last catch-up that
 * refused nothing) refused records: 0 is the period; 1 is afterRefusalMs, 2 twice that, ..., at most
 * the period.
 */
export function nextResyncMs(s: ResyncSchedule, refusingRounds: number): number {
  if (refusingRounds <= 0) return s.periodMs;
  const doublings = Math.min(refusingRounds - 1, 30);
  return Math.min(s.periodMs, s.afterRefusalMs * 2 ** doublings);
}
