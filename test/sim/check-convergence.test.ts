// converged, fence-truth and status-truth checkers.
import t from 'tap';
import type { AgentStatus } from '../../node/agent/agent-node.ts';
import type { FederationStatus } from '../../node/controller/controller-node.ts';
import type { QuorumStatus } from '../../quorum/index.ts';
import { checkConvergence, convergence } from './check/convergence.ts';
import type { FenceChange, FinalStatus } from './check/history.ts';
import { ack, final, history, net, okWrite, runConfig, split } from './check/history-builder.ts';
import { checkFenceTruth, checkStatusTruth } from './check/status-truth.ts';

const K = 'ProxyRoute/default/k';
const healedAt10 = [net(0, 'start'), net(1000, 'partition a | b c', { cuts: split(['a'], ['b', 'c']) }), net(10_000, 'heal')];
const roots = (a: string, b: string, c: string) => ({ a, b, c });

t.test('converged: roots equal soon after the quiet point pass; late or never is a violation', async (t) => {
  const writes = [okWrite('a', K, ack('a', 1, 1, { a: 1 }), 11_000, { endMs: 12_000 })];
  const rootSamples = [
    { atMs: 5000, roots: roots('1', '2', '2') },
    { atMs: 12_000, roots: roots('3', '2', '2') },
    { atMs: 13_000, roots: roots('3', '3', '3') },
  ];
  const fin = { a: final('a', [], '3'), b: final('b', [], '3'), c: final('c', [], '3') };
  const h = history({ network: healedAt10, writes, rootSamples, final: fin, endMs: 20_000 });
  t.same(convergence(h), { kind: 'converged', quietMs: 12_000, convergedMs: 13_000, nodes: 3 });
  t.same(checkConvergence(h, 2000), []);
  const late = checkConvergence(h, 500);
  t.equal(late.length, 1);
  t.match(late[0]!.message, /roots became equal 1\.000s after the quiet point 12\.000s, more than the bound 0\.500s/);
  // A final state that differs: never converged.
  const diverged = history({ network: healedAt10, writes, rootSamples, final: { ...fin, c: final('c', [], '9') }, endMs: 20_000 });
  const vs = checkConvergence(diverged, 2000);
  t.equal(vs.length, 1);
  t.match(vs[0]!.message, /roots still differ 8\.000s after the quiet point 12\.000s \(bound 2\.000s\): a,b=3 c=9/);
  // Not judged: the run ended before the bound, or with the fault in place.
  t.same(checkConvergence({ ...diverged, endMs: 13_000 }, 2000), []);
  t.same(checkConvergence(history({ network: healedAt10.slice(0, 2), final: diverged.final }), 2000), []);
});

t.test('converged: clocks skewed past maxClockOffset are a fault that has not healed', async (t) => {
  const fin = { a: final('a', [], '1'), b: final('b', [], '2') };
  const skewed = history({ clocks: [{ atMs: 100, node: 'a', offsetMs: 8000 }], final: fin });
  t.same(convergence(skewed), { kind: 'unhealed' });
  const back = history({ clocks: [{ atMs: 100, node: 'a', offsetMs: 8000 }, { atMs: 5000, node: 'a', offsetMs: 0 }], final: fin });
  t.equal(checkConvergence(back, 2000).length, 1);
});

const fence = (node: string, atMs: number, fenced: boolean): FenceChange => ({
  atMs, node, fenced, reason: fenced ? 'NO_QUORUM' : undefined, haveQuorum: !fenced, votes: fenced ? 1 : 3, total: 3, threshold: 2, reachable: [node],
});

t.test('fence-truth: a majority that fences itself past the bound is a violation', async (t) => {
  const base = [fence('a', 0, false), fence('b', 0, false), fence('c', 0, false)];
  // a is cut off 1 s..10 s: fenced then is right; b blips for 0.5 s: within the bound.
  const ok = history({ network: healedAt10, fences: [...base, fence('a', 1500, true), fence('b', 2000, true), fence('b', 2500, false), fence('a', 10_800, false)].sort((x, y) => x.atMs - y.atMs) });
  t.same(checkFenceTruth(ok, 1000), []);
  const selfFenced = history({ network: healedAt10, fences: [...base, fence('b', 2000, true), fence('b', 9000, false)].sort((x, y) => x.atMs - y.atMs) });
  const vs = checkFenceTruth(selfFenced, 1000);
  t.equal(vs.length, 1);
  t.equal(vs[0]!.node, 'b');
  t.match(vs[0]!.message, /b was fenced \(NO_QUORUM, 1\/3 votes\) for 7\.000s from 2\.000s while it and c formed a healthy majority/);
  // a un-fences 3 s after the heal: late by a 1 s bound, and reported still at the end when never.
  const lateUnfence = history({ network: healedAt10, fences: [...base, fence('a', 1500, true), fence('a', 13_000, false)].sort((x, y) => x.atMs - y.atMs) });
  t.match(checkFenceTruth(lateUnfence, 1000)[0]!.message, /a was fenced .* for 3\.000s from 10\.000s while it and b, c formed/);
  const never = history({ network: healedAt10, fences: [...base, fence('a', 1500, true)] });
  t.match(checkFenceTruth(never, 1000)[0]!.message, /for 50\.000s from 10\.000s \(still at the end\)/);
  // Unknown before the first entry, and off without a known fence quorum.
  t.same(checkFenceTruth(history({ network: healedAt10, fences: [fence('a', 1500, true), fence('a', 13_000, false)] }), 60_000), []);
  t.same(checkFenceTruth({ ...lateUnfence, config: runConfig({ fenceQuorum: undefined }) }, 1000), []);
});

