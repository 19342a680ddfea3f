// The agent's Connected/FailingOver/Autonomous machine (membership/agent-follow.ts) on a fake clock:
// the life of an agent through start, catch-up, a broken session, failover, failback and the loss of
// every controller; stale events of an earlier following are ignored; and a property over random
// event sequences: it switches exactly as a bare ControllerSelector fed the same checks (failed
// sessions counting as failed checks), it is Autonomous whenever it follows no one, Connected only
// after the current following caught up and until it ends, and every decision is consistent.
import t from 'tap';
import fc from 'fast-check';
import { AgentFollow, type AgentState, type FollowDecision } from '../../membership/agent-follow.ts';
import { ControllerSelector, type SelectorOptions } from '../../membership/controller-selector.ts';
import { check, runs } from '../helpers/fc-run.ts';

const SELECTOR: SelectorOptions = { failureThreshold: 3, timeoutMs: 1_000, recoveryDelayMs: 2_000, latencyAware: true, startGraceMs: 300 };
const OPTS = { ...SELECTOR, retryMs: 200 };
const THREE = [{ id: 'p', priority: 0 }, { id: 's1', priority: 100 }, { id: 's2', priority: 100 }];

t.test('the life of an agent: start, catch up, a broken session, failover, failback, every controller lost', async (t) => {
  const a = new AgentFollow(THREE, OPTS, 0);
  t.equal(a.state, 'Autonomous', 'starts Autonomous, on its own replica');
  t.same(a.checkOk('s1', 5, 10), { switch: undefined, follow: undefined, state: undefined, retryInMs: undefined }, 'waits for the primary within the start-up grace');
  const first = a.checkOk('p', 1, 20);
  t.same(first.switch, { from: undefined, to: 'p', reason: 'initial' });
  t.same(first.follow, { id: 1, controller: 'p' });
  t.equal(first.state, undefined, 'still Autonomous until caught up');
  t.same(a.caughtUp(1).state, { from: 'Autonomous', to: 'Connected' });
  t.equal(a.caughtUp(1).state, undefined, 'caught up again: no change');

  // The stream ends in an orderly way: tried again after retryMs, no failure counted.
  const ended = a.sessionEnded(1, false, 100);
  t.same(ended, { switch: undefined, follow: undefined, state: { from: 'Connected', to: 'FailingOver' }, retryInMs: 200 });
  t.same(a.caughtUp(1).state, { from: 'FailingOver', to: 'Connected' });

  // Broken sessions are failed checks: the third in a row fails over.
  a.checkOk('s1', 5, 150);
  a.checkOk('s2', 9, 150);
  t.equal(a.sessionEnded(1, true, 200).retryInMs, 200);
  t.equal(a.sessionEnded(1, true, 400).retryInMs, 200);
  const over = a.sessionEnded(1, true, 600);
  t.same(over.switch, { from: 'p', to: 's1', reason: 'failover' }, 'the lowest round trip among equals');
  t.same(over.follow, { id: 2, controller: 's1' });
  t.equal(over.state, undefined, 'FailingOver already: no change');
  t.equal(over.retryInMs, undefined, 'a switch, not a retry');
  t.equal(a.state, 'FailingOver');
  t.same(a.caughtUp(1), { switch: undefined, follow: undefined, state: undefined, retryInMs: undefined }, 'the old following is stale');
  t.same(a.sessionEnded(1, true, 650).retryInMs, undefined, 'so is its end');
  t.same(a.caughtUp(2).state, { from: 'FailingOver', to: 'Connected' });
  t.equal(a.failovers, 1);

  // p recovers and stays healthy for recoveryDelay: fail back.
  for (let ms = 700; ms < 2_700; ms += 500) {
    a.checkOk('s1', 5, ms);
    t.equal(a.checkOk('p', 1, ms).switch, undefined, `not before recoveryDelay (${ms - 700} ms healthy)`);
  }
  const back = a.checkOk('s1', 5, 2_700); // any event re-evaluates: p has now been healthy for recoveryDelay
  t.same(back.switch, { from: 's1', to: 'p', reason: 'failback' });
  t.same(back.state, { from: 'Connected', to: 'FailingOver' });
  t.same(a.caughtUp(3).state, { from: 'FailingOver', to: 'Connected' });
  t.equal(a.failbacks, 1);

  // Everything goes silent: lost.
  const lost = a.tick(10_000);
  t.same(lost.switch, { from: 'p', to: undefined, reason: 'lost' });
  t.equal(lost.follow, undefined);
  t.same(lost.state, { from: 'Connected', to: 'Autonomous' });
  t.equal(a.current, undefined);
  t.same(a.view(10_000).map((v) => v.healthy), [false, false, false]);
});

t.test('a broken session right after start, before any catch-up, stays Autonomous and retries', async (t) => {
  const a = new AgentFollow(THREE, OPTS, 0);
  a.checkOk('p', 1, 10);
  t.same(a.sessionEnded(1, true, 20), { switch: undefined, follow: undefined, state: undefined, retryInMs: 200 });
  t.equal(a.state, 'Autonomous');
});

// ---------------------------------------------------------------------------------------------------

type Ev =
  | { t: 'ok'; c: number; rtt: number; dt: number }
  | { t: 'fail'; c: number; dt: number }
  | { t: 'tick'; dt: number }
  | { t: 'caughtUp'; stale: boolean }
  | { t: 'ended'; stale: boolean; failed: boolean; dt: number };

