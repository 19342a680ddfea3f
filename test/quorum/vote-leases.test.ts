// Vote leases: the agent's state machine and the controller's lease table, table-driven on fake clocks;
// the drift margin shown to matter with drifting clocks; anchoring at the request shown to matter with
// a delayed answer; the controller contact window.

import t from 'tap';
import { AgentVoteState } from '../../quorum/agent-vote-state.ts';
import { minDriftMarginMs } from '../../quorum/clock-drift.ts';
import { contactWindowMs } from '../../quorum/controller-contacts.ts';
import { MAX_OUTSTANDING_REQUESTS_PER_AGENT } from '../../quorum/limits.ts';
import { LeaseTable } from '../../quorum/lease-table.ts';
import { quorumConfig } from '../../quorum/quorum-config.ts';
import { tally } from '../../quorum/tally.ts';

const L = 1000;

t.test('agent: grants only after its start-up quiet time, only to its primary, one controller at a time', async (t) => {
  const s = new AgentVoteState({ leaseMs: L, startedAtMs: 5000 });
  const steps: Array<[string, string | undefined, number, Record<string, unknown>]> = [
    ['c1', 'c1', 5000, { granted: false, reason: 'starting', freeAtMs: 6000 }],
    ['c1', 'c1', 5999, { granted: false, reason: 'starting' }],
    ['c1', 'c1', 6000, { granted: true, renewal: false, durationMs: L, lease: { controller: 'c1', grantedAtMs: 6000, expiresAtMs: 7000 } }],
    ['c2', 'c1', 6100, { granted: false, reason: 'not_primary', holder: 'c1', freeAtMs: 7000 }],
    ['c1', 'c1', 6500, { granted: true, renewal: true, lease: { expiresAtMs: 7500 } }],
    // Failover: the primary becomes c2. c2 must wait for c1's lease; c1 can no longer renew.
    ['c2', 'c2', 6600, { granted: false, reason: 'held_by_other', holder: 'c1', freeAtMs: 7500 }],
    ['c1', 'c2', 6700, { granted: false, reason: 'not_primary', holder: 'c1' }],
    ['c2', 'c2', 7499, { granted: false, reason: 'held_by_other', freeAtMs: 7500 }],
    ['c2', 'c2', 7500, { granted: true, renewal: false, lease: { controller: 'c2', expiresAtMs: 8500 } }],
    ['c1', undefined, 7600, { granted: false, reason: 'not_primary', holder: 'c2' }],
    // No primary at all (every controller failed its health checks): the lease simply runs out.
    ['c1', 'c1', 8499, { granted: false, reason: 'held_by_other', holder: 'c2' }],
    ['c1', 'c1', 8500, { granted: true, renewal: false, lease: { controller: 'c1' } }],
  ];
  for (const [c, primary, now, want] of steps) t.match(s.request(c, primary, now), want, `${c} asks at ${now} (primary ${primary ?? 'none'})`);
  t.equal(s.held(9499)?.controller, 'c1');
  t.equal(s.held(9500), undefined, 'expired exactly at expiresAtMs');
  t.equal(s.freeForMs('c2', 9000), 9500, 'c2 may get it when c1 expires');
  t.equal(s.freeForMs('c1', 9000), 9000, 'the holder may renew at once');
  t.throws(() => s.request('c1', 'c1', 8000), /clock went backwards/, 'time must not go backwards');
});

t.test('agent: a restart forgets the lease, so it waits one lease before granting again', async (t) => {
  const before = new AgentVoteState({ leaseMs: L, startedAtMs: 0 });
  t.match(before.request('c1', 'c1', 2000), { granted: true, lease: { expiresAtMs: 3000 } });
  const after = new AgentVoteState({ leaseMs: L, startedAtMs: 2500 }); // restarted, same clock for clarity
  t.match(after.request('c2', 'c2', 2600), { granted: false, reason: 'starting', freeAtMs: 3500 });
  t.match(after.request('c2', 'c2', 3500), { granted: true }, 'after a full lease: the old lease (until 3000) has expired');
  const copy = after.clone();
  copy.request('c2', 'c2', 4000);
  t.equal(after.held(4400)?.expiresAtMs, 4500, 'a clone is independent');
  t.equal(copy.held(4400)?.expiresAtMs, 5000);
});

