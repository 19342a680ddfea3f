// How long a voter waits after committing a membership epoch before it accepts a voter change
// (members-acceptor.ts, "Settling"). The other controllers count it by the epoch of its latest clock
// probe answer, at most one probe cycle old (rttIntervalMs + rttTimeoutMs, write-fence.ts); the wait
// is that cycle, stretched by the clock rate drift bound, plus a margin for timers firing late. A
// controller with a longer cycle relies on this one's answers only for this one's cycle (each clock
// answer carries it: epochValidMs), so the wait covers every controller's counting.
import { ASSUMED_CLOCK_RATE_DRIFT_PPM } from '../../quorum/index.ts';

/** Added to the probe cycle: timers that fire late, ms. */
export const SETTLE_MARGIN_MS = 100;

/** The settle time of a controller with these probe settings, ms. */
export function settleMsFor(c: { rttIntervalMs: number; rttTimeoutMs: number }): number {
  const cycleMs = c.rttIntervalMs + c.rttTimeoutMs;
  return Math.ceil(cycleMs * (1 + ASSUMED_CLOCK_RATE_DRIFT_PPM / 1e6)) + SETTLE_MARGIN_MS;
}
