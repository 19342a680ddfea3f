// split-brain checker and the network truth it stands on.
import t from 'tap';
import { ack, history, net, okWrite, runConfig, split, writeOp } from './check/history-builder.ts';
import { checkSplitBrain, checkTwoSides, decisionMs } from './check/split-brain.ts';
import { checkQuorumWrites } from './check/acked-writes.ts';
import { healedAtMs, segments, sides } from './check/truth.ts';
import type { NetworkState } from './check/history.ts';

const K = 'ProxyRoute/default/k';
const partitioned = [net(0, 'start'), net(1000, 'partition a | b c', { cuts: split(['a'], ['b', 'c']) }), net(20_000, 'heal')];
let counter = 0;
const w = (node: string, startMs: number, durability: 'local' | 'quorum' = 'local', endMs = startMs + 10) =>
  okWrite(node, K, ack(node, ++counter, 1000 + startMs, { [node]: counter }), startMs, { durability, endMs });

t.test('sides follow chains of pairs that can exchange data', async (t) => {
  t.same(sides(partitioned[1]!, ['a', 'b', 'c']), [['a'], ['b', 'c']]);
  // a-b and b-c up, a-c cut: one side (replication relays through b).
  t.same(sides(net(0, 'x', { cuts: split(['a'], ['c']) }), ['a', 'b', 'c']), [['a', 'b', 'c']]);
  // One way is not exchange.
  t.same(sides(net(0, 'x', { cuts: [['a', 'b'], ['a', 'c']] }), ['a', 'b', 'c']), [['a'], ['b', 'c']]);
  t.same(sides(net(0, 'x', { down: ['b'], paused: ['c'] }), ['a', 'b', 'c']), [['a'], ['b'], ['c']]);
  const h = history({ network: partitioned, endMs: 30_000 });
  t.same(segments(h).map((s) => [s.fromMs, s.toMs]), [[0, 1000], [1000, 20_000], [20_000, 30_000]]);
  t.equal(healedAtMs(h), 20_000);
  t.equal(healedAtMs(history({ network: partitioned.slice(0, 2) })), undefined);
});

t.test('the minority stops accepting within the bound: passes', async (t) => {
  const h = history({ network: partitioned, writes: [w('a', 1500), w('a', 3900), w('b', 2000), w('b', 15_000), w('a', 25_000)] });
  t.same(checkSplitBrain(h, 3000), []);
});

t.test('a minority accepting past the bound is a violation naming the node, the write and the split', async (t) => {
  const wa = w('a', 5000);
  const vs = checkSplitBrain(history({ network: partitioned, writes: [w('a', 1500), wa, w('c', 6000)] }), 3000);
  t.equal(vs.length, 1, 'the majority side (b, c) may go on accepting');
  t.equal(vs[0]!.node, 'a');
  t.equal(vs[0]!.atMs, 5000);
  t.match(vs[0]!.message, new RegExp(`a accepted write #${wa.id} .* at 5\\.000s, but it could exchange data directly with at most 1 of 3 controllers .*without a majority since 1\\.000s`));
});

t.test('a side that changes is no split: a with c, then c with b', async (t) => {
  const network = [net(0, 'start'), net(1000, 'cut a-b', { cuts: split(['a'], ['b']) }), net(5000, 'cut a-c too', { cuts: [...split(['a'], ['b']), ...split(['a'], ['c'])] })];
  // Until 5 s a reaches c directly (2 of 3), b reaches c: both may accept. After 5 s a is alone.
  t.same(checkSplitBrain(history({ network, writes: [w('a', 4000), w('b', 4500), w('a', 5500), w('b', 9000)] }), 3000), [], 'a at 5.5 s is within the bound');
  const vs = checkSplitBrain(history({ network, writes: [w('a', 8100), w('b', 9000)] }), 3000);
  t.same(vs.map((v) => v.node), ['a']);
});

t.test('a write stored though its quorum failed counts as accepted; a fenced one does not', async (t) => {
  const stored = writeOp({ node: 'a', key: K, durability: 'quorum', startMs: 5000, outcome: { status: 'error', code: 'QUORUM_UNAVAILABLE', message: '', stored: ack('a', 9, 6000, { a: 9 }) } });
  const fenced = writeOp({ node: 'a', key: K, startMs: 5000, outcome: { status: 'error', code: 'FENCED', message: '' } });
  t.equal(checkSplitBrain(history({ network: partitioned, writes: [stored, w('b', 6000)] }), 3000).length, 1);
  t.same(checkSplitBrain(history({ network: partitioned, writes: [fenced, w('b', 6000)] }), 3000), []);
});

