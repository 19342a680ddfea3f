// Time for components that run timers (link liveness, the reconnector): injectable, so tests can run
// them on a fake clock; the defaults are the monotonic clock and Node's timers.
import { monotonicMs } from '../util/clock.ts';

/** Opaque timer handle. */
export type TimerHandle = unknown;

/** The clock and timers a component uses. */
export interface TimerComponents {
  /** Monotonic milliseconds. */
  nowMs(): number;
  /** Run `fn` after `ms` milliseconds; the timer does not keep the process alive. */
  setTimeout(fn: () => void, ms: number): TimerHandle;
  /** Cancel a timer (undefined is ignored). */
  clearTimeout(handle: TimerHandle): void;
  /**
   * Run `fn` in the next turn of the event loop, after the I/O callbacks and microtasks of this one
   * (Node's setImmediate): work the current turn is still producing can gather first.
   */
  setImmediate(fn: () => void): void;
}

/** The real clock and timers. */
export const REAL_TIMERS: TimerComponents = Object.freeze({
  nowMs: monotonicMs,
  setTimeout: (fn: () => void, ms: number): TimerHandle => setTimeout(fn, ms).unref(),
  clearTimeout: (handle: TimerHandle): void => clearTimeout(handle as ReturnType<typeof setTimeout> | undefined),
  setImmediate: (fn: () => void): void => { setImmediate(fn).unref(); },
});

/** `partial` over the real timers. */
export function timerComponents(partial: Partial<TimerComponents> | undefined): TimerComponents {
  return partial === undefined ? REAL_TIMERS : { ...REAL_TIMERS, ...partial };
}