t.test('lease table: counted from the request, for the duration minus the margin, exclusive end', async (t) => {
  const lt = new LeaseTable({ leaseMs: L, driftMarginMs: 100, incarnation: 'boot-1' });
  const id = lt.requestSent('a1', 10_000)!;
  t.same(lt.pendingRequests('a1'), [{ requestId: id, sentAtMs: 10_000 }]);
  t.equal(lt.grantReceived('a1', id, L, 10_050), 'counted');
  t.equal(lt.validUntilMs('a1'), 10_900, 'sent at 10 000 + 1000 − 100');
  t.ok(lt.counts('a1', 10_899));
  t.notOk(lt.counts('a1', 10_900), 'not counted from validUntil on');
  t.equal(lt.grantReceived('a1', id, L, 10_060), 'unknown_request', 'a duplicate answer is ignored');
  t.equal(lt.grantReceived('a1', 'boot-1/999', L, 10_060), 'unknown_request', 'an answer to no request is ignored');
  t.equal(lt.grantReceived('zz', id, L, 10_060), 'unknown_request', 'an answer from another agent is ignored');
  const r2 = lt.requestSent('a1', 10_500)!;
  t.equal(lt.grantReceived('a1', r2, 5 * L, 10_510), 'counted', 'renewal');
  t.equal(lt.validUntilMs('a1'), 11_400, 'longer durations than leaseMs are capped at leaseMs');
  const r3 = lt.requestSent('a1', 10_600)!;
  t.equal(lt.grantReceived('a1', r3, 300, 10_610), 'counted', 'a shorter grant');
  t.equal(lt.validUntilMs('a1'), 11_400, 'never shortens what an earlier grant allows');
  const r4 = lt.requestSent('a1', 10_700)!;
  t.equal(lt.grantReceived('a1', r4, 0, 10_710), 'bad_duration');
  t.equal(lt.grantReceived('a1', r4, 1.5, 10_710), 'unknown_request', 'the request is used up even by a bad answer');
  t.same(lt.countedAgents(11_399), ['a1']);
  t.same(lt.countedAgents(11_400), []);
  t.throws(() => lt.requestSent('a1', 10_700), /clock went backwards/);
});

t.test('lease table: late, superseded and excess answers', async (t) => {
  const lt = new LeaseTable({ leaseMs: L, driftMarginMs: 100, incarnation: 'boot-1' });
  const old = lt.requestSent('a1', 0)!;
  const late = lt.requestSent('a1', 100)!;
  t.equal(lt.grantReceived('a1', late, L, 1000), 'too_late', 'answered after sentAt + lease − margin: nothing counted');
  t.equal(lt.grantReceived('a1', old, L, 1000), 'unknown_request', 'older requests are superseded by a later answer');
  t.notOk(lt.counts('a1', 1000));
  const ids = Array.from({ length: MAX_OUTSTANDING_REQUESTS_PER_AGENT + 1 }, (_, i) => lt.requestSent('a1', 2000 + i)!);
  t.equal(lt.pendingRequests('a1').length, MAX_OUTSTANDING_REQUESTS_PER_AGENT, 'pending requests are bounded');
  t.equal(lt.grantReceived('a1', ids[0]!, L, 2100), 'unknown_request', 'the oldest was dropped');
  t.equal(lt.grantReceived('a1', ids[1]!, L, 2100), 'counted');
  t.equal(lt.validUntilMs('a1'), 2001 + L - 100);
});

t.test('lease table: an ended request (refused, lost, timed out) ignores its late answer', async (t) => {
  const lt = new LeaseTable({ leaseMs: L, driftMarginMs: 100, incarnation: 'boot-1' });
  const id = lt.requestSent('a1', 0)!;
  t.ok(lt.requestEnded('a1', id));
  t.notOk(lt.requestEnded('a1', id), 'only once');
  t.notOk(lt.requestEnded('zz', id), 'unknown agent');
  t.equal(lt.grantReceived('a1', id, L, 10), 'unknown_request');
  t.notOk(lt.counts('a1', 10));
  const other = new LeaseTable({ leaseMs: L, driftMarginMs: 100, incarnation: 'boot-2' });
  t.equal(other.grantReceived('a1', other.requestSent('a1', 0)!.replace('boot-2', 'boot-1'), L, 1), 'unknown_request',
    'an id of another incarnation never matches');
});

t.test('lease table: bounded number of agents, pruning, forgetting, cloning', async (t) => {
  const lt = new LeaseTable({ leaseMs: L, driftMarginMs: 100, maxAgents: 2, incarnation: 'boot-1' });
  const i1 = lt.requestSent('a1', 0)!;
  lt.requestSent('a2', 0);
  t.equal(lt.requestSent('a3', 10), undefined, 'full: no room for a third agent');
  lt.grantReceived('a1', i1, L, 10);
  t.equal(lt.requestSent('a3', 899), undefined, 'still full at 899: a1 counts and a2\'s request could still be answered in time');
  t.equal(lt.size, 2);
  t.type(lt.requestSent('a3', 900), 'string', 'at 900 a1 has ended and a2\'s request is useless: pruning makes room');
  t.equal(lt.size, 1);
  const copy = lt.clone();
  copy.forget('a3');
  t.equal(lt.size, 1, 'a clone is independent');
  t.equal(copy.size, 0);
  t.throws(() => new LeaseTable({ leaseMs: L, driftMarginMs: L, incarnation: 'boot-1' }), /driftMarginMs/);
});

