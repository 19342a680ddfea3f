// agent-failover, agent-changes and vote-leases checkers.
import t from 'tap';
import { checkAgentChanges, checkAgentFailover } from './check/agents.ts';
import type { AgentChange, AgentFollow, LeaseInterval } from './check/history.ts';
import { history, net, split } from './check/history-builder.ts';
import { checkVoteLeases } from './check/vote-leases.ts';

const follow = (atMs: number, agent: string, controller: string | undefined, state: AgentFollow['state']): AgentFollow => ({ atMs, agent, controller, state });

t.test('agent-failover: an agent that fails over within the bound passes; a late one is a violation', async (t) => {
  const network = [net(0, 'start'), net(10_000, 'partition x | a', { cuts: split(['x'], ['a']) })];
  const follows = [follow(500, 'x', 'a', 'Connected'), follow(12_000, 'x', 'b', 'FailingOver'), follow(12_500, 'x', 'b', 'Connected'), follow(400, 'y', 'b', 'Connected')];
  const h = history({ network, follows, agents: ['x', 'y'] });
  t.same(checkAgentFailover(h, 3000), []);
  const vs = checkAgentFailover(h, 2000);
  t.equal(vs.length, 1);
  t.equal(vs[0]!.node, 'x');
  t.match(vs[0]!.message, /x was Connected on a from 10\.000s for 2\.500s though b, c could be reached \(failover bound 2\.000s\)/);
});

t.test('agent-failover: start-up counts, an agent that never connects is reported, no reachable controller is not judged', async (t) => {
  t.match(checkAgentFailover(history({ agents: ['x'], follows: [follow(5000, 'x', 'a', 'Connected')] }), 2000)[0]!.message, /x had not reported yet from 0\.000s for 5\.000s/);
  t.match(checkAgentFailover(history({ agents: ['x'], follows: [follow(0, 'x', undefined, 'Autonomous')] }), 2000)[0]!.message, /x was Autonomous from 0\.000s for 60\.000s \(still at the end\)/);
  const isolated = [net(0, 'start'), net(1000, 'partition x | a b c', { cuts: split(['x'], ['a', 'b', 'c']) })];
  t.same(checkAgentFailover(history({ agents: ['x'], network: isolated, follows: [follow(0, 'x', 'a', 'Connected'), follow(3000, 'x', undefined, 'Autonomous')] }), 2000), []);
  // Down agents are not judged either.
  const crashed = [net(0, 'start'), net(1000, 'crash x', { down: ['x'] })];
  t.same(checkAgentFailover(history({ agents: ['x'], network: crashed, follows: [follow(0, 'x', 'a', 'Connected')] }), 2000), []);
});

// Seed 800418: the agent's only reachable controller was behind a link slowed to 122-244 ms each way,
// and its health checks have a 200 ms deadline: by its configuration that controller does not answer.
t.test('agent-failover: a controller whose round trip can exceed the health-check deadline is not judged reachable', async (t) => {
  const slowed = (maxMs: number) => [
    net(0, 'start'),
    { ...net(1000, 'partition x | a', { cuts: split(['x'], ['a']) }), slow: [['x', 'b', maxMs], ['b', 'x', maxMs]] as Array<[string, string, number]> },
  ];
  const follows = [follow(0, 'x', 'a', 'Connected'), follow(1500, 'x', undefined, 'Autonomous')];
  const h = (maxMs: number) => history({ agents: ['x'], controllers: ['a', 'b'], network: slowed(maxMs), follows });
  t.same(checkAgentFailover(h(122), 2000, 200), [], 'up to 244 ms round trip, 200 ms deadline: b cannot be seen answering');
  t.match(checkAgentFailover(h(122), 2000)[0]?.message ?? '', /x was Connected on a from 1\.000s .* though b could be reached/, 'without a deadline it is judged');
  t.match(checkAgentFailover(h(90), 2000, 200)[0]?.message ?? '', /though b could be reached/, 'up to 180 ms round trip fits the deadline: judged');
});

// Seed 1503839: x stayed Connected to a for 10.2 s while a's link was slowed to 56-110 ms each way
// (round trips 111-221 ms, checks with a 200 ms deadline): most checks are answered in time, so the
// agent, which fails over after failureThreshold failures in a row, is right to stay. Only a
// controller whose shortest round trip reaches the deadline must be left.
t.test('agent-failover: staying on a controller whose round trips straddle the deadline is not judged; one no check reaches in time is', async (t) => {
  const slowA = (minMs: number, maxMs: number) => [
    net(0, 'start'),
    { ...net(1000, 'link x-a slowed'), slow: [['a', 'x', maxMs, minMs], ['x', 'a', maxMs, minMs]] as Array<[string, string, number, number]> },
  ];
  const follows = [follow(0, 'x', 'a', 'Connected')];
  const h = (minMs: number, maxMs: number) => history({ agents: ['x'], controllers: ['a', 'b'], network: slowA(minMs, maxMs), follows });
  t.same(checkAgentFailover(h(56, 110), 10_000, 200), [], 'round trips 112-220 ms, deadline 200 ms: staying on a is fine');
  t.match(checkAgentFailover(h(100, 130), 10_000, 200)[0]?.message ?? '', /x was Connected on a from 1\.000s .* though b could be reached/,
    'round trips 200-260 ms: no check of a is answered in time, x must leave it');
});

