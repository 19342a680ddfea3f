// The agent's choice of controller, with a fake clock: failover after failureThreshold failed checks
// or failover.timeout without a good one, latency-aware choice among equals, delayed failback, the
// start-up grace for a better-priority controller, and a property: the selector only ever follows a
// healthy controller, and never fails back before recoveryDelay.
import t from 'tap';
import fc from 'fast-check';
import { ControllerSelector, type SelectorOptions } from '../../membership/controller-selector.ts';
import { check, runs } from '../helpers/fc-run.ts';

const OPTS: SelectorOptions = { failureThreshold: 3, timeoutMs: 1_000, recoveryDelayMs: 2_000, latencyAware: true, startGraceMs: 300 };
const THREE = [{ id: 'p', priority: 0 }, { id: 's1', priority: 100 }, { id: 's2', priority: 100 }];

function okAll(s: ControllerSelector, now: number, rtt: Record<string, number> = {}): void {
  for (const id of ['p', 's1', 's2']) s.checkOk(id, rtt[id] ?? 1, now);
}

t.test('starts on the primary once it answers', async (t) => {
  const s = new ControllerSelector(THREE, OPTS, 0);
  t.equal(s.tick(0), undefined, 'nothing answered yet');
  s.checkOk('p', 1, 10);
  t.same(s.tick(10), { from: undefined, to: 'p', reason: 'initial' });
  t.equal(s.current, 'p');
});

t.test('start-up grace: a secondary answering first does not win while the primary is unheard', async (t) => {
  const s = new ControllerSelector(THREE, OPTS, 0);
  s.checkOk('s1', 1, 50);
  t.equal(s.tick(50), undefined, 'waits for the primary within the grace');
  s.checkOk('p', 1, 100);
  t.same(s.tick(100)?.to, 'p');
  const late = new ControllerSelector(THREE, OPTS, 0);
  late.checkOk('s1', 1, 50);
  t.same(late.tick(OPTS.startGraceMs)?.to, 's1', 'after the grace it settles for the secondary');
});

t.test('fails over after failureThreshold failed checks in a row, not before', async (t) => {
  const s = new ControllerSelector(THREE, OPTS, 0);
  okAll(s, 0);
  s.tick(0);
  s.checkFailed('p', 100);
  s.checkFailed('p', 200);
  t.equal(s.tick(200), undefined, 'two failures: stays');
  okAll(s, 250, { p: 1, s1: 5, s2: 5 });
  s.checkFailed('p', 300);
  s.checkFailed('p', 400);
  t.equal(s.tick(400), undefined, 'a success in between resets the count');
  s.checkFailed('p', 500);
  t.same(s.tick(500), { from: 'p', to: 's1', reason: 'failover' });
  t.equal(s.failovers, 1);
});

t.test('fails over when failover.timeout passes without a good check', async (t) => {
  const s = new ControllerSelector(THREE, OPTS, 0);
  okAll(s, 0);
  s.tick(0);
  s.checkOk('s1', 1, 900);
  s.checkOk('s2', 1, 900);
  t.equal(s.tick(999), undefined);
  t.same(s.tick(1_000)?.to, 's1', 'p silent for timeoutMs');
});

t.test('latencyAware picks the lowest RTT among equal priorities; off, the configured order', async (t) => {
  for (const [latencyAware, want] of [[true, 's2'], [false, 's1']] as const) {
    const s = new ControllerSelector(THREE, { ...OPTS, latencyAware }, 0);
    okAll(s, 0, { p: 1, s1: 80, s2: 20 });
    s.tick(0);
    for (let i = 1; i <= 3; i++) s.checkFailed('p', i * 100);
    t.equal(s.tick(300)?.to, want, `latencyAware=${latencyAware}`);
  }
  const s = new ControllerSelector(THREE, OPTS, 0);
  okAll(s, 0, { p: 500, s1: 1, s2: 1 });
  t.equal(s.tick(0)?.to, 'p', 'RTT never beats priority');
});

t.test('fails back to a recovered primary only after recoveryDelay of continuous health', async (t) => {
  // p fails at 100..300 (the agent moves to s1), then answers every 100 ms from `backMs` on, except
  // for the failed checks listed; s1 answers every 100 ms throughout.
  function run(backMs: number, pFails: number[]): Array<{ now: number; reason: string }> {
    const s = new ControllerSelector(THREE, OPTS, 0);
    okAll(s, 0);
    s.tick(0);
    const switches: Array<{ now: number; reason: string }> = [];
    for (let now = 100; now <= 4_000; now += 100) {
      s.checkOk('s1', 1, now);
      if (now <= 300 || pFails.includes(now)) s.checkFailed('p', now);
      else if (now >= backMs) s.checkOk('p', 1, now);
      const sw = s.tick(now);
      if (sw !== undefined) switches.push({ now, reason: `${sw.reason}:${sw.to}` });
    }
    return switches;
  }
  t.same(run(1_000, []), [{ now: 300, reason: 'failover:s1' }, { now: 3_000, reason: 'failback:p' }], 'back at 1000, failback at 1000 + 2000');
  t.same(run(1_000, [2_000]), [{ now: 300, reason: 'failover:s1' }, { now: 3_000, reason: 'failback:p' }],
    'one failed check that leaves p healthy does not restart the recovery');
  t.same(run(1_000, [1_500, 1_600, 1_700]), [{ now: 300, reason: 'failover:s1' }, { now: 3_800, reason: 'failback:p' }],
    'a relapse (three failures) restarts the recovery clock at the next good check (1800)');
});

t.test('no healthy controller: the agent is on its own, then takes the first to come back', async (t) => {
  const s = new ControllerSelector(THREE.slice(0, 2), OPTS, 0);
  s.checkOk('p', 1, 0);
  s.checkOk('s1', 1, 0);
  s.tick(0);
  for (const id of ['p', 's1']) for (let i = 1; i <= 3; i++) s.checkFailed(id, i * 100);
  t.same(s.tick(300), { from: 'p', to: undefined, reason: 'lost' });
  s.checkOk('s1', 1, 400);
  t.same(s.tick(400), { from: undefined, to: 's1', reason: 'failover' }, 'no start-up grace the second time');
});

t.test('property: follows only healthy controllers; never fails back early', async (t) => {
  const event = fc.record({
    dtMs: fc.integer({ min: 0, max: 400 }),
    id: fc.constantFrom('p', 's1', 's2'),
    ok: fc.boolean(),
    rttMs: fc.integer({ min: 0, max: 200 }),
  });
  check(t, fc.property(fc.array(event, { maxLength: 80 }), (events) => {
    const s = new ControllerSelector(THREE, OPTS, 0);
    let now = 0;
    for (const e of events) {
      now += e.dtMs;
      if (e.ok) s.checkOk(e.id, e.rttMs, now); else s.checkFailed(e.id, now);
      const before = s.view(now);
      const sw = s.tick(now);
      const cur = s.current;
      if (cur !== undefined && !s.view(now).find((v) => v.id === cur)!.healthy) return false;
      if (sw?.reason === 'failback') {
        const v = before.find((x) => x.id === sw.to)!;
        if (v.healthySinceMs === undefined || now - v.healthySinceMs < OPTS.recoveryDelayMs) return false;
      }
      if (sw?.reason === 'failover' && sw.from !== undefined && before.find((x) => x.id === sw.from)!.healthy) return false;
    }
    return true;
  }), runs(300));
});
