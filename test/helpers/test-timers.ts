// The real clock and timers for tests that drive node parts over in-memory streams. REAL_TIMERS
// (node/host/timer-components.ts) unref their timers: in a node, its sockets keep the process alive.
// An in-memory stream holds nothing open, so a test waiting on a deadline alone would end early
// ("test unfinished"); these timers keep the process alive while they are pending.
import { REAL_TIMERS, type TimerComponents, type TimerHandle } from '../../node/host/timer-components.ts';

/** Real monotonic clock; timers that keep the process alive. */
export const TEST_TIMERS: TimerComponents = Object.freeze({
  nowMs: REAL_TIMERS.nowMs,
  setTimeout: (fn: () => void, ms: number): TimerHandle => setTimeout(fn, ms),
  clearTimeout: (handle: TimerHandle): void => clearTimeout(handle as ReturnType<typeof setTimeout> | undefined),
});
