import t from 'tap';
import { HybridClock, compareHlc, type HlcStamp } from '../../storage/logic/hlc.ts';

const s = (wallMs: number, logical: number, member: string): HlcStamp => ({ wallMs, logical, member });

t.test('compareHlc orders by wall, then logical, then member', async (t) => {
  const cases: Array<[HlcStamp, HlcStamp, number]> = [
    [s(1, 0, 'a'), s(2, 0, 'a'), -1],
    [s(2, 0, 'a'), s(1, 9, 'z'), 1],
    [s(1, 1, 'a'), s(1, 2, 'a'), -1],
    [s(1, 1, 'b'), s(1, 1, 'a'), 1],
    [s(1, 1, 'a'), s(1, 1, 'a'), 0],
  ];
  for (const [a, b, want] of cases) t.equal(Math.sign(compareHlc(a, b)), want, `${JSON.stringify(a)} vs ${JSON.stringify(b)}`);
});

t.test('now() is strictly monotonic when physical time stalls or goes back', async (t) => {
  const c = new HybridClock('a', { maxClockOffsetMs: 1000 });
  const stamps = [c.now(100), c.now(100), c.now(50), c.now(101), c.now(99)];
  for (let i = 1; i < stamps.length; i++) t.ok(compareHlc(stamps[i - 1]!, stamps[i]!) < 0, `stamp ${i} above ${i - 1}`);
  t.same(stamps[2], s(100, 2, 'a'));
  t.same(stamps[3], s(101, 0, 'a'));
  t.same(stamps[4], s(101, 1, 'a'));
});

t.test('logical overflow borrows a millisecond instead of growing without bound', async (t) => {
  const c = new HybridClock('a', { maxClockOffsetMs: 1000, logicalMax: 3 });
  const got = [c.now(10), c.now(10), c.now(10), c.now(10), c.now(10)];
  t.same(got.map((x) => [x.wallMs, x.logical]), [[10, 0], [10, 1], [10, 2], [10, 3], [11, 0]]);
  // A remote stamp at the logical bound also borrows.
  const d = new HybridClock('b', { maxClockOffsetMs: 1000, logicalMax: 3 });
  t.same(d.receive(s(20, 3, 'x'), 20), s(21, 0, 'b'));
});

t.test('receive() moves past remote stamps', async (t) => {
  const cases: Array<{ name: string; local: number; remote: HlcStamp; phys: number; want: [number, number] }> = [
    { name: 'remote ahead in wall time', local: 10, remote: s(15, 4, 'x'), phys: 12, want: [15, 5] },
    { name: 'physical ahead of both', local: 10, remote: s(11, 4, 'x'), phys: 20, want: [20, 0] },
    { name: 'same wall: max logical + 1', local: 10, remote: s(10, 7, 'x'), phys: 10, want: [10, 8] },
    { name: 'local ahead', local: 30, remote: s(10, 7, 'x'), phys: 10, want: [30, 1] },
  ];
  for (const k of cases) {
    const c = new HybridClock('a', { maxClockOffsetMs: 1000 });
    c.now(k.local);
    const out = c.receive(k.remote, k.phys);
    t.same([out.wallMs, out.logical], k.want, k.name);
    t.ok(compareHlc(out, k.remote) > 0, `${k.name}: above remote`);
  }
});

t.test('a remote stamp beyond maxClockOffset is refused and leaves the clock unchanged', async (t) => {
  const c = new HybridClock('a', { maxClockOffsetMs: 500 });
  c.now(1000);
  const before = c.highWater();
  t.throws(() => c.receive(s(1501, 0, 'x'), 1000), { code: 'CLOCK_SKEW' });
  t.same(c.highWater(), before);
  t.same(c.receive(s(1500, 0, 'x'), 1000), s(1500, 1, 'a'), 'exactly at the bound is accepted');
});

t.test('restore() from a persisted high-water mark: a restart never goes backwards', async (t) => {
  const c = new HybridClock('a', { maxClockOffsetMs: 1000 });
  c.now(5000);
  const last = c.now(5000);
  const restarted = new HybridClock('a', { maxClockOffsetMs: 1000 });
  restarted.restore(c.highWater());
  // The machine clock went back 4 s across the restart.
  t.ok(compareHlc(restarted.now(1000), last) > 0);
  restarted.restore(s(10, 0, 'a'));
  t.ok(restarted.highWater().wallMs >= 5000, 'restoring an older mark does not lower the clock');
});

t.test('constructor validates its options', async (t) => {
  t.throws(() => new HybridClock('', { maxClockOffsetMs: 1 }));
  t.throws(() => new HybridClock('a', { maxClockOffsetMs: 0 }));
  t.throws(() => new HybridClock('a', { maxClockOffsetMs: 1, logicalMax: 0 }));
});
