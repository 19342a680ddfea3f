// Reconnection to configured members: bounded exponential backoff while a member is absent, and a
// connection (then full membership) soon after it appears.

import t from 'tap';
import { makeFederation } from '../helpers/cert-fixtures.ts';
import { allSee, planMembers, startMember, stateMatrix } from '../helpers/cluster.ts';
import { waitFor } from '../helpers/wait-for.ts';

t.test('a member that starts late is reached by the backoff loop', async (t) => {
  const fed = await makeFederation('late-fed');
  const [p1, p2] = await planMembers(fed, [{ name: 'c1', role: 'controller' }, { name: 'c2', role: 'controller' }]);
  const reconnect = { initialDelayMs: 50, maxDelayMs: 200, factor: 2 };
  const c1 = await startMember(t, fed, p1!, [p2!.addr], { reconnect });
  const t0 = performance.now();
  await waitFor('1.5 s of failed dials', () => performance.now() - t0 >= 1_500, { timeoutMs: 2_000, intervalMs: 50 });
  const status = c1.reconnectStatus()[0]!;
  t.comment(`after 1.5 s: ${status.failures} failed dials (last error: ${status.lastError})`);
  // Uncapped doubling from 50 ms would allow 5 attempts in 1.5 s; capped at 200 ms about 9 (+-20 % jitter).
  t.ok(status.failures >= 6, 'the delay is capped at maxDelayMs');
  t.ok(status.failures <= 15, 'and it is a backoff, not a busy loop');
  t.equal(status.connected, false);

  const c2 = await startMember(t, fed, p2!, [], { reconnect });
  const started = performance.now();
  await waitFor('c1 connected to c2', () => c1.reconnectStatus()[0]!.connected, { timeoutMs: 2_000 });
  const ms = performance.now() - started;
  t.comment(`connected ${ms.toFixed(0)} ms after c2 started (maxDelayMs ${reconnect.maxDelayMs})`);
  t.ok(ms <= reconnect.maxDelayMs * 1.2 + 300, 'within one capped delay plus dial time');
  const nodes = [c1, c2];
  await waitFor('both Healthy', () => allSee(nodes, ['c1', 'c2']), { timeoutMs: 5_000 }, () => stateMatrix(nodes));
  t.equal(c1.reconnectStatus()[0]!.failures, 0, 'failures reset on success');
});
