// Heartbeat jitter: whatever valid health check is configured, a jittered heartbeat keeps the
// spacing receivers rely on (at least interval - timeout/2 after the previous one) and arrives well
// inside its deadline (less than timeout/2 after its grid point).
import t from 'tap';
import fc from 'fast-check';
import { heartbeatJitterMs } from '../../node/membership/membership-service.ts';
import { HEALTH_INTERVAL_MS_MIN } from '../../membership/health-check.ts';
import { check, runs } from '../helpers/fc-run.ts';

t.test('the guide defaults and the fast profile', async (t) => {
  t.equal(heartbeatJitterMs(10_000, 5_000), 1_000, 'interval 10 s, timeout 5 s: up to 1 s');
  t.equal(heartbeatJitterMs(200, 100), 20, 'fast profile: up to 20 ms');
  t.equal(heartbeatJitterMs(10_000, 400), 100, 'short timeout: a quarter of it');
});

t.test('spacing and deadline hold for every valid health check', async (t) => {
  const hc = fc.integer({ min: HEALTH_INTERVAL_MS_MIN, max: 3_600_000 })
    .chain((intervalMs) => fc.record({ intervalMs: fc.constant(intervalMs), timeoutMs: fc.integer({ min: 1, max: intervalMs - 1 }) }));
  check(t, fc.property(hc, ({ intervalMs, timeoutMs }) => {
    const j = heartbeatJitterMs(intervalMs, timeoutMs);
    return j >= 0 && intervalMs - j >= intervalMs - timeoutMs / 2 && j < timeoutMs / 2 && j <= intervalMs / 10;
  }), runs(2_000));
});
