// Failure detector, table-driven on a fake clock: thresholds at their edges, late heartbeats,
// recovery, flapping, a member that only ever sent one heartbeat, and clock jumps.

import t from 'tap';
import type { HealthCheckOptions } from '../../membership/health-check.ts';
import { FakeClockTable } from '../helpers/heartbeats.ts';

const I = 100;
const T = 40;
const hc = (failureThreshold: number, successThreshold: number): HealthCheckOptions =>
  ({ intervalMs: I, timeoutMs: T, failureThreshold, successThreshold });

t.test('a stopped member: Suspect after the first missed check, Unhealthy exactly at L + F*I + T', async (t) => {
  for (const F of [1, 2, 3, 5]) {
    const f = new FakeClockTable(hc(F, 1));
    const L = f.nowMs;
    f.send('c1');
    t.equal(f.state('c1'), 'Healthy', `F=${F}: healthy on its first heartbeat`);
    const unhealthyAt = L + F * I + T;
    f.runUntil(unhealthyAt - 1, 7);
    t.equal(f.state('c1'), F === 1 ? 'Healthy' : 'Suspect', `F=${F}: not yet Unhealthy 1 ms before the bound`);
    t.equal(f.table.get('c1')?.failures, F - 1, `F=${F}: ${F - 1} failed checks 1 ms before`);
    const r = f.tickAt(unhealthyAt);
    t.equal(f.state('c1'), 'Unhealthy', `F=${F}: Unhealthy at L + F*I + T`);
    t.match(r.events, [{ type: 'state-changed', to: 'Unhealthy', silentMs: F * I + T, failures: F }], `F=${F}: the event says how long it was silent`);
    t.ok(unhealthyAt - L < (F + 1) * I, `F=${F}: within failureThreshold + 1 intervals`);
    t.same(f.changes('c1'), F === 1 ? ['Healthy>Unhealthy'] : ['Healthy>Suspect', 'Suspect>Unhealthy'], `F=${F}: transitions`);
  }
});

t.test('check deadlines: first miss at L + I + T, each further interval one more', async (t) => {
  const cases: Array<{ atMs: number; failures: number; state: string }> = [
    { atMs: I + T - 1, failures: 0, state: 'Healthy' },
    { atMs: I + T, failures: 1, state: 'Suspect' },
    { atMs: 2 * I + T - 1, failures: 1, state: 'Suspect' },
    { atMs: 2 * I + T, failures: 2, state: 'Suspect' },
    { atMs: 3 * I + T - 1, failures: 2, state: 'Suspect' },
    { atMs: 3 * I + T, failures: 3, state: 'Unhealthy' },
    { atMs: 10 * I + T, failures: 10, state: 'Unhealthy' },
  ];
  const f = new FakeClockTable(hc(3, 1));
  const L = f.nowMs;
  f.send('c1');
  for (const c of cases) {
    f.runUntil(L + c.atMs, 13);
    t.equal(f.table.get('c1')?.failures, c.failures, `failures at L+${c.atMs}`);
    t.equal(f.state('c1'), c.state, `state at L+${c.atMs}`);
  }
  t.same(f.changes('c1'), ['Healthy>Suspect', 'Suspect>Unhealthy'], 'no transition repeated while it stays down');
});

t.test('late heartbeats: up to timeoutMs late passes, one ms more is a missed check', async (t) => {
  const f = new FakeClockTable(hc(3, 1));
  let at = f.nowMs;
  f.send('c1');
  for (let k = 0; k < 20; k++) {
    at += I + T - 1; // always just in time
    f.runUntil(at, 50);
    f.send('c1');
  }
  t.same(f.changes('c1'), [], 'heartbeats at interval + timeout - 1 never miss a check');
  at += I + T; // exactly at the deadline: time is processed before input, so the check fails first
  f.runUntil(at, 50);
  t.equal(f.state('c1'), 'Suspect', 'a heartbeat due at the deadline that has not arrived fails the check');
  f.send('c1');
  t.equal(f.state('c1'), 'Healthy', 'the late heartbeat clears the suspicion at once');
  t.same(f.changes('c1'), ['Healthy>Suspect', 'Suspect>Healthy']);
});

