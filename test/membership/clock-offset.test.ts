// Clock offsets from clock probes (membership/clock-offset.ts): offset ≈ reading − (receipt − rtt/2),
// uncertainty rtt/2; however slow a probe (a stalled event loop on either side), its interval holds the
// true offset, so load never makes a clock look skewed; the most precise recent probe counts; a step of
// our own clock shows at once; the newest sample is kept across a silence, up to the caller's limit; a stamp height standing
// still above a clock set back is followed as standing still; bounded.
import t from 'tap';
import fc from 'fast-check';
import { ClockOffsets, offsetVerdict, OFFSET_SAMPLES_MAX } from '../../membership/clock-offset.ts';
import { check, runs } from '../helpers/fc-run.ts';

const T0 = 1_700_000_000_000; // a wall time
const MONO0 = 5_000; // a monotonic time
const table = (o: Partial<ConstructorParameters<typeof ClockOffsets>[0]> = {}): ClockOffsets =>
  new ClockOffsets({ sampleMaxAgeMs: 2_000, membersMax: 8, driftPpm: 0, ...o });
const ourWall = (monoMs: number): number => T0 + (monoMs - MONO0);

// A probe of a peer whose clock reads `offsetMs` more than ours: sent at `sentMs` (monotonic), read by
// the peer `outMs` later, answered `backMs` after that.
function probe(tb: ClockOffsets, member: string, offsetMs: number, sentMs: number, outMs: number, backMs: number): void {
  const readAt = sentMs + outMs;
  const clockMs = ourWall(readAt) + offsetMs;
  tb.sample(member, { stampMs: clockMs, physicalMs: clockMs }, sentMs, readAt + backMs);
}

t.test('one probe: offset = reading − (receipt − rtt/2), uncertainty rtt/2', async (t) => {
  const tb = table();
  t.equal(tb.estimate('b', MONO0, T0), undefined, 'never probed: no estimate');
  probe(tb, 'b', 8_000, MONO0, 10, 10);
  const e = tb.estimate('b', MONO0 + 20, ourWall(MONO0 + 20))!;
  t.equal(e.offsetMs, 8_000, 'symmetric path: exact');
  t.equal(e.uncertaintyMs, 10);
  t.equal(offsetVerdict(e, 500), 'disagrees');
  t.equal(tb.estimate('b', MONO0 + 400, ourWall(MONO0 + 400))!.offsetMs, 8_000, 'the estimate follows both clocks forward');
});

t.test('a slow probe widens the interval, never makes an agreeing clock look skewed, nor proves agreement', async (t) => {
  const tb = table();
  probe(tb, 'b', 0, MONO0, 2, 1_500); // our event loop stalled 1.5 s before reading the answer
  const e = tb.estimate('b', MONO0 + 2_000, ourWall(MONO0 + 2_000))!;
  t.ok(Math.abs(e.offsetMs) <= e.uncertaintyMs, `0 lies in ${e.offsetMs}±${e.uncertaintyMs}`);
  t.equal(offsetVerdict(e, 500), 'unknown', 'an interval wider than the bound each way tells nothing: not measured');
  // Seed 1400271: a clock 1.46 s off measured ±1.1 s (a probe across a 1.9 s pause) used to pass as agreeing.
  t.equal(offsetVerdict({ offsetMs: 1_460, uncertaintyMs: 1_100 }, 500), 'unknown');
  t.equal(offsetVerdict({ offsetMs: 300, uncertaintyMs: 500 }, 500), 'agrees', 'at the bound it still tells');
  probe(tb, 'b', 0, MONO0 + 1_000, 1, 1);
  t.equal(tb.estimate('b', MONO0 + 2_000, ourWall(MONO0 + 2_000))!.uncertaintyMs, 1, 'the most precise recent probe counts');
});