t.test('a quorum write acknowledged by a minority side is a quorum-writes violation (it could not reach a majority), even within the bound', async (t) => {
  const h = history({ network: partitioned, writes: [w('a', 1100, 'quorum', 1200), w('b', 1050, 'quorum', 1300)] });
  t.same(checkSplitBrain(h, 3000), [], 'split-brain judges acceptance only');
  const vs = checkQuorumWrites(h).filter((v) => /could reach only/.test(v.message));
  t.same(vs.map((v) => v.node), ['a']);
  t.match(vs[0]!.message, /acknowledged at 1\.200s though between 1\.100s and then it could reach only a \(2 needed\)/);
  // A paused node's kernel still carries what it wrote: pausing the origin does not make the write unreachable.
  const pausedThenHealed = [net(0, 'start'), net(1000, 'cut b', { cuts: split(['b'], ['a', 'c']) }), net(2000, 'heal; pause b', { paused: ['b'] }), net(8000, 'resume b')];
  const hp = history({ network: pausedThenHealed, writes: [w('b', 1100, 'quorum', 8000)] });
  t.same(checkQuorumWrites(hp).filter((v) => /could reach only/.test(v.message)), []);
});

t.test('no fence quorum (AgentAssisted, or writes not fenced): not judged', async (t) => {
  t.same(checkSplitBrain(history({ network: partitioned, config: runConfig({ fenceQuorum: undefined }), writes: [w('a', 9000)] }), 3000), []);
});

t.test('a non-transitive cut is no split', async (t) => {
  const network = [net(0, 'start'), net(1000, 'partition a | c', { cuts: split(['a'], ['c']) })];
  t.same(checkSplitBrain(history({ network, writes: [w('a', 9000, 'quorum'), w('c', 9000, 'quorum')] }), 3000), []);
});

t.test('a paused node decides when it resumes', async (t) => {
  const network = [net(0, 'start'), net(1000, 'pause a', { paused: ['a'] }), net(8000, 'resume a')];
  const h = history({ network });
  t.equal(decisionMs(segments(h), { node: 'a', startMs: 2000 }), 8000);
  t.equal(decisionMs(segments(h), { node: 'b', startMs: 2000 }), 2000);
  // Called at 2 s while paused, decided at 8 s once connected again: no split.
  t.same(checkSplitBrain(history({ network, writes: [w('a', 2000), w('b', 6000)] }), 3000), []);
});

t.test('writes at the last instant of the run count', async (t) => {
  const network = [net(0, 'start'), net(1000, 'partition a | b c', { cuts: split(['a'], ['b', 'c']) })];
  t.equal(checkSplitBrain(history({ network, endMs: 9000, writes: [w('a', 9000), w('b', 9000)] }), 3000).length, 1);
  t.same(checkSplitBrain(history({ network, endMs: 9000, writes: [w('a', 3900), w('b', 9000)] }), 3000), []);
});

t.test('contacts count within the window, not at one instant: the fence counts a peer for a window after its proof', async (t) => {
  const five = ['a', 'b', 'c', 'd', 'e'];
  const cutBE = [...split(['d'], ['b', 'e'])];
  const network = [net(0, 'start'), net(1000, 'cut d | b e; c down', { cuts: cutBE, down: ['c'] }), net(5000, 'pause a; c up', { cuts: cutBE, paused: ['a'] })];
  const h = (atMs: number) => history({ controllers: five, config: runConfig({ fenceQuorum: 3, durabilityQuorum: 3 }), network, writes: [w('d', atMs)] });
  // At 5.1 s: a was reached until 5 s, c since 5 s: d, a and c within the last 0.9 s make 3 of 5.
  t.same(checkSplitBrain(h(5100), 900), []);
  // At 6.2 s the window holds only d and c.
  t.same(checkSplitBrain(h(6200), 900).map((v) => v.node), ['d']);
});

t.test('AgentAssisted: two controllers cut apart never both accept at once beyond the bound', async (t) => {
  const config = runConfig({ quorumMode: 'AgentAssisted', fenceQuorum: undefined, fenceWrites: true });
  const cut = [net(0, 'start'), net(1000, 'partition a | b', { cuts: split(['a'], ['b']) }), net(20_000, 'heal')];
  const two = { controllers: ['a', 'b'], network: cut, config };
  // a accepts (a stale view of b) within the bound, b after winning the agents' leases: no overlap beyond it.
  t.same(checkTwoSides(history({ ...two, writes: [w('a', 1500), w('b', 1800), w('b', 6000), w('b', 6500)] }), 3000), []);
  // Both accept well after the cut: a violation naming both writes.
  const [wa, wb] = [w('a', 8000), w('b', 8400)];
  const vs = checkTwoSides(history({ ...two, writes: [wa, wb] }), 3000);
  t.equal(vs.length, 1);
  t.match(vs[0]!.message, new RegExp(`a accepted write #${wa.id} at 8\\.000s and b write #${wb.id} .* at 8\\.400s, but they could not exchange data`));
  // Writes far apart in time are not "at once"; after the heal they exchange data again.
  t.same(checkTwoSides(history({ ...two, writes: [w('a', 8000), w('b', 12_000), w('a', 25_000), w('b', 25_100)] }), 3000), []);
  // Controllers mode, or fencing off: not this check's business.
  t.same(checkTwoSides(history({ ...two, config: runConfig(), writes: [w('a', 8000), w('b', 8400)] }), 3000), []);
  t.same(checkTwoSides(history({ ...two, config: { ...config, fenceWrites: false }, writes: [w('a', 8000), w('b', 8400)] }), 3000), []);
});

