// The real clock and timers for tests that drive node parts over in-memory streams. REAL_TIMERS
// (node/host/timer-components.ts) unref their timers: in a node, its sockets keep the process alive.
// An in-memory stream holds nothing open, so a test waiting on a deadline alone would end early
// ("test unfinished"); these timers keep the process alive while they are pending — until the
// test file's last test has ended. Then the ones still pending (the deadlines node code leaves to
// fire, such as an anti-entropy session's, ten sync timeouts long) are unref'd, so the file's
// process exits at once instead of waiting them out.
import t from 'tap';
import { REAL_TIMERS, type TimerComponents, type TimerHandle } from '../../node/host/timer-components.ts';

const pending = new Set<ReturnType<typeof setTimeout>>();
let released = false;
t.teardown(() => {
  released = true;
  for (const h of pending) h.unref();
  pending.clear();
});

/** Real monotonic clock; timers that keep the process alive while the file's tests run. */
export const TEST_TIMERS: TimerComponents = Object.freeze({
  nowMs: REAL_TIMERS.nowMs,
  setTimeout: (fn: () => void, ms: number): TimerHandle => {
    const h: ReturnType<typeof setTimeout> = setTimeout(() => {
      pending.delete(h);
      fn();
    }, ms);
    if (released) h.unref(); else pending.add(h);
    return h;
  },
  clearTimeout: (handle: TimerHandle): void => {
    const h = handle as ReturnType<typeof setTimeout> | undefined;
    if (h !== undefined) pending.delete(h);
    clearTimeout(h);
  },
  setImmediate: REAL_TIMERS.setImmediate,
});