t.test('fence-truth: a controller whose clock disagrees with the majority may fence', async (t) => {
  const clocks = [{ atMs: 0, node: 'a', offsetMs: 8000 }];
  const h = history({ clocks, fences: [fence('a', 0, true), fence('b', 0, false), fence('c', 0, false)] });
  t.same(checkFenceTruth(h, 1000), []);
  // b and c agree with each other: a fenced b would be a violation.
  t.equal(checkFenceTruth(history({ clocks, fences: [fence('b', 0, true)] }), 1000).length, 1);
});

// Seed 500228 of the sweep at 9dae536: a restarted, cut off from c, d and e but linked to b, stayed
// fenced for 10 s while b–d linked it by a chain to all five; the fence counts direct contact only.
t.test('fence-truth: a controller judged by whom it can exchange with directly, not by chains of others', async (t) => {
  const five = ['a', 'b', 'c', 'd', 'e'];
  const config = runConfig({ fenceQuorum: 3 });
  // a–b, b–d, c–d–e up; a–c, a–d, a–e, b–c, b–e cut: one chain-connected side of five.
  const cuts = [...split(['a'], ['c', 'd', 'e']), ...split(['b'], ['c', 'e'])];
  const network = [net(0, 'start'), net(1000, 'cuts', { cuts })];
  const fence5 = (node: string, atMs: number, fenced: boolean): FenceChange => ({ ...fence(node, atMs, fenced), total: 5, threshold: 3 });
  const base = five.map((n) => fence5(n, 0, false));
  const aFenced = history({ controllers: five, config, network, fences: [...base, fence5('a', 1500, true)] });
  t.same(checkFenceTruth(aFenced, 1000), [], 'a reaches only b directly (2 of 5): fenced is right');
  // b reaches a and d directly: with itself, 3 of 5, so b must not stay fenced.
  const bFenced = history({ controllers: five, config, network, fences: [...base, fence5('b', 1500, true)] });
  const vs = checkFenceTruth(bFenced, 1000);
  t.equal(vs.length, 1);
  t.match(vs[0]!.message, /b was fenced .* while it and a, d formed a healthy majority/);
});

t.test('fence-truth: a controller whose stamps stand still above its clock may fence until real time passes them', async (t) => {
  // a's clock was 20 s ahead and is set right at 1 s: its stamps stand at 21 s until real time passes
  // them. The fence lets it write again once they stand within maxClockOffset (5 s here) of its clock,
  // at 16 s; the truth calls it clearly healthy from within half that, 18.5 s.
  const clocks = [{ atMs: 0, node: 'a', offsetMs: 20_000 }, { atMs: 1000, node: 'a', offsetMs: 0 }];
  const stamps = [{ atMs: 1000, node: 'a', hlcOffsetMs: 20_000 }];
  const base = [fence('a', 0, false), fence('b', 0, false), fence('c', 0, false)];
  const standing = history({ clocks, stamps, fences: [...base, fence('a', 1000, true), fence('a', 16_000, false)] });
  t.same(checkFenceTruth(standing, 1000), [], 'fenced while its stamps stand still: right');
  // Still fenced 3.5 s after it became clearly healthy: a violation from then.
  const late = history({ clocks, stamps, fences: [...base, fence('a', 1000, true), fence('a', 22_000, false)] });
  const vs = checkFenceTruth(late, 1000);
  t.equal(vs.length, 1);
  t.match(vs[0]!.message, /a was fenced .* for 3\.500s from 18\.500s while it and b, c formed a healthy majority/);
});

function quorum(over: Partial<QuorumStatus> = {}): QuorumStatus {
  return {
    phase: 'Healthy', partitionState: 'None', reachablePeers: '2/2', writesFenced: false, fenceReason: 'NONE', clockSkewedPeers: [],
    readsAllowed: true, quorumMode: 'Controllers', ourVotes: 3, totalVotes: 3, threshold: 2, haveQuorum: true, reachableAgents: 0, ...over,
  };
}

function controllerStatus(node: string, over: { quorum?: Partial<QuorumStatus>; peer?: { status?: string; syncLagMs?: number } } = {}, metrics?: Record<string, number>): FinalStatus {
  const members = ['a', 'b', 'c'].map((name) => name === node
    ? { name, region: 'r', status: 'Local', syncLagMs: undefined, lastSyncMs: undefined, agents: 0 }
    : { name, region: 'r', status: over.peer?.status ?? 'Healthy', syncLagMs: over.peer?.syncLagMs ?? 0, lastSyncMs: 1, agents: 0 });
  const status: FederationStatus = { federationId: 'f', localMember: node, members, quorum: quorum(over.quorum) };
  return { node, role: 'controller', status, ...(metrics === undefined ? {} : { metrics }) };
}

