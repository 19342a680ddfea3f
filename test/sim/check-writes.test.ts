// The write checkers: quorum-writes, local-writes, lww-real-time, on hand-made histories that pass and
// that violate.
import t from 'tap';
import { checkLocalWrites, checkLwwRealTime, checkQuorumWrites, reachableDuring } from './check/acked-writes.ts';
import { ack, entry, final, history, net, okWrite, record, resource, runConfig, split, writeOp } from './check/history-builder.ts';
import { checkSkewedWrites } from './check/skewed-writes.ts';
import { FateJudge, storedWrites } from './check/write-fates.ts';

const K = 'ProxyRoute/default/k';
const v1 = resource(K, { v: 1 });
const v2 = resource(K, { v: 2 });
const everywhere = (...records: ReturnType<typeof record>[]) => ({ a: final('a', records), b: final('b', records), c: final('c', records) });

t.test('an acknowledged quorum write held by every controller passes', async (t) => {
  const w1 = okWrite('a', K, ack('a', 1, 1000, { a: 1 }), 100, { durability: 'quorum', endMs: 120, holders: ['a', 'b'] });
  const rec = record(K, { a: 1 }, [entry('a', 1, 1000, v1)]);
  t.same(checkQuorumWrites(history({ writes: [w1], final: everywhere(rec) })), []);
});

