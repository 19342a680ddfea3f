// The anti-entropy session gate (node/replication/session-gate.ts): one holder at a time, waiters in
// arrival order, a waiter that gives up leaves the queue, a release counts once.
import t from 'tap';
import { SessionGate } from '../../node/replication/session-gate.ts';

const never = new AbortController().signal;

t.test('one holder at a time; waiters are served in arrival order', async (t) => {
  const g = new SessionGate();
  const order: string[] = [];
  const first = await g.enter(never);
  t.ok(g.held);
  const waiting = ['b', 'c'].map((name) => g.enter(never).then((release) => {
    order.push(name);
    return release;
  }));
  t.equal(g.waiting, 2);
  await Promise.resolve();
  t.same(order, [], 'nobody enters while it is held');
  first();
  first(); // a second call does nothing: it must not release the next holder's turn
  const b = await waiting[0]!;
  t.same(order, ['b']);
  t.ok(g.held, 'handed over, still held');
  b();
  const c = await waiting[1]!;
  t.same(order, ['b', 'c']);
  c();
  t.notOk(g.held, 'free once the last holder releases');
});

t.test('a waiter whose signal aborts leaves the queue with the reason; an aborted signal never enters', async (t) => {
  const g = new SessionGate();
  const held = await g.enter(never);
  const ac = new AbortController();
  const gave = g.enter(ac.signal);
  const next = g.enter(never);
  ac.abort(new Error('session deadline'));
  await t.rejects(gave, /session deadline/);
  t.equal(g.waiting, 1);
  held();
  (await next)();
  t.notOk(g.held);
  await t.rejects(g.enter(AbortSignal.abort(new Error('too late'))), /too late/);
  t.notOk(g.held, 'an aborted signal does not take the gate');
});
