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

t.test('a health lapse that no tick saw restarts the recovery clock', async (t) => {
  // recoveryDelay 1500 ms, timeout 1000 ms. p fails (the agent moves to s1), answers at 1000, then
  // goes silent past its timeout; the agent ticks only when a verdict arrives (agent-node.ts), and
  // none arrives during p's lapse (2000..2100). p answers again at 2100: it has been healthy without
  // interruption only since then, so the failback is due at 2100 + 1500 = 3600, not at 2500 (400 ms
  // of health, counted from the stale 1000).
  const s = new ControllerSelector(THREE.slice(0, 2), { ...OPTS, recoveryDelayMs: 1_500 }, 0);
  s.checkOk('p', 1, 0);
  s.checkOk('s1', 1, 0);
  s.tick(0);
  for (const now of [100, 200, 300]) { s.checkFailed('p', now); s.checkOk('s1', 1, now); }
  t.same(s.tick(300), { from: 'p', to: 's1', reason: 'failover' });
  s.checkOk('p', 1, 1_000);
  s.checkOk('s1', 1, 1_000);
  t.equal(s.tick(1_000), undefined);
  t.equal(s.view(1_000)[0]!.healthySinceMs, 1_000, 'healthy since 1000');
  s.checkOk('s1', 1, 1_900);
  t.equal(s.tick(1_900), undefined, 'last tick before the lapse: p still healthy');
  s.checkOk('p', 1, 2_100);
  s.checkOk('s1', 1, 2_100);
  t.equal(s.view(2_100)[0]!.healthySinceMs, 2_100, 'the lapse at 2000 restarted the healthy-since point');
  const switches: Array<[number, string | undefined]> = [];
  for (let now = 2_100; now <= 4_000; now += 100) {
    s.checkOk('p', 1, now);
    s.checkOk('s1', 1, now);
    const sw = s.tick(now);
    if (sw !== undefined) switches.push([now, `${sw.reason}:${sw.to}`]);
  }
  t.same(switches, [[3_600, 'failback:p']], 'fails back after 1500 ms of unbroken health');
  // A failed check that finds the timeout already passed is a lapse too.
  const f = new ControllerSelector(THREE.slice(0, 2), { ...OPTS, recoveryDelayMs: 1_500 }, 0);
  f.checkOk('p', 1, 0);
  f.tick(0);
  f.checkOk('p', 1, 500);
  f.checkFailed('p', 1_600);
  f.checkOk('p', 1, 1_700);
  t.equal(f.view(1_700)[0]!.healthySinceMs, 1_700, 'silent 500..1500, then a failed check: healthy again only from 1700');
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

t.test('property: follows only healthy controllers; never fails back before recoveryDelay of unbroken health', async (t) => {
  // Runs of segments: in each, every controller answers its checks, fails them or stays silent, and
  // the selector is ticked at every step or not at all (the agent ticks only when a verdict arrives),
  // so lapses can pass unseen by any tick. The model of health is independent of the selector: a
  // controller is healthy at time x iff its last good check is less than timeoutMs before x and
  // fewer than failureThreshold checks failed since; between inputs, health is lost exactly at
  // lastOk + timeoutMs.
  const mode = fc.constantFrom('ok', 'ok', 'fail', 'silent');
  const segment = fc.record({
    ms: fc.integer({ min: 100, max: 2_500 }),
    stepMs: fc.integer({ min: 50, max: 400 }),
    modes: fc.tuple(mode, mode, mode),
    ticks: fc.boolean(),
    rttMs: fc.integer({ min: 0, max: 200 }),
  });
  let failbacks = 0;
  check(t, fc.property(fc.array(segment, { maxLength: 12 }), (segments) => {
    const s = new ControllerSelector(THREE, OPTS, 0);
    type M = { lastOk: number | undefined; failures: number; since: number | undefined };
    const model = new Map<string, M>(THREE.map((c) => [c.id, { lastOk: undefined, failures: 0, since: undefined }]));
    const healthyAt = (m: M, x: number): boolean => m.lastOk !== undefined && m.failures < OPTS.failureThreshold && x - m.lastOk < OPTS.timeoutMs;
    let now = 0;
    for (const seg of segments) {
      for (const end = now + seg.ms; now < end;) {
        now += seg.stepMs;
        THREE.forEach((c, i) => {
          const m = model.get(c.id)!;
          const what = seg.modes[i]!;
          if (what === 'silent') return;
          if (!healthyAt(m, now)) m.since = undefined; // a lapse since the last input
          if (what === 'ok') { m.lastOk = now; m.failures = 0; s.checkOk(c.id, seg.rttMs, now); } else { m.failures++; s.checkFailed(c.id, now); }
          if (!healthyAt(m, now)) m.since = undefined;
          else m.since ??= now;
        });
        if (!seg.ticks) continue;
        for (const x of model.values()) if (!healthyAt(x, now)) x.since = undefined;
        const before = s.view(now);
        const sw = s.tick(now);
        const cur = s.current;
        if (cur !== undefined && !healthyAt(model.get(cur)!, now)) throw new Error(`follows unhealthy ${cur} at ${now}`);
        if (sw?.reason === 'failback') {
          failbacks++;
          const since = model.get(sw.to!)!.since;
          if (since === undefined || now - since < OPTS.recoveryDelayMs) throw new Error(`failback to ${sw.to} at ${now}, healthy since ${since}`);
        }
        if (sw?.reason === 'failover' && sw.from !== undefined && before.find((x) => x.id === sw.from)!.healthy) throw new Error(`left healthy ${sw.from}`);
      }
    }
    return true;
  }), runs(500));
  t.ok(failbacks > 0, `the runs exercised failbacks (${failbacks})`);
});