t.test('a quorum write missing on one controller is a violation naming it, the key and the time', async (t) => {
  const w1 = okWrite('a', K, ack('a', 1, 1000, { a: 1 }), 100, { durability: 'quorum', endMs: 120 });
  const rec = record(K, { a: 1 }, [entry('a', 1, 1000, v1)]);
  const vs = checkQuorumWrites(history({ writes: [w1], final: { a: final('a', [rec]), b: final('b', [rec]), c: final('c', []) } }));
  t.equal(vs.length, 1);
  t.equal(vs[0]!.checker, 'quorum-writes');
  t.equal(vs[0]!.node, 'a');
  t.equal(vs[0]!.key, K);
  t.equal(vs[0]!.atMs, 120);
  t.match(vs[0]!.message, /#\d+ apply on a \(a:1.*acknowledged at 0\.120s is lost: c holds no record/);
});

t.test('a write the controller never saw is lost there', async (t) => {
  const w1 = okWrite('a', K, ack('a', 1, 1000, { a: 1 }), 100, { durability: 'quorum' });
  const onlyB = record(K, { b: 1 }, [entry('b', 1, 900, v2)]);
  const vs = checkQuorumWrites(history({ writes: [w1], final: { a: final('a', [record(K, { a: 1 }, [entry('a', 1, 1000, v1)])]), b: final('b', [onlyB]), c: final('c', [onlyB]) } }));
  t.equal(vs.length, 1);
  t.match(vs[0]!.message, /b never saw it .*; c never saw it/);
});

t.test('superseded by a write that saw it: passes under every strategy', async (t) => {
  const w1 = okWrite('a', K, ack('a', 1, 1000, { a: 1 }), 100, { durability: 'quorum' });
  const w2 = okWrite('b', K, ack('b', 1, 2000, { a: 1, b: 1 }), 200, { durability: 'local' });
  const rec = record(K, { a: 1, b: 1 }, [entry('b', 1, 2000, v2)]);
  for (const strategy of ['LastWriterWins', 'Manual', 'Merge'] as const) {
    const h = history({ config: runConfig({ strategy }), writes: [w1, w2], final: everywhere(rec) });
    t.same(checkQuorumWrites(h), [], strategy);
    t.same(checkLocalWrites(h), [], strategy);
    t.equal(new FateJudge(h).fate(storedWrites(h)[0]!, h.final.c!).kind, 'superseded');
  }
});

t.test('the LWW loser of a concurrent write passes under LastWriterWins only', async (t) => {
  const w1 = okWrite('a', K, ack('a', 1, 1000, { a: 1 }), 100, { durability: 'local' });
  const w2 = okWrite('b', K, ack('b', 1, 2000, { b: 1 }), 100, { durability: 'local' });
  const rec = record(K, { a: 1, b: 1 }, [entry('b', 1, 2000, v2)]);
  const lww = history({ writes: [w1, w2], final: everywhere(rec) });
  t.same(checkLocalWrites(lww), []);
  const f = new FateJudge(lww).fate(storedWrites(lww)[0]!, lww.final.a!);
  t.equal(f.kind, 'lww-loser');
  // Manual keeps concurrent versions as siblings: dropping one is a loss.
  const manual = history({ config: runConfig({ strategy: 'Manual' }), writes: [w1, w2], final: everywhere(rec) });
  const vs = checkLocalWrites(manual);
  t.equal(vs.length, 1);
  t.match(vs[0]!.message, /local write #\d+ apply on a .* is lost: a saw it but holds neither it nor a write that replaced it/);
});

t.test('a dot dropped for a lower stamp is lost even under LastWriterWins', async (t) => {
  const w1 = okWrite('a', K, ack('a', 1, 1000, { a: 1 }), 100, { durability: 'quorum' });
  const rec = record(K, { a: 1, b: 1 }, [entry('b', 1, 500, v2)]);
  const vs = checkQuorumWrites(history({ writes: [w1], final: everywhere(rec) }));
  t.equal(vs.length, 1);
  t.match(vs[0]!.message, /a saw it but holds neither it nor a write that replaced it/);
});

t.test('a successor that is itself lost does not excuse the write it replaced', async (t) => {
  const w1 = okWrite('a', K, ack('a', 1, 1000, { a: 1 }), 100, { durability: 'local' });
  // b's write saw a's, failed its quorum but was stored; neither survives on c.
  const w2 = writeOp({ node: 'b', key: K, durability: 'quorum', startMs: 200, outcome: { status: 'error', code: 'QUORUM_TIMEOUT', message: 'x', stored: ack('b', 1, 2000, { a: 1, b: 1 }) } });
  const rec = record(K, { a: 1, b: 1, c: 1 }, [entry('c', 1, 300, v2)]);
  const h = history({ config: runConfig({ strategy: 'Manual' }), writes: [w1, w2], final: everywhere(rec) });
  const vs = checkLocalWrites(h);
  const lost = vs.filter((v) => / is lost: /.test(v.message));
  t.equal(lost.length, 1, 'one violation per write');
  t.match(lost[0]!.message, /is lost: a saw it .*; b saw it .*; c saw it/);
  // (c's version is no client write's either.)
  t.match(vs.filter((v) => !lost.includes(v)).map((v) => v.message), [/controllers hold 1 versions by c that no recorded write has/]);
  // Had b's write survived, a's would be superseded.
  const kept = record(K, { a: 1, b: 1 }, [entry('b', 1, 2000, v2)]);
  t.same(checkLocalWrites(history({ config: runConfig({ strategy: 'Manual' }), writes: [w1, w2], final: everywhere(kept) })), []);
});

t.test('unchanged and refused writes are not judged', async (t) => {
  const same = okWrite('a', K, ack('a', 1, 1000, { a: 1 }, false), 100);
  const fenced = writeOp({ node: 'a', key: K, startMs: 100, outcome: { status: 'error', code: 'FENCED', message: 'fenced' } });
  const pending = writeOp({ node: 'a', key: K, startMs: 100, outcome: { status: 'pending' } });
  t.same(checkLocalWrites(history({ writes: [same, fenced, pending], final: everywhere() })), []);
});

t.test('two stored writes with one dot are a violation', async (t) => {
  const w1 = okWrite('a', K, ack('a', 1, 1000, { a: 1 }), 100);
  const w2 = okWrite('a', K, ack('a', 1, 3000, { a: 1 }), 300);
  const rec = record(K, { a: 1 }, [entry('a', 1, 3000, v2)]);
  const vs = checkLocalWrites(history({ writes: [w1, w2], final: everywhere(rec) }));
  t.equal(vs.length, 1);
  t.match(vs[0]!.message, /writes #\d+ and #\d+ share the dot a:1/);
  t.same(checkLocalWrites(history({ writes: [w2], final: everywhere(rec) })), [], 'one of them alone is fine');
});

t.test('a quorum ack the network could not have carried to a majority is a violation', async (t) => {
  const network = [net(0, 'start'), net(50, 'partition a | b c', { cuts: split(['a'], ['b', 'c']) })];
  const w1 = okWrite('a', K, ack('a', 1, 1000, { a: 1 }), 100, { durability: 'quorum', endMs: 150 });
  const rec = record(K, { a: 1 }, [entry('a', 1, 1000, v1)]);
  const h = history({ network, writes: [w1], final: everywhere(rec) });
  t.same([...reachableDuring(h, 'a', 100, 150)], ['a']);
  const vs = checkQuorumWrites(h);
  t.equal(vs.length, 1);
  t.match(vs[0]!.message, /could reach only a \(2 needed\)/);
  // Begun before the partition, it could have reached b: no violation.
  const early = okWrite('a', K, ack('a', 1, 1000, { a: 1 }), 10, { durability: 'quorum', endMs: 150 });
  t.same(checkQuorumWrites(history({ network, writes: [early], final: everywhere(rec) })), []);
  // One-way a -> b still lets the write reach b (the checker over-approximates, never a false alarm).
  const oneWay = [net(0, 'start'), net(50, 'partition b -> a', { cuts: [['b', 'a'], ['c', 'a'], ['a', 'c'], ['b', 'c'], ['c', 'b']] })];
  t.same([...reachableDuring(history({ network: oneWay }), 'a', 100, 150)].sort(), ['a', 'b']);
});

t.test('a quorum ack with too few recorded holders is a violation', async (t) => {
  const w1 = okWrite('a', K, ack('a', 1, 1000, { a: 1 }), 100, { durability: 'quorum', holders: ['a'] });
  const rec = record(K, { a: 1 }, [entry('a', 1, 1000, v1)]);
  const vs = checkQuorumWrites(history({ writes: [w1], final: everywhere(rec) }));
  t.equal(vs.length, 1);
  t.match(vs[0]!.message, /while only 1 of 2 controllers held it \(a\)/);
});

t.test('lww-real-time: a write begun long after another was acknowledged must not lose to it by stamp', async (t) => {
  // a's clock runs 29 s ahead: its write at 1 s is stamped 30 s; b writes at 12 s (stamp 12 s), concurrently.
  const wa = okWrite('a', K, ack('a', 1, 30_000, { a: 1 }), 1000, { endMs: 1010 });
  const late = okWrite('b', K, ack('b', 1, 12_000, { b: 1 }), 12_000);
  const rec = record(K, { a: 1, b: 1 }, [entry('a', 1, 30_000, v1)]);
  const vs = checkLwwRealTime(history({ writes: [wa, late], final: everywhere(rec) }));
  t.equal(vs.length, 1);
  t.equal(vs[0]!.node, 'b');
  t.match(vs[0]!.message, /began at 12\.000s, 10\.990s after write #\d+ apply on a .* was acknowledged, yet loses to it by stamp on a \(maxClockOffset 5000 ms\)/);
  // Within 2 × maxClockOffset of the ack (two clocks each within the bound of a quorum), it may.
  const soon = okWrite('b', K, ack('b', 1, 11_000, { b: 1 }), 11_000);
  t.same(checkLwwRealTime(history({ writes: [wa, soon], final: everywhere(rec) })), []);
  // Not judged under Merge.
  t.same(checkLwwRealTime(history({ config: runConfig({ strategy: 'Merge' }), writes: [wa, late], final: everywhere(rec) })), []);
});

t.test('skewed-writes: a controller clearly off its side keeps accepting past the bound: violation', async (t) => {
  const clocks = [{ atMs: 1000, node: 'a', offsetMs: 8000 }, { atMs: 20_000, node: 'a', offsetMs: 0 }];
  const at = (ms: number) => okWrite('a', K, ack('a', ms, ms + 8000, { a: ms }), ms);
  // 8 s off with maxClockOffset 5 s: past 1.5 × 5 s. Accepting 1 s after the skew is within a 2 s bound.
  t.same(checkSkewedWrites(history({ clocks, writes: [at(2500), okWrite('b', K, ack('b', 1, 5000, { b: 1 }), 5000)] }), 2000), []);
  const vs = checkSkewedWrites(history({ clocks, writes: [at(5000)] }), 2000);
  t.equal(vs.length, 1);
  t.equal(vs[0]!.node, 'a');
  t.match(vs[0]!.message, /a accepted write #\d+ at 5\.000s though its clock had been 8\.000s ahead of its side's \(a, b, c\) since 1\.000s \(maxClockOffset 5000 ms, bound 2\.000s\)/);
  // After the clock is back, writes are fine; a 6 s skew is in the grey zone (up to 7.5 s): not judged.
  t.same(checkSkewedWrites(history({ clocks, writes: [at(25_000)] }), 2000), []);
  t.same(checkSkewedWrites(history({ clocks: [{ atMs: 1000, node: 'a', offsetMs: 6000 }], writes: [at(9000)] }), 2000), []);
  // Alone on its side, a is its own median: nothing to disagree with.
  const network = [net(0, 'start'), net(500, 'partition a | b c', { cuts: split(['a'], ['b', 'c']) })];
  t.same(checkSkewedWrites(history({ clocks, network, writes: [at(5000)] }), 2000), []);
  // b, not a, is the odd one when b is the one behind.
  const behind = checkSkewedWrites(history({ clocks: [{ atMs: 0, node: 'b', offsetMs: -9000 }], writes: [okWrite('b', K, ack('b', 1, 1, { b: 1 }), 4000)] }), 2000);
  t.match(behind[0]!.message, /b accepted write #\d+ at 4\.000s though its clock had been 9\.000s behind its side's/);
});

// Seeds 13, 77 and 50 of `npm run sim -- --seconds 60` (issue 18): the checker judged wall clocks, but
// the fence compares stamps, and a hybrid clock never runs backward (docs/configuration.md "Clock skew").
// The height the stamps reached is recorded (history.stamps) when it rises above the node's own clock.
t.test('skewed-writes: a clock set back stamps at its height until real time passes it: its partner is not off', async (t) => {
  // Seed 13: b cut off; c's clock set 20 s back. a, correct, shares a side of two with c; c's stamps
  // fall behind only as real time passes (3 s by 4 s), so a is not clearly off the side's median.
  const network = [net(0, 'start'), net(500, 'partition b | a c', { cuts: split(['b'], ['a', 'c']) })];
  const clocks = [{ atMs: 1000, node: 'c', offsetMs: -20_000 }];
  // c's HLC stood at the height reached at 1 s (recorded when it issued its next stamp, above its clock).
  const stamps = [{ atMs: 1010, node: 'c', hlcOffsetMs: -10 }];
  t.same(checkSkewedWrites(history({ network, clocks, stamps, writes: [okWrite('a', K, ack('a', 1, 4000, { a: 1 }), 4000)] }), 2000), []);
  // Once c's stamps have fallen far enough behind (20 s later), a on a side of two is judged off again.
  t.equal(checkSkewedWrites(history({ network, clocks, stamps, writes: [okWrite('a', K, ack('a', 1, 30_000, { a: 1 }), 30_000)] }), 2000).length, 1);
  // Without the recorded height, c's stamps are its clock's: a is judged off at once.
  t.equal(checkSkewedWrites(history({ network, clocks, writes: [okWrite('a', K, ack('a', 1, 4000, { a: 1 }), 4000)] }), 2000).length, 1);
});

t.test('skewed-writes: a clock set right after running ahead keeps stamping ahead: the median follows it', async (t) => {
  // Seed 77: a 20 s ahead, set right at 1 s (its stamps reached 21 s); then c steps 9 s ahead. At 8 s
  // a still stamps 13 s ahead: of a 13, b 0, c 9 the median is c's own, and c is not the odd one.
  const clocks = [{ atMs: 100, node: 'a', offsetMs: 20_000 }, { atMs: 1000, node: 'a', offsetMs: 0 }, { atMs: 5000, node: 'c', offsetMs: 9000 }];
  // a stamped at 21 s (true 1 s) just before it was set right; its next stamp, at true 1.2 s, is above its clock.
  const stamps = [{ atMs: 1200, node: 'a', hlcOffsetMs: 21_000 - 1200 }];
  t.same(checkSkewedWrites(history({ clocks, stamps, writes: [okWrite('c', K, ack('c', 1, 17_000, { c: 1 }), 8000)] }), 2000), []);
  // c (9 s) is clearly off from 19.5 s, when a fell below 1.5 s ahead: within the bound at 20 s, past it at 25 s.
  t.same(checkSkewedWrites(history({ clocks, stamps, writes: [okWrite('c', K, ack('c', 1, 29_000, { c: 1 }), 20_000)] }), 2000), []);
  t.match(checkSkewedWrites(history({ clocks, stamps, writes: [okWrite('c', K, ack('c', 1, 34_000, { c: 1 }), 25_000)] }), 2000)[0]!.message, /since 19\.5/);
});

// Seed 1192 after the probe fix: a peer's clock step shows at that peer's next probe (docs).
t.test('skewed-writes: the bound runs from the last clock change of another side member too', async (t) => {
  const clocks = [{ atMs: 1000, node: 'a', offsetMs: 8000 }, { atMs: 4000, node: 'b', offsetMs: 100 }];
  const at = (ms: number) => okWrite('a', K, ack('a', ms, ms + 8000, { a: ms }), ms);
  t.same(checkSkewedWrites(history({ clocks, writes: [at(5500)] }), 2000), [], 'b stepped 1.5 s before');
  t.match(checkSkewedWrites(history({ clocks, writes: [at(6500)] }), 2000)[0]?.message ?? '', /since 4\.000s/, '2.5 s after b stepped');
  // Its own steps show at once: they do not restart the bound.
  const own = [...clocks.slice(0, 1), { atMs: 4000, node: 'a', offsetMs: 8100 }];
  t.equal(checkSkewedWrites(history({ clocks: own, writes: [at(5500)] }), 2000).length, 1);
});

// Seed 1052: b 3.4 s ahead, then crashed, its clock set right, restarted. Its hybrid clock restarts
// from the height restored from its disk, not from the height its stamps had reached in memory.
t.test('skewed-writes: a restart begins from the HLC height restored from disk', async (t) => {
  const network = [net(0, 'start'), net(500, 'partition a | b c', { cuts: split(['a'], ['b', 'c']) })];
  const clocks = [{ atMs: 1000, node: 'b', offsetMs: 5000 }, { atMs: 4000, node: 'b', offsetMs: 0 }];
  const cWrite = okWrite('c', K, ack('c', 1, 6000, { c: 1 }), 6000);
  const config = runConfig({ maxClockOffsetMs: 500 });
  // Without the restart b would still stamp 3 s ahead at 6 s (its height recorded at 4.1 s, after it was
  // set right), and c (on a side of two) is 1.5 s behind the median.
  const stamps = [{ atMs: 4100, node: 'b', hlcOffsetMs: 9000 - 4100 }];
  t.equal(checkSkewedWrites(history({ config, network, clocks, stamps, writes: [cWrite] }), 1000).length, 1, 'never restarted');
  // Restarted at 4.5 s with its disk's height 100 ms behind true time: b stamps true time again.
  const starts = [{ atMs: 4500, node: 'b', hlcOffsetMs: -100 }];
  t.same(checkSkewedWrites(history({ config, network, clocks, stamps, starts, writes: [cWrite] }), 1000), []);
  // A disk that had kept the height (a write stamped just before the crash) keeps b ahead after the restart.
  const kept = [{ atMs: 4500, node: 'b', hlcOffsetMs: 9000 - 4500 }];
  t.equal(checkSkewedWrites(history({ config, network, clocks, stamps, starts: kept, writes: [cWrite] }), 1000).length, 1);
});

t.test('skewed-writes: a write whose own stamp agrees with its side is no violation, when the epoch is known', async (t) => {
  // Seed 50: b's clock 8 s behind, but stamps from the others pulled its hybrid clock along: its write
  // at 12 s is stamped only 3 s behind (in the grey zone). Without the epoch it is judged by the model.
  const clocks = [{ atMs: 1000, node: 'b', offsetMs: -8000 }];
  const w = okWrite('b', K, ack('b', 1, 12_000 - 3000, { b: 1 }), 12_000);
  t.same(checkSkewedWrites(history({ config: runConfig({ epochMs: 0 }), clocks, writes: [w] }), 2000), []);
  t.equal(checkSkewedWrites(history({ clocks, writes: [w] }), 2000).length, 1);
  // Stamped as far behind as its clock: a violation either way.
  const far = okWrite('b', K, ack('b', 1, 12_000 - 8000, { b: 1 }), 12_000);
  t.match(checkSkewedWrites(history({ config: runConfig({ epochMs: 0 }), clocks, writes: [far] }), 2000)[0]!.message, /b accepted write #\d+ at 12\.000s though its clock had been 8\.000s behind/);
});

// A write that failed after its origin stored it (QUORUM_UNAVAILABLE, QUORUM_TIMEOUT, REFUSED_BY_PEERS)
// or was never answered (its node crashed) replicates like any other, but the history has no ack of
// it: its dot and causal past are unknown. Seed 1 of `npm run sim -- --strategy Manual` (3 controllers,
// no agents) reported every write of one key lost because such a write replaced the last of them.
t.test('replaced by a held version of a write that failed after storing: not lost, under every strategy', async (t) => {
  const w1 = okWrite('a', K, ack('a', 1, 1000, { a: 1 }), 100, { durability: 'quorum' });
  const w2 = okWrite('b', K, ack('b', 1, 2000, { a: 1, b: 1 }), 200);
  // c's write saw both; its quorum failed after it was stored, so the history holds no ack of it.
  const failed = writeOp({ node: 'c', key: K, durability: 'quorum', startMs: 300, endMs: 600, outcome: { status: 'error', code: 'QUORUM_UNAVAILABLE', message: 'the write is durable here' } });
  const rec = record(K, { a: 1, b: 1, c: 1 }, [entry('c', 1, 3000, v1)]);
  for (const strategy of ['LastWriterWins', 'Manual', 'Merge'] as const) {
    const h = history({ config: runConfig({ strategy }), writes: [w1, w2, failed], final: everywhere(rec) });
    t.same(checkQuorumWrites(h), [], `${strategy}: quorum-writes`);
    t.same(checkLocalWrites(h), [], `${strategy}: local-writes`);
  }
  const manual = history({ config: runConfig({ strategy: 'Manual' }), writes: [w1, w2, failed], final: everywhere(rec) });
  const f = new FateJudge(manual).fate(storedWrites(manual)[1]!, manual.final.a!);
  t.equal(f.kind, 'unrecorded-successor');
  t.same(f.kind === 'unrecorded-successor' ? f.candidates.map((op) => op.id) : [], [failed.id]);
  // A write whose node crashed before it answered (pending) explains it the same way.
  const pending = writeOp({ node: 'c', key: K, durability: 'quorum', startMs: 300, outcome: { status: 'pending' } });
  t.same(checkLocalWrites(history({ config: runConfig({ strategy: 'Manual' }), writes: [w1, w2, pending], final: everywhere(rec) })), []);
});

t.test('a held unrecorded version excuses only writes it could have seen', async (t) => {
  const w1 = okWrite('a', K, ack('a', 1, 5000, { a: 1 }), 500, { endMs: 510 });
  const manual = (writes: ReturnType<typeof writeOp>[], rec: ReturnType<typeof record>) =>
    checkLocalWrites(history({ config: runConfig({ strategy: 'Manual' }), writes: [w1, ...writes], final: everywhere(rec) }));
  const failedAt = (startMs: number, endMs: number) => writeOp({ node: 'c', key: K, startMs, endMs, outcome: { status: 'error', code: 'QUORUM_TIMEOUT', message: 'x' } });
  // Stamped before the write: it cannot have seen it.
  const older = record(K, { a: 1, c: 1 }, [entry('c', 1, 4000, v2)]);
  t.match(manual([failedAt(300, 600)], older).map((v) => v.message), [/#\d+ apply on a .* is lost: a saw it but holds neither/]);
  // Its client write was answered before this one began: it was stored before, so it cannot have seen it.
  const newer = record(K, { a: 1, c: 1 }, [entry('c', 1, 6000, v2)]);
  t.match(manual([failedAt(100, 400)], newer).map((v) => v.message), [/#\d+ apply on a .* is lost/]);
  // A refusal before storing (FENCED) stores nothing: the version is unexplained, and the write lost.
  const fenced = writeOp({ node: 'c', key: K, startMs: 600, outcome: { status: 'error', code: 'FENCED', message: 'x' } });
  const vs = manual([fenced], newer).map((v) => v.message).sort();
  t.equal(vs.length, 2);
  t.match(vs[0], /controllers hold 1 versions by c that no recorded write has \(c:1 \(stamp 6000\+0\) on a\), but only 0 client writes on c may have stored one unrecorded/);
  t.match(vs[1], /#\d+ apply on a .* is lost/);
  // Same origin: a version numbered before the write is not after it, whatever its stamp.
  const w2 = okWrite('a', K, ack('a', 3, 5000, { a: 3 }), 500, { endMs: 510 });
  const failedA = writeOp({ node: 'a', key: K, startMs: 400, endMs: 700, outcome: { status: 'pending' } });
  const lower = record(K, { a: 3 }, [entry('a', 2, 7000, v2)]);
  t.match(checkLocalWrites(history({ config: runConfig({ strategy: 'Manual' }), writes: [w2, failedA], final: everywhere(lower) })).map((v) => v.message),
    [/#\d+ apply on a \(a:3.* is lost/]);
});

t.test('held versions no client write explains are violations: a reused dot, or more than the failed writes', async (t) => {
  const w1 = okWrite('a', K, ack('a', 1, 1000, { a: 1 }), 100);
  // The dot a:1 held with another stamp: a counter reused, e.g. after a crash lost the first write.
  const reused = record(K, { a: 1 }, [entry('a', 1, 2000, v2)]);
  const failed = writeOp({ node: 'a', key: K, startMs: 150, outcome: { status: 'pending' } });
  const vs = checkLocalWrites(history({ config: runConfig({ strategy: 'Manual' }), writes: [w1, failed], final: everywhere(reused) }));
  t.match(vs.map((v) => v.message).sort(), [/a holds version a:1 \(stamp 2000\+0\), but write #\d+ apply on a \(a:1, stamp 1000\+0\) has that dot/, /#\d+ apply on a .* is lost/]);
  // Two unrecorded versions of b and one failed write of b: one is unexplained.
  const two = record(K, { a: 1, b: 2 }, [entry('b', 1, 1500, v1), entry('b', 2, 1600, v2)]);
  const failedB = writeOp({ node: 'b', key: K, startMs: 120, endMs: 900, outcome: { status: 'error', code: 'REFUSED_BY_PEERS', message: 'x' } });
  const vs2 = checkLocalWrites(history({ config: runConfig({ strategy: 'Manual' }), writes: [w1, failedB], final: everywhere(two) }));
  t.match(vs2.map((v) => v.message), [/controllers hold 2 versions by b .* but only 1 client writes on b may have stored one unrecorded .*: #\d+/]);
  // Keys no client wrote (system records) are not judged.
  const system = record('Membership/system/x', { a: 1 }, [entry('a', 1, 1000, v1)]);
  t.same(checkLocalWrites(history({ writes: [w1], final: everywhere(record(K, { a: 1 }, [entry('a', 1, 1000, v1)]), system) })), []);
});

t.test('skewed-writes: an AgentAssisted side of two controllers is not judged (the agents decide)', async (t) => {
  const clocks = [{ atMs: 1000, node: 'a', offsetMs: 8000 }];
  const writes = [okWrite('a', K, ack('a', 1, 13_000, { a: 1 }), 5000)];
  const two = { controllers: ['a', 'b'], clocks, writes, config: runConfig({ quorumMode: 'AgentAssisted', maxClockOffsetMs: 500 }) };
  t.same(checkSkewedWrites(history(two), 2000), []);
  t.equal(checkSkewedWrites(history({ ...two, config: runConfig({ maxClockOffsetMs: 500 }) }), 2000).length, 1, 'Controllers mode: judged');
  // Seed 1890161: c joined and is still a learner; a's clock is the only other voter's.
  const records = ['a', 'b', 'c'].map((node) => ({ node, atMs: 0, epoch: 2, removed: [], members: ['a', 'b', 'c'], voters: ['a', 'b'] }));
  const withLearner = { ...two, controllers: ['a', 'b', 'c'], joiners: ['c'], memberships: records };
  t.same(checkSkewedWrites(history(withLearner), 2000), [], 'a learner on the side is no third clock');
  const promoted = records.map((r) => ({ ...r, voters: ['a', 'b', 'c'] }));
  t.equal(checkSkewedWrites(history({ ...withLearner, memberships: promoted }), 2000).length, 1, 'a third voter is: judged');
});

// Seed 601780 (sweep at 9e9272f): a silent cut left c, correct, on a side with b, far ahead. Before
// the cut c was off the median of all three, a's stamps standing high after its clock was set back;
// c un-fenced just after the cut, on a's clock measured in the grey zone, and accepted writes until
// its contact with a lapsed. (maxClockOffset 5 s here: clearly off is beyond 7.5 s.)
t.test('skewed-writes: a side change shows at the node within a contact window; writes in it are not judged against the new side', async (t) => {
  const clocks = [{ atMs: 500, node: 'a', offsetMs: 20_000 }, { atMs: 1000, node: 'b', offsetMs: 30_000 }, { atMs: 2000, node: 'a', offsetMs: 0 }];
  // a's stamps stand at the 22 s height reached when it was set back: 8 s ahead at 14 s.
  const stamps = [{ atMs: 2010, node: 'a', hlcOffsetMs: 19_990 }];
  const network = [net(0, 'start'), net(14_000, 'partition a | b c', { cuts: split(['a'], ['b', 'c']) })];
  const c = (ms: number) => okWrite('c', K, ack('c', ms, ms, { c: ms }), ms);
  const judge = (ms: number, window?: number) => checkSkewedWrites(history({ clocks, stamps, network, writes: [c(ms)] }), 1200, window);
  t.same(judge(14_300, 3000), [], '0.3 s after the cut');
  t.equal(judge(14_300, 0).length, 1, 'judged against the new side at once (the rule before), it was a violation');
  const late = judge(17_500, 3000);
  t.equal(late.length, 1, '3.5 s after the cut, past the contact window');
  t.match(late[0]!.message, /c accepted write #\d+ at 17\.500s though its clock had been 15\.000s behind its side's \(b, c\)/);
});

// Seed 1863466: once a was removed, b's side was the voters b, c, d of its record; a's clock no longer counted.
t.test('skewed-writes: a removed controller is not on anyone\'s side', async (t) => {
  // b and c 8 s ahead (maxClockOffset 5 s), a, d and e true. With all five on b's side the median is 0
  // and b is clearly off; once a and d are removed, b's side is b, c, e, median 8 s: b agrees.
  const clocks = [{ atMs: 1000, node: 'b', offsetMs: 8000 }, { atMs: 1000, node: 'c', offsetMs: 8000 }];
  const base = { controllers: ['a', 'b', 'c', 'd', 'e'], clocks, writes: [okWrite('b', K, ack('b', 1, 13_000, { b: 1 }), 5000)] };
  t.equal(checkSkewedWrites(history(base), 2000).length, 1, 'all five: b is 8 s off the median');
  const removed = ['b', 'c', 'e'].map((node) => ({ atMs: 2000, node, epoch: 3, removed: ['a', 'd'], members: ['b', 'c', 'e'], voters: ['b', 'c', 'e'] }));
  t.same(checkSkewedWrites(history({ ...base, memberships: removed }), 2000), [], 'a and d removed: b agrees with its side');
});
