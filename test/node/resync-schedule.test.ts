// The agent's repeated catch-up within a session: derived from the health-check interval and bounded;
// sooner after a refusal, backing off while refusals go on, never past the period.
import t from 'tap';
import {
  nextResyncMs, resyncSchedule, RESYNC_HEALTH_CHECKS, RESYNC_PERIOD_MS_MAX, RESYNC_PERIOD_MS_MIN,
} from '../../node/agent/resync-schedule.ts';
import { AGENT_DEFAULTS, FAST_AGENT } from '../../node/agent/agent-config.ts';

t.test('the period is a multiple of the health-check interval, within bounds', async (t) => {
  t.same(resyncSchedule(AGENT_DEFAULTS.failover.healthCheckIntervalMs), { periodMs: 10_000 * RESYNC_HEALTH_CHECKS, afterRefusalMs: 10_000 });
  t.same(resyncSchedule(FAST_AGENT.failover!.healthCheckIntervalMs!), { periodMs: 1_200, afterRefusalMs: 200 });
  t.same(resyncSchedule(50), { periodMs: RESYNC_PERIOD_MS_MIN, afterRefusalMs: 50 }, 'at least the minimum');
  t.same(resyncSchedule(3_600_000), { periodMs: RESYNC_PERIOD_MS_MAX, afterRefusalMs: RESYNC_PERIOD_MS_MAX }, 'at most the maximum, the retry too');
});

t.test('after refusals the next catch-up is sooner, doubling per refusing round up to the period', async (t) => {
  const s = resyncSchedule(200);
  t.same([0, 1, 2, 3, 4, 5, 100, 10_000].map((n) => nextResyncMs(s, n)), [1_200, 200, 400, 800, 1_200, 1_200, 1_200, 1_200]);
  for (let hc = 50; hc <= 3_600_000; hc *= 3) {
    const sc = resyncSchedule(hc);
    for (let n = 0; n < 40; n++) {
      const ms = nextResyncMs(sc, n);
      if (!(ms > 0 && ms <= sc.periodMs && Number.isFinite(ms))) t.fail(`hc=${hc} rounds=${n}: ${ms}`);
    }
  }
});