// One agent, two controllers, drifting clocks. X's request is answered at once; then the agent's
// primary moves to Y, which asks at every tick. Agent clock fast (1.1), X slow (0.9): the worst case.
// Returns the real times at which both X and Y counted the agent.
function doubleCount(driftMarginMs: number): number[] {
  const lease = 1100;
  const agentClock = (realMs: number): number => 50_000 + (realMs * 11) / 10;
  const xClock = (realMs: number): number => 7_000 + (realMs * 9) / 10;
  const yClock = (realMs: number): number => 90_000 + realMs;
  const agent = new AgentVoteState({ leaseMs: lease, startedAtMs: agentClock(0) - lease });
  const x = new LeaseTable({ leaseMs: lease, driftMarginMs, incarnation: 'boot-1' });
  const y = new LeaseTable({ leaseMs: lease, driftMarginMs, incarnation: 'boot-1' });
  const id = x.requestSent('a', xClock(0))!;
  const g = agent.request('X', 'X', agentClock(0));
  if (!g.granted) throw new Error('first grant');
  x.grantReceived('a', id, g.durationMs, xClock(0));
  const both: number[] = [];
  for (let real = 1; real <= 2000; real++) {
    const yid = y.requestSent('a', yClock(real))!;
    const r = agent.request('Y', 'Y', agentClock(real));
    if (r.granted) y.grantReceived('a', yid, r.durationMs, yClock(real));
    if (x.counts('a', xClock(real)) && y.counts('a', yClock(real))) both.push(real);
  }
  return both;
}

t.test('the drift margin matters: counting until the full expiry double-counts with drifting clocks', async (t) => {
  const none = doubleCount(0);
  t.ok(none.length > 0, `margin 0: X and Y both count the agent from real ${none[0]} to ${none.at(-1)} ms`);
  t.equal(none[0], 1000, 'the agent (fast clock) frees the lease at real 1000 ms; X (slow clock) counts until ~1222 ms');
  t.ok(doubleCount(150).length > 0, 'a margin below 2ρ/(1+ρ)·lease (200 ms for ρ = 10 %) still double-counts');
  t.same(doubleCount(minDriftMarginMs(1100, 100_000)), [], 'the minimum margin for ρ = 10 % (200 ms) never double-counts');
  // And what double counting means: both datacenters win.
  const cfg = (self: string) => quorumConfig({ mode: 'AgentAssisted', self, controllers: ['x', 'y'], leaseMs: 1100, driftMarginMs: 200, controllerWeight: 1 });
  const registeredAgents = new Set(['a']);
  const sides = ['x', 'y'].map((self) => tally(cfg(self), { reachableControllers: [], leasedAgents: ['a'], registeredAgents }).haveQuorum);
  t.same(sides, [true, true], 'with W = 1+1+1 = 3, a double-counted agent gives both cut-off controllers 2 ≥ 2');
});

t.test('anchoring at the request, not at the receipt, keeps a delayed answer safe', async (t) => {
  // X asks at 0 and the agent grants at once, but the answer sits in a queue until 900 (same-rate clocks).
  const agent = new AgentVoteState({ leaseMs: L, startedAtMs: -L });
  const x = new LeaseTable({ leaseMs: L, driftMarginMs: 100, incarnation: 'boot-1' });
  const id = x.requestSent('a', 0)!;
  const g = agent.request('X', 'X', 0);
  t.ok(g.granted);
  t.equal(x.grantReceived('a', id, L, 850), 'counted');
  t.equal(x.validUntilMs('a'), 900, 'counted until 0 + 1000 − 100, not 850 + 900');
  t.match(agent.request('Y', 'Y', 1000), { granted: true }, 'the agent regrants to Y at 1000');
  t.notOk(x.counts('a', 1000), 'X stopped at 900');
  const receiptAnchoredUntil = 850 + L - 100;
  t.ok(receiptAnchoredUntil > 1000, `anchored at the receipt, X would count until ${receiptAnchoredUntil}: double-counted from 1000`);
});

t.test('the longest contact window the leases allow is leaseMs − driftMarginMs', async (t) => {
  const cfg = quorumConfig({ self: 'c1', controllers: ['c1', 'c2', 'c3'], leaseMs: L, driftMarginMs: 100 });
  t.equal(contactWindowMs(cfg), 900, 'the rule itself: controller-contacts.test.ts');
});
