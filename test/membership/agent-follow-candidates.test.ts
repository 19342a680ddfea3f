// Candidates that change while the agent runs (issue 21: agents learn the controller set live), on a
// fake clock: a controller added to the selector becomes a failover candidate after the configured
// ones (by priority, lower preferred), one removed stops being considered and its checks are
// ignored, and removing the controller followed fails over at once as if it had failed (or leaves the
// agent Autonomous when no other is healthy).
import t from 'tap';
import { AgentFollow } from '../../membership/agent-follow.ts';
import { ControllerSelector, type SelectorOptions } from '../../membership/controller-selector.ts';

const SELECTOR: SelectorOptions = { failureThreshold: 3, timeoutMs: 1_000, recoveryDelayMs: 2_000, latencyAware: true, startGraceMs: 300 };
const OPTS = { ...SELECTOR, retryMs: 200 };
const NOTHING = { switch: undefined, follow: undefined, state: undefined, retryInMs: undefined };

t.test('selector: add and remove candidates', async (t) => {
  const s = new ControllerSelector([{ id: 'a', priority: 0 }], SELECTOR, 0);
  t.ok(s.add({ id: 'd', priority: 200 }), 'added');
  t.notOk(s.add({ id: 'd', priority: 5 }), 'added twice: nothing changes');
  t.same(s.view(0).map((v) => [v.id, v.priority, v.healthy]), [['a', 0, false], ['d', 200, false]], 'after the configured one, unhealthy until checked');
  s.checkOk('a', 1, 10);
  s.checkOk('d', 1, 10);
  t.same(s.tick(10), { from: undefined, to: 'a', reason: 'initial' }, 'the configured controller is preferred (lower priority)');
  t.ok(s.remove('a'), 'removed');
  t.notOk(s.remove('a'), 'removed twice');
  t.notOk(s.has('a'));
  t.same(s.tick(20), { from: 'a', to: 'd', reason: 'failover' }, 'the current one removed: fail over to the learned one');
  t.equal(s.failovers, 1, 'counted as a failover');
  t.ok(s.remove('d'));
  t.same(s.tick(30), { from: 'd', to: undefined, reason: 'lost' }, 'no candidate left: lost');
});

t.test('follow: a learned controller becomes a candidate, and takes over when the configured ones fail', async (t) => {
  const a = new AgentFollow([{ id: 'a', priority: 0 }, { id: 'b', priority: 100 }], OPTS, 0);
  a.checkOk('b', 1, 5);
  t.same(a.checkOk('a', 1, 10).switch, { from: undefined, to: 'a', reason: 'initial' });
  t.same(a.caughtUp(1).state, { from: 'Autonomous', to: 'Connected' });
  t.same(a.checkOk('d', 1, 20), NOTHING, 'a check of a controller that is no candidate is ignored');
  t.notOk(a.isCandidate('d'));

  t.ok(a.addCandidate({ id: 'd', priority: 200 }));
  t.ok(a.isCandidate('d'));
  t.same(a.checkOk('d', 1, 30), NOTHING, 'healthy, but worse than the followed one: no switch');
  t.same(a.view(30).map((v) => v.id), ['a', 'b', 'd']);

  // b is removed (its peer ID denied) while a is followed: nothing to do but forget it.
  t.same(a.removeCandidate('b', 40), NOTHING, 'not the one followed: no switch');
  t.same(a.checkFailed('b', 50), NOTHING, 'its checks are ignored from then on');
  t.same(a.view(50).map((v) => v.id), ['a', 'd']);
  t.same(a.removeCandidate('b', 60), NOTHING, 'removed twice');

  // a fails: only the learned controller is left.
  a.checkOk('d', 1, 100);
  a.checkFailed('a', 100);
  a.checkFailed('a', 150);
  const over = a.checkFailed('a', 200);
  t.same(over.switch, { from: 'a', to: 'd', reason: 'failover' }, 'fails over to the learned controller');
  t.same(over.follow, { id: 2, controller: 'd' });
  t.same(over.state, { from: 'Connected', to: 'FailingOver' });
  t.equal(a.current, 'd');
});

t.test('follow: removing the controller followed fails over at once, as if it had failed', async (t) => {
  const a = new AgentFollow([{ id: 'a', priority: 0 }, { id: 'b', priority: 100 }], OPTS, 0);
  a.checkOk('b', 1, 5);
  a.checkOk('a', 1, 10);
  a.caughtUp(1);
  t.equal(a.current, 'a');
  const d = a.removeCandidate('a', 20);
  t.same(d.switch, { from: 'a', to: 'b', reason: 'failover' }, 'failed over to the healthy secondary');
  t.same(d.follow, { id: 2, controller: 'b' });
  t.same(d.state, { from: 'Connected', to: 'FailingOver' });
  t.equal(a.failovers, 1);
  t.same(a.sessionEnded(1, true, 30), NOTHING, 'the removed controller\'s session is stale');
  t.same(a.checkOk('a', 1, 40), NOTHING, 'and its checks are ignored: it never comes back');
  t.equal(a.current, 'b');

  // The last one removed: Autonomous.
  a.caughtUp(2);
  const lost = a.removeCandidate('b', 50);
  t.same(lost.switch, { from: 'b', to: undefined, reason: 'lost' });
  t.same(lost.state, { from: 'Connected', to: 'Autonomous' });
  t.equal(a.current, undefined);

  // A controller learned later is followed once healthy.
  a.addCandidate({ id: 'd', priority: 200 });
  const found = a.checkOk('d', 1, 60);
  t.same(found.switch, { from: undefined, to: 'd', reason: 'failover' }, 'a learned controller ends the Autonomous period');
});
