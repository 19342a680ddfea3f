// The checkers under live membership (check/removals.ts): a removed controller is refused by those
// that know of its removal, refuses everyone once it knows, must stop accepting writes once every
// other controller refuses it, and is out of the checks on the end of the run.
import t from 'tap';
import { ack, entry, final, history, net, okWrite, record } from './check/history-builder.ts';
import type { History, MembershipRecordSeen } from './check/history.ts';
import { checkHistory } from './check/index.ts';
import { checkSplitBrain } from './check/split-brain.ts';
import { checkFenceTruth } from './check/status-truth.ts';
import { checkRemovedMembers, knowsRemoved, linkedAt, orphanedAgents, withoutRemoved } from './check/removals.ts';

const K = 'ProxyRoute/default/k';
let counter = 0;
const w = (node: string, startMs: number) => okWrite(node, K, ack(node, ++counter, 1000 + startMs, { [node]: counter }), startMs, { endMs: startMs + 5 });
const seen = (node: string, atMs: number, epoch: number, removed: string[]): MembershipRecordSeen => ({ node, atMs, epoch, removed });
// c is removed at 10 s: a commits it at once, b at 12 s, c itself at 15 s.
const removal = [seen('a', 0, 1, []), seen('b', 0, 1, []), seen('c', 0, 1, []), seen('a', 10_000, 2, ['c']), seen('b', 12_000, 2, ['c']), seen('c', 15_000, 2, ['c'])];

t.test('who refuses whom, and when', async (t) => {
  const h = history({ memberships: removal });
  t.notOk(knowsRemoved(h, 'a', 'c', 9_999));
  t.ok(knowsRemoved(h, 'a', 'c', 10_000));
  t.ok(linkedAt(h, 'b', 'c', 11_000), 'b has not committed it yet');
  t.notOk(linkedAt(h, 'a', 'c', 11_000), 'a refuses c');
  t.notOk(linkedAt(h, 'c', 'x', 15_000), 'c refuses its agents once it knows');
  t.ok(linkedAt(h, 'a', 'b', 20_000));
  // A restart that loses what c learned from refusals (not from a record) makes it unaware again.
  const relearned = history({ memberships: [...removal, seen('c', 30_000, 1, [])] });
  t.notOk(knowsRemoved(relearned, 'c', 'c', 31_000));
});

