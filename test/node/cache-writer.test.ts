// The file-copy writer: bursts share a write, a change during a write gets exactly one more, and a
// slow write (a large configuration) spaces the next one out instead of keeping the agent busy.
import t from 'tap';
import { CacheWriter } from '../../node/agent/cache-writer.ts';
import { systemWallClock } from '../../node/util/clock.ts';
import { TEST_TIMERS } from '../helpers/test-timers.ts';
import { waitFor } from '../helpers/wait-for.ts';

function writer(o: { coalesceMs: number; writeMs?: number }): { w: CacheWriter; starts: number[]; ends: number[]; gate: { hold?: Promise<void> } } {
  const starts: number[] = [];
  const ends: number[] = [];
  const gate: { hold?: Promise<void> } = {};
  let n = 0;
  const w = new CacheWriter({
    coalesceMs: o.coalesceMs,
    timers: TEST_TIMERS,
    wallClock: systemWallClock,
    snapshot: async () => [`{"n":${n++}}`],
    write: async (texts) => {
      starts.push(performance.now());
      if (o.writeMs !== undefined) await new Promise((r) => setTimeout(r, o.writeMs));
      await gate.hold;
      ends.push(performance.now());
      return texts.join('').length;
    },
  });
  return { w, starts, ends, gate };
}

t.test('a burst of changes shares one write', async (t) => {
  const { w, starts } = writer({ coalesceMs: 20 });
  for (let i = 0; i < 1_000; i++) w.schedule();
  await waitFor('the write', () => w.stats.writes === 1, { timeoutMs: 5_000 });
  await w.flush();
  t.equal(starts.length, 1, 'one write for the whole burst');
  t.ok(w.stats.bytes > 0);
});

t.test('a change during a write schedules exactly one more', async (t) => {
  const { w, starts, gate } = writer({ coalesceMs: 1 });
  let release!: () => void;
  gate.hold = new Promise<void>((r) => { release = r; });
  w.schedule();
  await waitFor('the first write started', () => starts.length === 1, { timeoutMs: 5_000 });
  for (let i = 0; i < 50; i++) w.schedule();
  gate.hold = undefined;
  release();
  await waitFor('the second write', () => w.stats.writes === 2, { timeoutMs: 5_000 });
  await w.stop();
  t.equal(starts.length, 2, 'fifty changes during the first write: one more write');
});

t.test('a slow write spaces out the next one (at least 9x its duration)', async (t) => {
  const { w, starts, ends } = writer({ coalesceMs: 1, writeMs: 40 });
  w.schedule();
  await waitFor('the first write', () => w.stats.writes === 1, { timeoutMs: 5_000 });
  w.schedule();
  await waitFor('the second write', () => w.stats.writes === 2, { timeoutMs: 10_000 });
  const tookMs = w.stats.lastWriteDurationMs;
  // Node may fire a timer up to a millisecond before performance.now() says it is due.
  t.ok(tookMs >= 38, `the write took ${tookMs.toFixed(1)} ms`);
  const pauseMs = starts[1]! - ends[0]!;
  // Timers run from the event loop's cached clock, which may be a few ms stale when the timer is set:
  // allow a ninth. Without the pacing the pause would be about coalesceMs (1 ms).
  t.ok(pauseMs >= 8 * tookMs, `paused ${pauseMs.toFixed(0)} ms after a write of ${tookMs.toFixed(0)} ms (coalesceMs is 1)`);
  await w.stop();
});
