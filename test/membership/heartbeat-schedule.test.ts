// The heartbeat schedule (membership/heartbeat-schedule.ts): whatever valid health check is
// configured, a jittered heartbeat keeps the spacing receivers rely on (at least interval - timeout/2
// after the previous one) and arrives well inside its deadline (less than timeout/2 after its grid
// point); a sender that fell behind re-anchors; and early heartbeats, however requests arrive, never
// break the spacing, never leave a gap above interval + jitter, and each is sent as soon as the
// spacing allows (or together with a request due at most one gossip heartbeat later).
import t from 'tap';
import fc from 'fast-check';
import {
  earlyHeartbeatDueMs, earlyHeartbeatGapMs, earlyHeartbeatRetryMs, earlyHeartbeatStep, heartbeatJitterMs, nextHeartbeat,
  type HeartbeatCadence,
} from '../../membership/heartbeat-schedule.ts';
import { HEALTH_INTERVAL_MS_MIN } from '../../membership/health-check.ts';
import { check, runs } from '../helpers/fc-run.ts';
import { mulberry32 } from '../helpers/seeded-random.ts';

const cadenceArb = fc.integer({ min: HEALTH_INTERVAL_MS_MIN, max: 3_600_000 })
  .chain((intervalMs) => fc.record({ intervalMs: fc.constant(intervalMs), timeoutMs: fc.integer({ min: 1, max: intervalMs - 1 }) }));
const unit = fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true });

t.test('the guide defaults and the fast profile', async (t) => {
  t.equal(heartbeatJitterMs(10_000, 5_000), 1_000, 'interval 10 s, timeout 5 s: up to 1 s');
  t.equal(heartbeatJitterMs(200, 100), 20, 'fast profile: up to 20 ms');
  t.equal(heartbeatJitterMs(10_000, 400), 100, 'short timeout: a quarter of it');
  t.same(nextHeartbeat(10_000, 4_000, { intervalMs: 10_000, timeoutMs: 5_000 }, 0.5), { gridMs: 10_000, delayMs: 6_500 });
  t.same(nextHeartbeat(10_000, 25_000, { intervalMs: 10_000, timeoutMs: 5_000 }, 0), { gridMs: 25_000, delayMs: 0 }, 'more than an interval behind: re-anchored on now');
  t.same(nextHeartbeat(10_000, 19_000, { intervalMs: 10_000, timeoutMs: 5_000 }, 0), { gridMs: 10_000, delayMs: 0 }, 'late, within an interval: the grid is kept');
  t.equal(earlyHeartbeatDueMs(1_000, 100, 0), 1_101, 'one gossip heartbeat (+1 ms) after auth');
  t.equal(earlyHeartbeatDueMs(1_000, 100, 5_000), 5_000, 'never in the past');
  t.same(earlyHeartbeatStep(1_000, 1_000, 0, { intervalMs: 200, timeoutMs: 100 }), { send: true, gridMs: 1_200 });
  t.same(earlyHeartbeatStep(1_000, 1_000, 900, { intervalMs: 200, timeoutMs: 100 }), { send: false }, 'previous publish too recent');
  t.same(earlyHeartbeatStep(1_000, 1_100, 1_050, { intervalMs: 200, timeoutMs: 100 }), { send: false }, 'already published since it was due');
  t.equal(earlyHeartbeatRetryMs(1_000, 900, { intervalMs: 200, timeoutMs: 100 }), 1_050, 'owed: once the gap allows');
  t.equal(earlyHeartbeatRetryMs(1_000, 1_000, { intervalMs: 200, timeoutMs: 100 }), undefined, 'nothing owed');
});

t.test('jitter: spacing and deadline hold for every valid health check', async (t) => {
  check(t, fc.property(cadenceArb, ({ intervalMs, timeoutMs }) => {
    const j = heartbeatJitterMs(intervalMs, timeoutMs);
    return j >= 0 && intervalMs - j >= intervalMs - timeoutMs / 2 && j < timeoutMs / 2 && j <= intervalMs / 10;
  }), runs(2_000));
});

t.test('next heartbeat: on its grid point plus at most the jitter, re-anchored only when an interval behind', async (t) => {
  check(t, fc.property(cadenceArb, fc.integer({ min: -10_000_000, max: 10_000_000 }), fc.integer({ min: 0, max: 10_000_000 }), unit,
    (c, gridMs, nowMs, r) => {
      const n = nextHeartbeat(gridMs, nowMs, c, r);
      const behind = gridMs < nowMs - c.intervalMs;
      return n.gridMs === (behind ? nowMs : gridMs) && n.delayMs >= Math.max(0, n.gridMs - nowMs) &&
        n.delayMs < Math.max(0, n.gridMs - nowMs) + heartbeatJitterMs(c.intervalMs, c.timeoutMs) + 1e-9 &&
        (r !== 0 || n.delayMs === Math.max(0, n.gridMs - nowMs));
    }), runs(2_000));
});