t.test('a step of our own wall clock shows at once; one of theirs at their next probe', async (t) => {
  const tb = table();
  probe(tb, 'b', 0, MONO0, 1, 1);
  t.equal(offsetVerdict(tb.estimate('b', MONO0 + 300, ourWall(MONO0 + 300))!, 500), 'agrees');
  const stepped = tb.estimate('b', MONO0 + 300, ourWall(MONO0 + 300) + 8_000)!;
  t.equal(stepped.offsetMs, -8_000, 'our clock set 8 s ahead: they look 8 s behind, with no new probe');
  t.equal(offsetVerdict(stepped, 500), 'disagrees');
  probe(tb, 'c', 0, MONO0, 1, 1);
  probe(tb, 'c', 8_000, MONO0 + 200, 1, 1);
  t.equal(tb.estimate('c', MONO0 + 300, ourWall(MONO0 + 300))!.offsetMs, 8_000, 'of equally precise probes the newest counts');
  const drifting = table({ driftPpm: 10_000 });
  probe(drifting, 'c', 0, MONO0, 1, 1);
  probe(drifting, 'c', 8_000, MONO0 + 200, 1, 1);
  t.equal(drifting.estimate('c', MONO0 + 300, ourWall(MONO0 + 300))!.offsetMs, 8_000, 'with rate drift allowed for, the newer reading is the more precise one');
});

t.test('a stamp height above the physical clock stands still until real time passes it', async (t) => {
  // The peer ran 5 s ahead and was set right: its HLC stays at the height it reached, so its stamps
  // stand still while real time catches up. Ours ran 6 s ahead and was set right too, 1.2 s later.
  const tb = table({ sampleMaxAgeMs: 60_000 });
  const readAt = MONO0 + 1;
  tb.sample('b', { stampMs: ourWall(readAt) + 5_000, physicalMs: ourWall(readAt) }, MONO0, readAt + 1);
  const ourStampMs = ourWall(MONO0) + 6_200; // our HLC, also standing still
  for (const later of [0, 400, 800, 1_000]) {
    const e = tb.estimate('b', MONO0 + 2 + later, Math.max(ourWall(MONO0 + 2 + later), ourStampMs))!;
    t.ok(Math.abs(e.offsetMs + 1_200) <= 2, `${later} ms later: still 1.2 s behind our stamps (${e.offsetMs})`);
    t.equal(offsetVerdict(e, 500), 'disagrees');
  }
  // Once real time passes its height, it advances with its physical clock again.
  const e = tb.estimate('b', MONO0 + 7_002, ourWall(MONO0 + 7_002))!;
  t.ok(Math.abs(e.offsetMs) <= 2, `both caught up: ${e.offsetMs}`);
});

t.test('probes long before the newest are not used; the newest is kept however old', async (t) => {
  const tb = table({ sampleMaxAgeMs: 1_000 });
  probe(tb, 'b', 8_000, MONO0, 0, 0);
  t.equal(tb.estimate('b', MONO0 + 5_000, ourWall(MONO0 + 5_000))!.offsetMs, 8_000, 'a silent peer is judged by the clock it last showed');
  probe(tb, 'b', 0, MONO0 + 5_000, 5, 5);
  const e = tb.estimate('b', MONO0 + 5_010, ourWall(MONO0 + 5_010))!;
  t.equal(e.offsetMs, 0, 'the exact old probe no longer hides the fix');
  t.equal(e.samples, 1);
  for (let i = 0; i < OFFSET_SAMPLES_MAX + 3; i++) probe(tb, 'b', 0, MONO0 + 5_100 + i * 10, 1, 1);
  t.equal(tb.estimate('b', MONO0 + 6_000, ourWall(MONO0 + 6_000))!.samples, OFFSET_SAMPLES_MAX, 'at most samplesMax kept');
  tb.forget('b');
  t.equal(tb.estimate('b', MONO0 + 6_000, ourWall(MONO0 + 6_000)), undefined);
});

t.test('a newest sample older than newestMaxAgeMs gives no estimate: the clock may have been set since (seed 1600318)', async (t) => {
  // c agreed at 0.016 s; its link went silent; its clock was set 8.7 s ahead and back, its stamps
  // standing 7 s ahead. On reconnecting 4.4 s later, the old sample must not count as agreement.
  const tb = table({ sampleMaxAgeMs: 900, driftPpm: 10_000 });
  probe(tb, 'c', 0, MONO0, 0.3, 0.3);
  const later = MONO0 + 4_400;
  t.equal(offsetVerdict(tb.estimate('c', later, ourWall(later))!, 500), 'agrees', 'without a limit the 4.4 s old sample says agrees');
  t.equal(tb.estimate('c', later, ourWall(later), 2_000), undefined, 'older than one probe period and deadline: not measured');
  t.ok(tb.estimate('c', MONO0 + 2_000, ourWall(MONO0 + 2_000), 2_000), 'exactly at the limit it still counts');
  probe(tb, 'c', 7_000, later, 170, 170);
  const e = tb.estimate('c', later + 340, ourWall(later + 340), 2_000)!;
  t.equal(offsetVerdict(e, 500), 'disagrees', 'the probe after reconnecting shows the truth');
});