t.test('AgentAssisted with three controllers: a voter both sides reach makes them overlap; a learner does not (seed 1890000)', async (t) => {
  const config = runConfig({ quorumMode: 'AgentAssisted', fenceQuorum: undefined, fenceWrites: true });
  // c was added and promoted; at 25.2 s c's packets to b are dropped: b and c each reach a.
  const network = [net(0, 'start'), net(25_215, 'cut c -> b', { cuts: [['c', 'b']] }), net(27_898, 'heal')];
  const rec = (voters: string[]) => ['a', 'b', 'c'].map((node) => ({ node, atMs: 0, epoch: 4, removed: [], members: ['a', 'b', 'c'], voters }));
  const three = { controllers: ['a', 'b', 'c'], joiners: ['c'], network, config };
  const writes = [w('b', 26_875), w('c', 26_924)];
  t.same(checkTwoSides(history({ ...three, memberships: rec(['a', 'b', 'c']), writes }), 900), [], 'a counts for both: not two disjoint sides');
  t.equal(checkTwoSides(history({ ...three, memberships: rec(['b', 'c']), writes }), 900).length, 1, 'a only a learner: two sides');
});

t.test('AgentAssisted: a controller paused (or down) after its write was not accepting at once with the other', async (t) => {
  const config = runConfig({ quorumMode: 'AgentAssisted', fenceQuorum: undefined, fenceWrites: true });
  const network = [net(0, 'start'), net(1000, 'partition a | b', { cuts: split(['a'], ['b']) }),
    net(8200, 'pause a', { cuts: split(['a'], ['b']), paused: ['a'] })];
  t.same(checkTwoSides(history({ controllers: ['a', 'b'], network, config, writes: [w('a', 8000), w('b', 8400)] }), 3000), []);
});

t.test('AgentAssisted: the earlier write within the bound of the cut is a stale view, not a split', async (t) => {
  const config = runConfig({ quorumMode: 'AgentAssisted', fenceQuorum: undefined, fenceWrites: true });
  const network = [net(0, 'start'), net(18_222, 'cut b -> a', { cuts: [['b', 'a']] })];
  // Seed 3: b accepted 0.43 s after the cut (its view of a stale), a (holding the agent's lease) 0.6 s later.
  t.same(checkTwoSides(history({ controllers: ['a', 'b'], network, config, writes: [w('b', 18_650), w('a', 19_225)] }), 900), []);
  t.equal(checkTwoSides(history({ controllers: ['a', 'b'], network, config, writes: [w('b', 19_650), w('a', 20_225)] }), 900).length, 1);
});

t.test('an answer held by a one-way cut counts when the cut heals, not when the two ways are open at once (seed 1508059)', async (t) => {
  const ab = split(['c'], ['a', 'b']);
  // c cut off; then b -> a cut one way (a's pings reach b, b's answers are held); at 2.709 s the cut
  // heals, delivering the answers, and b is paused in the same instant.
  const network = (last: NetworkState) => [net(0, 'start'), net(1169, 'partition c | a b', { cuts: ab }), net(2298, 'cut b -> a', { cuts: [...ab, ['b', 'a']] }), last];
  const h = (last: NetworkState, atMs = 3255) => history({ network: network(last), writes: [w('a', atMs)] });
  t.same(checkSplitBrain(h(net(2709, 'heal b -> a; pause b', { cuts: ab, paused: ['b'] })), 900), [], "a's ping at 2.355 s was answered at 2.709 s");
  t.equal(checkSplitBrain(h(net(2709, 'heal b -> a; pause b', { cuts: ab, paused: ['b'] }), 3700), 900).length, 1, 'b runs no more after 2.709 s: no round trip sent in [2.8 s, 3.7 s] completes');
  t.same(checkSplitBrain(h(net(2709, 'heal b -> a; pause b', { cuts: ab, paused: ['b'] }), 3600), 900), [], 'a ping sent at 2.7 s, just before b stopped, is answered too');
  t.equal(checkSplitBrain(h(net(2709, 'heal b -> a; b crashes', { cuts: ab, down: ['b'] })), 900).length, 1, 'a crash drops what the cut held');
  t.equal(checkSplitBrain(h(net(3300, 'heal b -> a', { cuts: ab })), 900).length, 1, 'the answer arrives after the write');
  // b paused before a's ping arrives: it answers on resume, and the answer counts only once read.
  const paused = [net(0, 'start'), net(1169, 'partition c | a b', { cuts: ab }), net(2000, 'pause b', { cuts: ab, paused: ['b'] }), net(3000, 'resume b', { cuts: ab })];
  t.same(checkSplitBrain(history({ network: paused, writes: [w('a', 3100)] }), 900), [], 'answered on resume, within the window');
  t.equal(checkSplitBrain(history({ network: paused, writes: [w('a', 2950)] }), 900).length, 1, 'not answered yet');
});