t.test('recovery: Healthy at the successThreshold-th heartbeat, (S-1) intervals after the first', async (t) => {
  for (const S of [1, 2, 3, 4]) {
    const f = new FakeClockTable(hc(2, S));
    f.send('c1');
    for (let k = 1; k < S; k++) { f.tickAt(f.nowMs + I); f.send('c1'); } // a new member must prove itself too
    t.equal(f.state('c1'), 'Healthy', `S=${S}: joined and proven`);
    f.runUntil(f.nowMs + 2 * I + T, 10);
    t.equal(f.state('c1'), 'Unhealthy', `S=${S}: down`);
    f.runUntil(f.nowMs + 5 * I, 50);
    const R = f.nowMs;
    f.send('c1');
    t.equal(f.state('c1'), S === 1 ? 'Healthy' : 'Unhealthy', `S=${S}: first heartbeat back`);
    for (let k = 1; k < S; k++) {
      // An extra heartbeat less than (I - T) after the last counted one is accepted but not counted.
      f.tickAt(R + (k - 1) * I + (I - T) - 1);
      const early = f.send('c1');
      t.equal(early.rejected, undefined, 'early heartbeat accepted');
      t.equal(f.table.get('c1')?.successes, k, `S=${S}: early extra heartbeat not counted`);
      t.equal(f.state('c1'), 'Unhealthy', `S=${S}: early extra heartbeat does not rush recovery`);
      f.tickAt(R + k * I);
      f.send('c1');
      t.equal(f.table.get('c1')?.successes, k + 1, `S=${S}: heartbeat one interval later counted`);
    }
    t.equal(f.state('c1'), 'Healthy', `S=${S}: Healthy at the ${S}th heartbeat`);
    t.equal(f.table.get('c1')?.passingSinceMs, R, `S=${S}: the run of passes began at the first heartbeat back`);
    t.ok(f.nowMs - R <= (S - 1) * I, `S=${S}: within successThreshold intervals of the first heartbeat`);
  }
});

t.test('new member with successThreshold 2 starts Unhealthy and is proven by its second heartbeat', async (t) => {
  const f = new FakeClockTable(hc(3, 2));
  const r = f.send('a1', { role: 'agent' });
  t.match(r.events, [{ type: 'joined', member: 'a1', role: 'agent', state: 'Unhealthy' }]);
  f.tickAt(f.nowMs + I);
  f.send('a1', { role: 'agent' });
  t.equal(f.state('a1'), 'Healthy');
});

t.test('flapping: hysteresis holds in both directions', async (t) => {
  t.test('a Healthy member that misses fewer than F checks in a row is never Unhealthy', async (t) => {
    const f = new FakeClockTable(hc(3, 1));
    f.send('c1');
    for (let k = 0; k < 10; k++) {
      f.runUntil(f.nowMs + 2 * I + T, 9); // two missed checks
      t.equal(f.state('c1'), 'Suspect');
      f.send('c1');
      t.equal(f.state('c1'), 'Healthy');
    }
    t.notOk(f.changes('c1').includes('Suspect>Unhealthy'), 'never Unhealthy');
    t.equal(f.table.get('c1')?.transitions, 20, 'each flap is visible in the transition count');
  });
  t.test('an Unhealthy member whose heartbeats are interrupted before S passes stays Unhealthy', async (t) => {
    const f = new FakeClockTable(hc(2, 3));
    f.send('c1');
    f.runUntil(f.nowMs + 2 * I + T, 10);
    t.equal(f.state('c1'), 'Unhealthy');
    for (let k = 0; k < 10; k++) {
      f.send('c1');
      f.tickAt(f.nowMs + I);
      f.send('c1'); // two passes, one short of S = 3
      f.runUntil(f.nowMs + I + T, 10); // then a miss resets the count
      t.equal(f.table.get('c1')?.successes, 0, 'a miss resets the pass count');
    }
    t.equal(f.state('c1'), 'Unhealthy', 'never Healthy');
    t.same(f.changes('c1'), [], 'no transitions at all (it joined Unhealthy: S > 1)');
  });
});

t.test('a member that only ever sent one heartbeat: Unhealthy once, then quiet forever', async (t) => {
  const f = new FakeClockTable(hc(3, 1));
  const L = f.nowMs;
  f.send('once');
  f.send('steady');
  f.runUntil(L + 3 * I + T, 10);
  t.equal(f.state('once'), 'Unhealthy');
  const before = f.events.length;
  for (let k = 0; k < 1000; k++) f.tickAt(f.nowMs + I); // long silence, one tick per interval
  t.equal(f.events.filter((e, i) => i >= before && e.type === 'state-changed' && e.member === 'once').length, 0, 'no further events');
  t.equal(f.table.get('once')?.heartbeats, 1);
  t.equal(f.state('once'), 'Unhealthy', 'still in the table, still Unhealthy');
  t.equal(f.table.nextWakeMs() !== undefined, true, 'still scheduled (saturating counters, moving deadline)');
});

