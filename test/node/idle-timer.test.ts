// The idle deadline the admin server closes idle connections with (node/util/idle-timer.ts), on a
// fake clock: it fires once idleMs pass without a touch while armed, touches restart it, and it
// never fires while disarmed (a call in flight) or after it fired.
import t from 'tap';
import type { TimerComponents } from '../../node/host/timer-components.ts';
import { IdleTimer } from '../../node/util/idle-timer.ts';

function fakeTimers(): TimerComponents & { now: number; advance(ms: number): void; pending(): number } {
  const due = new Map<number, { at: number; fn: () => void }>();
  let next = 1;
  const timers = {
    now: 0,
    nowMs: () => timers.now,
    setTimeout: (fn: () => void, ms: number): unknown => { due.set(next, { at: timers.now + ms, fn }); return next++; },
    clearTimeout: (h: unknown): void => { due.delete(h as number); },
    setImmediate: (fn: () => void): void => { due.set(next++, { at: timers.now, fn }); },
    advance(ms: number): void {
      const end = timers.now + ms;
      for (;;) {
        const first = [...due].filter(([, d]) => d.at <= end).sort((a, b) => a[1].at - b[1].at)[0];
        if (first === undefined) break;
        due.delete(first[0]);
        timers.now = first[1].at;
        first[1].fn();
      }
      timers.now = end;
    },
    pending: () => due.size,
  };
  return timers;
}

t.test('fires after idleMs without a touch; touches restart the count', async (t) => {
  const timers = fakeTimers();
  let fired = 0;
  const idle = new IdleTimer(timers, 100, () => { fired++; });
  idle.arm();
  timers.advance(99);
  idle.touch();
  timers.advance(99);
  t.equal(fired, 0, 'each touch gives it idleMs again');
  timers.advance(1);
  t.equal(fired, 1, 'idleMs after the last touch');
  idle.touch();
  timers.advance(1_000);
  t.equal(fired, 1, 'fired once; a touch after that does not re-arm it');
  t.equal(timers.pending(), 0, 'no timer left behind');
});

t.test('disarmed it never fires; armed again it counts from then', async (t) => {
  const timers = fakeTimers();
  let fired = 0;
  const idle = new IdleTimer(timers, 100, () => { fired++; });
  idle.arm();
  timers.advance(50);
  idle.disarm();
  idle.touch();
  timers.advance(1_000);
  t.equal(fired, 0, 'a long call is not idleness');
  t.equal(timers.pending(), 0);
  idle.arm();
  timers.advance(99);
  t.equal(fired, 0);
  timers.advance(1);
  t.equal(fired, 1);
});