t.test('bounded: members beyond membersMax push out the one probed longest ago; bad numbers ignored', async (t) => {
  const tb = table({ membersMax: 2 });
  for (const [i, m] of ['constructor', '__proto__', 'toString'].entries()) probe(tb, m, 0, MONO0 + i, 1, 1);
  t.same(tb.members(), ['__proto__', 'toString']);
  const at = (ms: number): { stampMs: number; physicalMs: number } => ({ stampMs: ms, physicalMs: ms });
  t.equal(tb.sample('x', at(Number.NaN), MONO0, MONO0), false);
  t.equal(tb.sample('x', { stampMs: T0, physicalMs: Number.NaN }, MONO0, MONO0), false);
  t.equal(tb.sample('x', at(T0), MONO0, Number.POSITIVE_INFINITY), false);
  t.equal(tb.sample('x', at(T0), MONO0 + 1, MONO0), false, 'an answer before the question');
  t.equal(tb.sample('x', { stampMs: T0, physicalMs: T0 + 1 }, MONO0, MONO0), false, 'a physical clock above the stamp height');
  t.same(tb.members(), ['__proto__', 'toString']);
  t.throws(() => table({ sampleMaxAgeMs: 0 }));
  t.throws(() => table({ membersMax: 0 }));
  t.throws(() => table({ driftPpm: -1 }));
});

t.test('property: whatever the delays each way, the interval holds the true offset; clocks within the bound never disagree', async (t) => {
  const arb = fc.record({
    offsetMs: fc.integer({ min: -20_000, max: 20_000 }),
    probes: fc.array(fc.record({ out: fc.integer({ min: 0, max: 3_000 }), back: fc.integer({ min: 0, max: 3_000 }) }), { minLength: 1, maxLength: 6 }),
    maxOffsetMs: fc.integer({ min: 1, max: 5_000 }),
    driftPpm: fc.constantFrom(0, 50, 10_000),
  });
  check(t, fc.property(arb, ({ offsetMs, probes, maxOffsetMs, driftPpm }) => {
    const tb = table({ sampleMaxAgeMs: 60_000, driftPpm });
    let at = MONO0;
    for (const p of probes) {
      probe(tb, 'p', offsetMs, at, p.out, p.back);
      at += p.out + p.back + 100;
    }
    const e = tb.estimate('p', at, ourWall(at))!;
    if (Math.abs(e.offsetMs - offsetMs) > e.uncertaintyMs + 1e-6) throw new Error(`interval ${e.offsetMs}±${e.uncertaintyMs} misses ${offsetMs}`);
    const v = offsetVerdict(e, maxOffsetMs);
    if (Math.abs(offsetMs) <= maxOffsetMs && v === 'disagrees') throw new Error('agreeing clocks called skewed');
    if (Math.abs(offsetMs) <= maxOffsetMs && e.uncertaintyMs <= maxOffsetMs && v !== 'agrees') throw new Error('agreeing clocks, precisely measured, not called agreeing');
    if (v === 'agrees' && Math.abs(offsetMs) > maxOffsetMs + 2 * e.uncertaintyMs + 1e-6) throw new Error('called agreeing beyond what the interval allows');
    if (v === 'agrees' && e.uncertaintyMs > maxOffsetMs) throw new Error('a measurement coarser than the bound called agreeing');
    // Only the newest OFFSET_SAMPLES_MAX probes are kept: the best of those bounds the interval.
    const best = Math.min(...probes.slice(-OFFSET_SAMPLES_MAX).map((p) => (p.out + p.back) / 2));
    if (driftPpm === 0 && Math.abs(offsetMs) > maxOffsetMs + 2 * best && v !== 'disagrees') throw new Error('clocks further apart than the bound plus the round trip not caught');
    if (offsetVerdict({ offsetMs: -e.offsetMs, uncertaintyMs: e.uncertaintyMs }, maxOffsetMs) !== v) throw new Error('not symmetric');
  }), runs(500));
});