const dt = fc.nat({ max: 700 });
const ev: fc.Arbitrary<Ev> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ t: fc.constant('ok' as const), c: fc.nat({ max: 2 }), rtt: fc.integer({ min: 1, max: 50 }), dt }) },
  { weight: 3, arbitrary: fc.record({ t: fc.constant('fail' as const), c: fc.nat({ max: 2 }), dt }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('tick' as const), dt }) },
  { weight: 3, arbitrary: fc.record({ t: fc.constant('caughtUp' as const), stale: fc.boolean() }) },
  { weight: 3, arbitrary: fc.record({ t: fc.constant('ended' as const), stale: fc.boolean(), failed: fc.boolean(), dt }) },
);

t.test('property: switches as the bare selector does; states and decisions stay consistent', async (t) => {
  const stats = { connected: 0, failingOver: 0, switches: 0, retries: 0 };
  check(t, fc.property(fc.array(ev, { minLength: 1, maxLength: 120 }), (events) => {
    const a = new AgentFollow(THREE, OPTS, 0);
    const ref = new ControllerSelector(THREE, SELECTOR, 0);
    let now = 0;
    let caughtUpNow = false; // the current following caught up and has not ended since
    let lastId = 0;
    const fail = (msg: string): never => { throw new Error(msg); };
    for (const e of events) {
      const before: AgentState = a.state;
      const f = a.following;
      const staleId = (f?.id ?? 0) - 1; // an earlier following (0: none ever)
      let d: FollowDecision;
      let expectSwitch: ReturnType<ControllerSelector['tick']>;
      let current = false;
      switch (e.t) {
        case 'ok':
          now += e.dt;
          d = a.checkOk(THREE[e.c]!.id, e.rtt, now);
          ref.checkOk(THREE[e.c]!.id, e.rtt, now);
          expectSwitch = ref.tick(now);
          break;
        case 'fail':
          now += e.dt;
          d = a.checkFailed(THREE[e.c]!.id, now);
          ref.checkFailed(THREE[e.c]!.id, now);
          expectSwitch = ref.tick(now);
          break;
        case 'tick':
          now += e.dt;
          d = a.tick(now);
          expectSwitch = ref.tick(now);
          break;
        case 'caughtUp':
          current = !e.stale && f !== undefined;
          d = a.caughtUp(e.stale || f === undefined ? staleId : f.id);
          expectSwitch = undefined;
          if (current) caughtUpNow = true;
          break;
        case 'ended':
          now += e.dt;
          current = !e.stale && f !== undefined;
          d = a.sessionEnded(e.stale || f === undefined ? staleId : f.id, e.failed, now);
          if (current && e.failed) {
            ref.checkFailed(f!.controller, now);
            expectSwitch = ref.tick(now);
          } else {
            expectSwitch = undefined;
          }
          if (current) caughtUpNow = false;
          break;
      }
      // Switches: exactly the reference selector's.
      if (JSON.stringify(d.switch) !== JSON.stringify(expectSwitch)) fail(`switch ${JSON.stringify(d.switch)}, the selector made ${JSON.stringify(expectSwitch)}`);
      if (a.current !== ref.current) fail(`follows ${a.current}, the selector ${ref.current}`);
      if (d.switch !== undefined) {
        stats.switches++;
        caughtUpNow = false;
        if ((d.follow === undefined) !== (d.switch.to === undefined)) fail('follow must accompany a switch to a controller');
        if (d.follow !== undefined && (d.follow.controller !== d.switch.to || d.follow.id <= lastId)) fail(`bad follow ${JSON.stringify(d.follow)}`);
        if (d.retryInMs !== undefined) fail('a switch is not a retry');
      } else if (d.follow !== undefined) {
        fail('follow without a switch');
      }
      if (d.follow !== undefined) lastId = d.follow.id;
      // Retries: only when the current following's session ended and it is still followed.
      const retry = e.t === 'ended' && current && d.switch === undefined;
      if ((d.retryInMs !== undefined) !== retry) fail(`retryInMs ${d.retryInMs} on ${JSON.stringify(e)}`);
      if (retry) stats.retries++;
      // State changes: from the previous state, to a different one, and what `state` reports.
      if (d.state !== undefined && (d.state.from !== before || d.state.to === before)) fail(`bad change ${JSON.stringify(d.state)} from ${before}`);
      if (d.state === undefined && a.state !== before) fail('state changed silently');
      if (a.current === undefined && a.state !== 'Autonomous') fail(`${a.state} with no controller followed`);
      if ((a.state === 'Connected') !== (caughtUpNow && a.current !== undefined)) fail(`${a.state}, caught up: ${caughtUpNow}`);
      if (!current && (e.t === 'caughtUp' || e.t === 'ended') && (d.state !== undefined || d.switch !== undefined)) fail('a stale event changed something');
      if (a.state === 'Connected') stats.connected++;
      if (a.state === 'FailingOver') stats.failingOver++;
    }
    return true;
  }), runs(400));
  t.comment(`${stats.switches} switches, ${stats.retries} retries; steps Connected ${stats.connected}, FailingOver ${stats.failingOver}`);
  if (runs(400) >= 100) t.ok(stats.switches > 0 && stats.connected > 0 && stats.failingOver > 0 && stats.retries > 0, 'not vacuous');
});
