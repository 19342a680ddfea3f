// The clocks of a node. The failure detector, contact windows and timers run on a monotonic clock so
// that wall-clock steps (NTP, an operator's `date -s`) do not touch them at all; certificate validity
// and HLC stamps use the wall clock, which is what they are defined against.

/** Milliseconds on a monotonic clock, expressed near Unix time (readable in events, never steps). */
export function monotonicMs(): number {
  return performance.timeOrigin + performance.now();
}

/** A physical (wall) clock: milliseconds since the Unix epoch. It may step, forwards or back. */
export type WallClock = () => number;

/**
 * The system wall clock. Nodes take a WallClock option (default this one) for everything stamped with
 * physical time — HLC stamps of writes and heartbeats, the clock-offset check — so a test can run one
 * node of a federation with a skewed clock, in one process, without touching Date.
 */
export const systemWallClock: WallClock = () => Date.now();