t.test('a retry timer that fires on time always sends (no zero-delay loop on a rounding error)', async (t) => {
  // Found by the property below: last + gap rounded to a time from which now - last < gap.
  const c = { intervalMs: 15_981, timeoutMs: 9_369 };
  const last = 22_844.359096996446;
  const retry = earlyHeartbeatRetryMs(last + 1, last, c)!;
  t.ok(earlyHeartbeatStep(retry, retry, last, c).send, `sends at ${retry}`);
  check(t, fc.property(cadenceArb, fc.double({ min: 0, max: 1e9, noNaN: true }), fc.double({ min: 0, max: 1e4, noNaN: true, minExcluded: true }),
    (cadence, lastMs, owedAfterMs) => {
      fc.pre(lastMs + owedAfterMs > lastMs);
      const at = earlyHeartbeatRetryMs(lastMs + owedAfterMs, lastMs, cadence);
      return at !== undefined && earlyHeartbeatStep(at, at, lastMs, cadence).send;
    }), runs(2_000));
});

interface Run {
  publishes: number[];
  requests: number[];
}

// A sender driven by the schedule the way membership-service.ts drives it, on timers that fire on
// time: regular heartbeats, and early ones for peers that authenticate at `authAts`.
function simulate(c: HeartbeatCadence, gossipMs: number, authAts: number[], rand: () => number, endMs: number): Run {
  const publishes: number[] = [];
  const requests: number[] = [];
  let grid = 0;
  let regularAt = 0;
  let earlyAt: number | undefined;
  let earlyDue = -Infinity;
  let last = -Infinity;
  const scheduleRegular = (now: number): void => {
    const n = nextHeartbeat(grid, now, c, rand());
    grid = n.gridMs;
    regularAt = now + n.delayMs;
  };
  scheduleRegular(0);
  const pending = [...authAts].sort((a, b) => a - b);
  for (;;) {
    const nextAuth = pending[0] ?? Infinity;
    const now = Math.min(regularAt, earlyAt ?? Infinity, nextAuth);
    if (now > endMs) break;
    if (now === nextAuth) {
      pending.shift();
      const due = earlyHeartbeatDueMs(now, gossipMs, now);
      requests.push(due);
      earlyDue = Math.max(earlyDue, due);
      earlyAt ??= due;
    } else if (now === earlyAt) {
      const atMs = earlyAt;
      earlyAt = undefined;
      const step = earlyHeartbeatStep(atMs, now, last, c);
      if (step.send && step.gridMs !== undefined) {
        grid = step.gridMs;
        last = now;
        publishes.push(now);
        scheduleRegular(now);
      }
      earlyAt = earlyHeartbeatRetryMs(earlyDue, last, c);
    } else {
      grid += c.intervalMs;
      last = now;
      publishes.push(now);
      scheduleRegular(now);
    }
  }
  return { publishes, requests };
}

t.test('early heartbeats: spacing kept, no gap above interval + jitter, each request served once the spacing allows (or with the next request)', async (t) => {
  const arb = fc.record({
    c: fc.integer({ min: HEALTH_INTERVAL_MS_MIN, max: 20_000 })
      .chain((intervalMs) => fc.record({ intervalMs: fc.constant(intervalMs), timeoutMs: fc.integer({ min: 1, max: intervalMs - 1 }) })),
    gossipMs: fc.integer({ min: 1, max: 2_000 }),
    authFractions: fc.array(unit, { maxLength: 12 }),
    seed: fc.integer(),
  });
  check(t, fc.property(arb, ({ c, gossipMs, authFractions, seed }) => {
    const endMs = 20 * c.intervalMs;
    const rand = mulberry32(seed);
    const { publishes, requests } = simulate(c, gossipMs, authFractions.map((f) => Math.floor(f * endMs)), rand, endMs);
    const gap = earlyHeartbeatGapMs(c);
    const jitter = heartbeatJitterMs(c.intervalMs, c.timeoutMs);
    for (let i = 1; i < publishes.length; i++) {
      const d = publishes[i]! - publishes[i - 1]!;
      if (d < gap - 1e-6) throw new Error(`publishes ${d} ms apart, less than interval - timeout/2 = ${gap}`);
      if (d > c.intervalMs + jitter + 1e-6) throw new Error(`publishes ${d} ms apart, more than interval + jitter`);
    }
    for (const due of requests) {
      if (due + c.intervalMs + jitter > endMs) continue; // too close to the end of the run to judge
      const before = publishes.filter((p) => p < due).at(-1) ?? -Infinity;
      // Requests are merged: one that has to wait for the gap may wait for a later request's due
      // time too, at most one gossip heartbeat (+1 ms) after its own.
      const by = Math.max(due + gossipMs + 1, before + gap);
      if (!publishes.some((p) => p >= due && p <= by + 1e-6)) throw new Error(`request due at ${due} not served by ${by}`);
    }
    return true;
  }), runs(500));
});
