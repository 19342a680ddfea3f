// The splitBrain section as a controller resolves it at start: every quorum problem names its
// `splitBrain.<field>`, AgentAssisted refuses a lease shorter than the controller contact window, and
// its default lease is long enough for the health check in use.
import t from 'tap';
import { ConfigError } from '../../node/errors.ts';
import { healthContactWindowMs } from '../../membership/link-liveness.ts';
import { resolveSplitBrain } from '../../node/controller/write-fence.ts';

const FAST = { intervalMs: 200, timeoutMs: 100, failureThreshold: 3, successThreshold: 1 };
const DEFAULT_HC = { intervalMs: 10_000, timeoutMs: 5_000, failureThreshold: 3, successThreshold: 1 };
const node = (healthCheck: typeof FAST) => ({ memberName: 'c-a', config: { healthCheck } });
const C = ['c-a', 'c-b'];

function issues(fn: () => unknown): Array<{ field: string; problem: string }> {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return [...err.issues];
    throw err;
  }
  return [];
}

t.test('Controllers mode is unaffected by lease timings', async (t) => {
  t.equal(resolveSplitBrain(node(DEFAULT_HC), ['c-a', 'c-b', 'c-c'], {}).mode, 'Controllers');
});

t.test('AgentAssisted: the contact window must fit in a counted lease', async (t) => {
  t.equal(healthContactWindowMs(DEFAULT_HC), 35_000);
  const refused = issues(() => resolveSplitBrain(node(DEFAULT_HC), C, { mode: 'AgentAssisted', leaseMs: 10_000 }));
  t.equal(refused.length, 1, 'an explicit lease that is too short is refused, never stretched');
  t.equal(refused[0]!.field, 'splitBrain.leaseMs');
  t.match(refused[0]!.problem, /contact window .* = 35000 ms\) must be at most leaseMs − driftMarginMs \(9000 ms\); use leaseMs ≥ 36000/);
  const dflt = resolveSplitBrain(node(DEFAULT_HC), C, { mode: 'AgentAssisted' });
  t.match(dflt, { leaseMs: 36_000, driftMarginMs: 1_000 }, 'without one, the default lease covers the default health check');
  t.equal(resolveSplitBrain(node(FAST), C, { mode: 'AgentAssisted' }).leaseMs, 10_000, 'never below the quorum default');
  t.equal(resolveSplitBrain(node(DEFAULT_HC), C, { mode: 'AgentAssisted', leaseMs: 36_000, driftMarginMs: 1_000 }).leaseMs, 36_000, 'exactly fits');
  t.equal(resolveSplitBrain(node(FAST), C, { mode: 'AgentAssisted', leaseMs: 1_500, driftMarginMs: 100 }).mode, 'AgentAssisted');
  t.same(issues(() => resolveSplitBrain(node(FAST), C, { mode: 'AgentAssisted', leaseMs: 700, driftMarginMs: 14 })).map((i) => i.field), ['splitBrain.leaseMs']);
});

t.test('quorum problems name their field', async (t) => {
  const drift = issues(() => resolveSplitBrain(node(FAST), C, { mode: 'AgentAssisted', leaseMs: 1_500, driftMarginMs: 10 }));
  t.same(drift.map((i) => i.field), ['splitBrain.driftMarginMs'], 'below minDriftMarginMs(leaseMs)');
  t.match(drift[0]!.problem, /must be at least 30/);
  t.same(issues(() => resolveSplitBrain(node(FAST), C, { mode: 'AgentAssisted', quorumSize: 2 })).map((i) => i.field), ['splitBrain.quorumSize']);
});