const change = (seq: number, key: string, vv: Record<string, number>, incarnation = 1, digest = `d${JSON.stringify(vv)}`): AgentChange => ({
  atMs: seq * 100, agent: 'x', incarnation, seq, key, type: 'PUT', digest, vv, controller: 'a',
});

t.test('agent-changes: increasing seqs and causally later versions pass', async (t) => {
  t.same(checkAgentChanges(history({ agentChanges: [change(1, 'k', { a: 1 }), change(2, 'j', { b: 1 }), change(3, 'k', { a: 1, b: 2 }), change(1, 'k', { a: 1 }, 2)] })), []);
});

t.test('agent-changes: a change applied twice, out of order, or a seq going back is a violation', async (t) => {
  const twice = checkAgentChanges(history({ agentChanges: [change(1, 'k', { a: 1 }), change(2, 'k', { a: 1 })] }));
  t.equal(twice.length, 1);
  t.match(twice[0]!.message, /x applied k twice: seq 2 repeats seq 1's version/);
  const back = checkAgentChanges(history({ agentChanges: [change(1, 'k', { a: 2 }), change(2, 'k', { a: 1 })] }));
  t.match(back[0]!.message, /x applied k out of order: seq 2 is before seq 1's version/);
  const concurrent = checkAgentChanges(history({ agentChanges: [change(1, 'k', { a: 1 }), change(2, 'k', { b: 1 })] }));
  t.match(concurrent[0]!.message, /seq 2 is concurrent seq 1's version/);
  const seq = checkAgentChanges(history({ agentChanges: [change(2, 'k', { a: 1 }), change(2, 'j', { a: 1 })] }));
  t.match(seq[0]!.message, /x applied seq 2 after seq 2/);
});

const lease = (agent: string, controller: string, kind: LeaseInterval['kind'], fromMs: number, untilMs: number): LeaseInterval => ({ agent, controller, kind, fromMs, untilMs });

t.test('vote-leases: exclusive leases counted within their grants pass', async (t) => {
  const leases = [
    lease('x', 'a', 'granted', 0, 10_000), lease('x', 'a', 'granted', 9000, 19_000), lease('x', 'a', 'counted', 100, 18_000),
    lease('x', 'b', 'granted', 19_000, 29_000), lease('x', 'b', 'counted', 19_500, 28_000),
    lease('y', 'b', 'counted', 0, 5000), lease('y', 'a', 'counted', 5000, 9000),
  ];
  t.same(checkVoteLeases(history({ leases })), []);
});

t.test('vote-leases: one agent counted by two controllers, granted twice, or counted outside a grant is a violation', async (t) => {
  const both = checkVoteLeases(history({ leases: [lease('y', 'a', 'counted', 0, 5000), lease('y', 'b', 'counted', 4000, 9000)] }));
  t.equal(both.length, 1);
  t.equal(both[0]!.atMs, 4000);
  t.match(both[0]!.message, /a and b both counted y's vote from 4\.000s to 5\.000s/);
  const granted = checkVoteLeases(history({ leases: [lease('x', 'a', 'granted', 0, 5000), lease('x', 'b', 'granted', 3000, 8000)] }));
  t.match(granted[0]!.message, /x held leases granted to a and b at once from 3\.000s to 5\.000s/);
  const outside = checkVoteLeases(history({ leases: [lease('x', 'a', 'granted', 1000, 5000), lease('x', 'a', 'counted', 900, 4000)] }));
  t.match(outside[0]!.message, /a counted x's vote from 0\.900s to 4\.000s, outside any lease x granted it/);
});

// Seed 1862727: a was removed at 5.3 s (b committed it), restarted not knowing it; x, cut off from b,
// could reach only a, and stayed Autonomous: agents refuse a controller their controllers removed.
t.test('agent-failover: a controller another one removed is not one to follow', async (t) => {
  const network = [net(0, 'start'), net(1000, 'partition x | b', { cuts: split(['x'], ['b']) })];
  const follows = [follow(0, 'x', 'b', 'Connected'), follow(1000, 'x', undefined, 'Autonomous')];
  const removedByB = [{ atMs: 500, node: 'b', epoch: 2, removed: ['a'] }];
  const h = (memberships: Array<{ atMs: number; node: string; epoch: number; removed: string[] }>) =>
    history({ agents: ['x'], controllers: ['a', 'b'], network, follows, memberships });
  t.same(checkAgentFailover(h(removedByB), 2000), [], 'a was removed: Autonomous is right');
  t.equal(checkAgentFailover(h([]), 2000).length, 1, 'a member: x should have followed it');
});