t.test('removed-members: the removed controller stops accepting writes once every other one refuses it', async (t) => {
  const h = history({ memberships: removal, writes: [w('c', 11_000), w('c', 12_500), w('c', 13_500)] });
  const vs = checkRemovedMembers(h, 1000);
  t.equal(vs.length, 1, 'only the write after 12 s + 1 s');
  t.match(vs[0]!.message, /c accepted write #\d+ at 13\.500s, though every other controller had refused it as removed since 12\.000s/);
  t.same(checkRemovedMembers(history({ memberships: removal.filter((m) => m.node !== 'b'), writes: [w('c', 13_500)] }), 1000), [], 'not judged while b never knew');
});

t.test('split-brain: a controller may not count a peer it has removed', async (t) => {
  // b is down from 10 s: a's write at 11 s had only c to count, which a had removed at 10 s.
  const h: History = history({ memberships: removal, network: [net(0, 'start'), net(10_000, 'crash b', { down: ['b'] })], writes: [w('a', 11_000)] });
  const vs = checkSplitBrain(h, 900);
  t.equal(vs.length, 1);
  t.equal(vs[0]!.node, 'a');
  t.same(checkSplitBrain(history({ network: h.network, writes: [w('a', 11_000)] }), 900), [], 'without the removal, c counts');
});

t.test('fence-truth: a majority that removed a peer is not expected to count it', async (t) => {
  // a and c up, b down; a removed c at 10 s: a fenced from 10 s is right.
  const h = history({
    memberships: removal, network: [net(0, 'start'), net(5_000, 'crash b', { down: ['b'] })],
    fences: [{ atMs: 10_000, node: 'a', fenced: true, reason: 'NO_QUORUM', votes: 1, total: 3 }] as never, endMs: 40_000,
  });
  t.same(checkFenceTruth(h, 5000), []);
  t.equal(checkFenceTruth(history({ ...h, memberships: [] }), 5000).length, 1, 'without the removal it would be a violation');
});

t.test('the end-of-run checks leave the removed controller out', async (t) => {
  const h = history({
    memberships: removal, rootSamples: [{ atMs: 0, roots: { a: 'r1', b: 'r1', c: 'stale' } }],
    final: { a: final('a', [], 'r1'), b: final('b', [], 'r1'), c: final('c', [], 'stale') },
  });
  const without = withoutRemoved(h);
  t.same(without.controllers, ['a', 'b']);
  t.same(Object.keys(without.final), ['a', 'b']);
  const bounds = { splitBrainMs: 900, convergeMs: 15_000, unfenceMs: 10_000, failoverMs: 10_000, syncLagMs: 5_000 };
  t.same(checkHistory(h, bounds, ['converged']), []);
  t.equal(checkHistory({ ...h, memberships: [] }, bounds, ['converged']).length, 1, 'c would be a divergence if it were a member');
});

t.test('local-writes: a removed controller\'s unreplicated local writes leave with it; a member\'s do not', async (t) => {
  const lostOnC = w('c', 9_000);
  const lostOnA = w('a', 9_000);
  const finals = { a: final('a', [], 'r'), b: final('b', [], 'r') };
  const bounds = { splitBrainMs: 900, convergeMs: 15_000, unfenceMs: 10_000, failoverMs: 10_000, syncLagMs: 5_000 };
  t.same(checkHistory(history({ memberships: removal, writes: [lostOnC], final: finals }), bounds, ['local-writes']), []);
  t.equal(checkHistory(history({ memberships: removal, writes: [lostOnA], final: finals }), bounds, ['local-writes']).length, 1);
  t.equal(checkHistory(history({ writes: [lostOnC], final: finals }), bounds, ['local-writes']).length, 1, 'without the removal it is lost');
});

t.test('an agent that differs only by versions of a removed controller is left out of convergence, and only then', async (t) => {
  const k = 'ProxyRoute/default/k';
  const base = record(k, { a: 2 }, [entry('a', 2, 2_000, { v: 1 })]);
  // x took c's write c:1 before c was removed; the controllers never got it.
  const orphan = record(k, { a: 2, c: 1 }, [entry('a', 2, 2_000, { v: 1 }), entry('c', 1, 9_000, { v: 2 })]);
  const behind = record(k, { a: 1 }, [entry('a', 1, 1_000, { v: 0 })]);
  const h = (x: ReturnType<typeof record>) => history({
    memberships: removal,
    final: { a: final('a', [base], 'r1'), b: final('b', [base], 'r1'), x: final('x', [x], 'rx', 'agent') },
  });
  t.same([...orphanedAgents(h(orphan))], ['x']);
  t.same([...orphanedAgents(h(behind))], [], 'an agent behind the controllers is not excused');
  t.same([...orphanedAgents({ ...h(orphan), memberships: [] })], [], 'nor one ahead by a controller that is still a member');
});

t.test('split-brain: a round trip answered before the removal still counts for one window, like any contact', async (t) => {
  // b down from 9.5 s; a removed c at 10 s. a's write at 10.3 s may rest on round trips with c
  // answered before 10 s; its write at 10.95 s has only those after 10.05 s, all refused.
  const network = [net(0, 'start'), net(9_500, 'crash b', { down: ['b'] })];
  t.same(checkSplitBrain(history({ memberships: removal, network, writes: [w('a', 10_300)] }), 900), []);
  const late = w('a', 10_950);
  const vs = checkSplitBrain(history({ memberships: removal, network, writes: [late] }), 900);
  t.equal(vs.length, 1);
  t.match(vs[0]!.message, new RegExp(`write #${late.id}`));
});

// Joining (members add): d is in no configuration; it is linked with a controller only while both
// records list each other, and voters count by each node's own record.
const withVoters = (node: string, atMs: number, epoch: number, members: string[], voters: string[]): MembershipRecordSeen => ({ node, atMs, epoch, removed: [], members, voters });
const join = [
  withVoters('a', 0, 1, ['a', 'b', 'c'], ['a', 'b', 'c']), withVoters('b', 0, 1, ['a', 'b', 'c'], ['a', 'b', 'c']),
  withVoters('c', 0, 1, ['a', 'b', 'c'], ['a', 'b', 'c']),
  // d added at 10 s (a learner), promoted at 20 s; a learns of both only at 25.5 s (it was down).
  withVoters('b', 10_000, 2, ['a', 'b', 'c', 'd'], ['a', 'b', 'c']), withVoters('c', 10_000, 2, ['a', 'b', 'c', 'd'], ['a', 'b', 'c']),
  withVoters('d', 10_500, 2, ['a', 'b', 'c', 'd'], ['a', 'b', 'c']),
  withVoters('b', 20_000, 3, ['a', 'b', 'c', 'd'], ['a', 'b', 'c', 'd']), withVoters('c', 20_000, 3, ['a', 'b', 'c', 'd'], ['a', 'b', 'c', 'd']),
  withVoters('d', 20_000, 3, ['a', 'b', 'c', 'd'], ['a', 'b', 'c', 'd']), withVoters('a', 25_500, 3, ['a', 'b', 'c', 'd'], ['a', 'b', 'c', 'd']),
];

t.test('joining: a joiner is linked once both records list each other; a learner may not write; a quorum of the record counts', async (t) => {
  const base = { joiners: ['d'], controllers: ['a', 'b', 'c', 'd'], memberships: join };
  const h = history(base);
  t.notOk(linkedAt(h, 'a', 'd', 5_000), 'before the add nobody admits d');
  t.notOk(linkedAt(h, 'b', 'd', 10_200), 'b lists d, d has no record yet');
  t.ok(linkedAt(h, 'b', 'd', 10_600));
  t.notOk(linkedAt(h, 'a', 'd', 22_000), 'a has not committed the add yet');
  t.ok(linkedAt(h, 'a', 'd', 26_000));
  // A learner's write is a violation whatever it reaches.
  t.equal(checkSplitBrain(history({ ...base, writes: [w('d', 15_000)] }), 900).length, 1, 'd wrote as a learner');
  // b is down from 24 s: at 26 s, a counts c and d (voters of its record from 25.5 s), three of four.
  // Its round trip with d can be sent only once a listed d, within the same network segment.
  const net2 = [net(0, 'start'), net(24_000, 'crash b', { down: ['b'] })];
  t.same(checkSplitBrain(history({ ...base, network: net2, writes: [w('a', 26_000)] }), 900), [], 'a with c and d: 3 of 4');
  t.same(checkSplitBrain(history({ ...base, network: net2, writes: [w('a', 25_400)] }), 900), [], 'before, a counts by its epoch-1 record: a and c are 2 of 3');
  t.equal(checkSplitBrain(history({ ...base, memberships: join.filter((m) => m.node !== 'a' || m.epoch === 1), network: net2, writes: [w('a', 26_000)] }), 900).length, 0,
    'had a never learnt of d, a and c would still be 2 of its 3');
  t.equal(checkSplitBrain(history({ ...base, network: [...net2, net(25_000, 'crash c', { down: ['b', 'c'] })], writes: [w('a', 26_000)] }), 900).length, 1,
    'a with d alone is 2 of 4');
});