t.test('clock jumps', async (t) => {
  t.test('backwards: no event, no crash, detection continues from the new reading', async (t) => {
    const f = new FakeClockTable(hc(3, 1));
    const L = f.nowMs;
    f.send('c1');
    f.tickAt(L + 50);
    const r = f.tickAt(L - 3_600_000); // one hour back
    t.same(r.events, [], 'no event on a backward step');
    t.equal(f.state('c1'), 'Healthy');
    t.equal(f.table.stats().clockJumpsBackward, 1, 'counted');
    // Detector time stood still across the jump: 50 ms had passed, 3I + T - 50 remain.
    const base = L - 3_600_000;
    f.runUntil(base + 3 * I + T - 50 - 1, 10);
    t.equal(f.state('c1'), 'Suspect', 'not yet');
    f.tickAt(base + 3 * I + T - 50);
    t.equal(f.state('c1'), 'Unhealthy', 'on time, measured on the new clock');
  });
  t.test('forward by an hour: at most one missed check each, nobody Unhealthy at once', async (t) => {
    const f = new FakeClockTable(hc(2, 1));
    for (const m of ['c1', 'c2', 'c3', 'a1']) f.send(m);
    f.tickAt(f.nowMs + 60);
    const r = f.tickAt(f.nowMs + 3_600_000);
    t.equal(f.table.stats().clockJumpsForward, 1, 'counted');
    t.equal(f.table.stats().clockLostMs, 3_600_000 - I, 'and the ignored time is reported');
    t.notOk(r.events.some((e) => e.type === 'state-changed' && e.to === 'Unhealthy'), 'no member Unhealthy after the jump');
    for (const m of ['c1', 'c2', 'c3', 'a1']) t.equal(f.state(m), 'Suspect', `${m} Suspect`);
    for (const m of ['c1', 'c2', 'c3']) f.send(m); // queued heartbeats arrive after the pause
    for (const m of ['c1', 'c2', 'c3']) t.equal(f.state(m), 'Healthy', `${m} Healthy again`);
    f.runUntil(f.nowMs + 2 * I, 10);
    t.equal(f.state('a1'), 'Unhealthy', 'a member that really stopped is still detected afterwards');
  });
  t.test('with failureThreshold 1 a forward jump does condemn (documented trade-off)', async (t) => {
    const f = new FakeClockTable(hc(1, 1));
    f.send('c1');
    f.tickAt(f.nowMs + T + 10); // the jump's one interval now reaches past the first deadline
    f.tickAt(f.nowMs + 3_600_000);
    t.equal(f.state('c1'), 'Unhealthy');
  });
  t.test('repeated small forward jumps just above the clamp are each clamped', async (t) => {
    const f = new FakeClockTable(hc(3, 1));
    f.send('c1');
    for (let k = 0; k < 5; k++) f.tickAt(f.nowMs + I + 1);
    t.equal(f.table.stats().clockJumpsForward, 5);
    t.equal(f.state('c1'), 'Unhealthy', 'detector time still advanced by one interval per call');
  });
  t.test('non-finite time is a programming error, reported loudly', async (t) => {
    const f = new FakeClockTable(hc(3, 1));
    t.throws(() => f.table.tick(Number.NaN), /finite/);
  });
});

t.test('nextWakeMs is the earliest deadline in the caller clock', async (t) => {
  const f = new FakeClockTable(hc(3, 1));
  t.equal(f.table.nextWakeMs(), undefined, 'nothing to wait for in an empty table');
  const L = f.nowMs;
  f.send('c1');
  f.tickAt(L + 30);
  f.send('c2');
  t.equal(f.table.nextWakeMs(), L + I + T, 'c1 is due first');
  f.runUntil(L + I + T, 50);
  t.equal(f.state('c1'), 'Suspect');
  t.equal(f.table.nextWakeMs(), L + 30 + I + T, 'then c2');
  f.table.leave('c1', f.nowMs);
  f.table.leave('c2', f.nowMs);
  t.equal(f.table.nextWakeMs(), undefined, 'members that left are not checked');
});