function agentStatus(node: string, state: AgentStatus['state'], controller: string | undefined): FinalStatus {
  return { node, role: 'agent', status: { state, controller } as unknown as AgentStatus };
}

t.test('status-truth: a healed federation reports itself healthy', async (t) => {
  const good = { a: controllerStatus('a'), b: controllerStatus('b'), c: controllerStatus('c'), x: agentStatus('x', 'Connected', 'a') };
  t.same(checkStatusTruth(history({ network: healedAt10, finalStatus: good }), { settleMs: 5000, syncLagMs: 1000 }), []);
  const bad = {
    a: controllerStatus('a', { quorum: { writesFenced: true, fenceReason: 'NO_QUORUM', ourVotes: 1 } }),
    b: controllerStatus('b', { quorum: { phase: 'Partitioned', partitionState: 'Confirmed' }, peer: { syncLagMs: 4000 } }),
    c: controllerStatus('c', { peer: { status: 'Suspect' } }, { 'novaedge_federation_partition_state{state="confirmed"}': 1, 'novaedge_federation_member_healthy{member="a"}': 0 }),
    x: agentStatus('x', 'Autonomous', undefined),
    y: agentStatus('y', 'Connected', 'zz'),
  };
  const vs = checkStatusTruth(history({ network: healedAt10, finalStatus: bad }), { settleMs: 5000, syncLagMs: 1000 });
  const lines = vs.map((v) => `${v.node}: ${v.message}`);
  t.match(lines, [
    /^a: status shows writes fenced \(NO_QUORUM, 1\/3 votes\) on a healthy majority \(healed since 10\.000s\)/,
    /^b: status shows a Confirmed partition \(phase Partitioned\)/,
    /^b: status shows sync lag 4000 ms to a, more than 1000 ms/,
    /^b: status shows sync lag 4000 ms to c/,
    /^c: metric novaedge_federation_partition_state\{state="confirmed"\} is set/,
    /^c: status shows a Suspect, but it runs and is connected/,
    /^c: metric novaedge_federation_member_healthy\{member="a"\} is 0/,
    /^c: status shows b Suspect/,
    /^x: agent is Autonomous, not Connected/,
    /^y: agent follows zz, not a running controller/,
  ]);
  t.equal(vs.length, 10);
  // Not judged before the settle bound has passed since the heal, nor while a fault is in place.
  t.same(checkStatusTruth(history({ network: healedAt10, finalStatus: bad, endMs: 12_000 }), { settleMs: 5000, syncLagMs: 1000 }), []);
  t.same(checkStatusTruth(history({ network: healedAt10.slice(0, 2), finalStatus: bad }), { settleMs: 5000, syncLagMs: 1000 }), []);
});

t.test('status-truth: with a controller down for good, its absence is no fault of the others', async (t) => {
  const network = [net(0, 'start'), net(1000, 'crash c', { down: ['c'] })];
  const st = {
    a: controllerStatus('a', { quorum: { phase: 'Degraded', partitionState: 'None' } }),
    b: controllerStatus('b', { quorum: { writesFenced: true, fenceReason: 'NO_QUORUM' } }),
  };
  const vs = checkStatusTruth(history({ network, finalStatus: st }), { settleMs: 5000, syncLagMs: 1000 });
  // Degraded is right (c is configured and unreachable), but a and b still make a majority of 2.
  t.same(vs.map((v) => v.node), ['b']);
  t.match(vs[0]!.message, /status shows writes fenced \(NO_QUORUM/);
  // Issue 19: the healthy majority reported a Confirmed partition, and the critical alert fired.
  const confirmed = { a: controllerStatus('a', { quorum: { phase: 'Partitioned', partitionState: 'Confirmed' } }) };
  t.match(checkStatusTruth(history({ network, finalStatus: confirmed }), { settleMs: 5000, syncLagMs: 1000 })[0]?.message ?? '',
    /^status shows a Confirmed partition \(phase Partitioned\) while holding quorum/);
});

t.test('converged: roots that became equal before the quiet point and stayed so converge at it', async (t) => {
  const writes = [okWrite('a', K, ack('a', 1, 1, { a: 1 }), 11_000, { endMs: 12_000 })];
  const rootSamples = [{ atMs: 5000, roots: roots('1', '2', '2') }, { atMs: 11_500, roots: roots('3', '3', '3') }];
  const fin = { a: final('a', [], '3'), b: final('b', [], '3'), c: final('c', [], '3') };
  const h = history({ network: healedAt10, writes, rootSamples, final: fin, endMs: 40_000 });
  t.same(convergence(h), { kind: 'converged', quietMs: 12_000, convergedMs: 12_000, nodes: 3 });
  t.same(checkConvergence(h, 15_000), []);
});
