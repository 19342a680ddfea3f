// Quorum configuration: defaults, every refusal naming its field, and the quorumSize rule (the
// guide's n/2 for even n is refused because it lets both halves of an even split win).

import t from 'tap';
import { minDriftMarginMs } from '../../quorum/clock-drift.ts';
import { MAX_CONTROLLERS } from '../../quorum/limits.ts';
import { defaultQuorumSize, quorumConfig, validateQuorumConfig } from '../../quorum/quorum-config.ts';

const names = (n: number): string[] => Array.from({ length: n }, (_, i) => `c${i + 1}`);
const base = (over: Record<string, unknown> = {}): Record<string, unknown> => ({ self: 'c1', controllers: names(3), ...over });
const fields = (input: unknown): string[] => {
  const r = validateQuorumConfig(input);
  return r.ok ? [] : r.issues.map((i) => i.field);
};

t.test('defaults', async (t) => {
  const c = quorumConfig({ self: 'c2', controllers: ['c3', 'c2', 'c1'] });
  t.same(c, {
    mode: 'Controllers', self: 'c2', controllers: ['c1', 'c2', 'c3'], quorumSize: 2, controllerWeight: 10, agentWeight: 1,
    minAgentsForQuorum: 1, leaseMs: 10_000, driftMarginMs: 1_000, detectionDelayMs: 30_000, healingHoldMs: 0,
    agentAbsenceExpiryMs: 86_400_000, fenceWrites: true,
  });
  t.ok(Object.isFrozen(c) && Object.isFrozen(c.controllers), 'the validated config cannot be changed afterwards');
  t.same([1, 2, 3, 4, 5, 6, 7].map(defaultQuorumSize), [1, 2, 2, 3, 3, 4, 4], 'default quorumSize is ⌊n/2⌋+1');
  const aa = quorumConfig({ mode: 'AgentAssisted', self: 'dc-a', controllers: ['dc-a', 'dc-b'] });
  t.equal(aa.mode, 'AgentAssisted');
});

t.test('quorumSize: refused unless n/2 < quorumSize ≤ n, for every n and size', async (t) => {
  for (let n = 1; n <= MAX_CONTROLLERS; n++) {
    for (let q = 1; q <= n + 2; q++) {
      const r = validateQuorumConfig({ self: 'c1', controllers: names(n), quorumSize: q });
      const want = 2 * q > n && q <= n;
      if (r.ok !== want) t.fail(`n=${n} quorumSize=${q}: accepted=${r.ok}, want ${want}`);
      if (r.ok) {
        // Accepted ⇒ no two disjoint sides (a + b ≤ n) both reach q.
        for (let a = 0; a <= n; a++) if (a >= q && n - a >= q) t.fail(`n=${n} q=${q}: sides ${a} and ${n - a} both win`);
      } else if (r.issues[0]?.field !== 'quorumSize') {
        t.fail(`n=${n} q=${q}: issue should name quorumSize, got ${JSON.stringify(r.issues)}`);
      }
    }
  }
  t.pass('checked n = 1..32');
});

t.test("the guide's off-by-one (quorum n/2 for even n) is refused, naming the problem", async (t) => {
  for (const n of [2, 4, 6]) {
    const r = validateQuorumConfig({ self: 'c1', controllers: names(n), quorumSize: n / 2 });
    t.notOk(r.ok, `n=${n}: quorumSize ${n / 2} refused`);
    if (!r.ok) {
      t.equal(r.issues[0]?.field, 'quorumSize');
      t.match(r.issues[0]?.problem, /not a strict majority: two disjoint sides/);
    }
  }
});

t.test('every refusal names its field', async (t) => {
  const cases: Array<[string, unknown, string[]]> = [
    ['not an object', 'nope', ['(root)']],
    ['array root', [], ['(root)']],
    ['unknown mode', base({ mode: 'Majority' }), ['mode']],
    ['bad self', base({ self: 'C_1' }), ['self']],
    ['self not configured', base({ self: 'c9' }), ['controllers']],
    ['controllers missing', { self: 'c1' }, ['controllers']],
    ['controllers empty', base({ controllers: [] }), ['controllers']],
    ['too many controllers', base({ controllers: names(MAX_CONTROLLERS + 1) }), ['controllers']],
    ['duplicate controller', base({ controllers: ['c1', 'c2', 'c2'] }), ['controllers[2]']],
    ['bad controller name', base({ controllers: ['c1', 'Bad Name'] }), ['controllers[1]']],
    ['quorumSize above n', base({ quorumSize: 4 }), ['quorumSize']],
    ['quorumSize not integer', base({ quorumSize: 2.5 }), ['quorumSize']],
    ['quorumSize in AgentAssisted', base({ mode: 'AgentAssisted', quorumSize: 2 }), ['quorumSize']],
    ['controllerWeight 0', base({ controllerWeight: 0 }), ['controllerWeight']],
    ['agentWeight huge', base({ agentWeight: 1e9 }), ['agentWeight']],
    ['minAgentsForQuorum negative', base({ minAgentsForQuorum: -1 }), ['minAgentsForQuorum']],
    ['leaseMs 0', base({ leaseMs: 0 }), ['leaseMs']],
    ['leaseMs a string', base({ leaseMs: '10s' }), ['leaseMs']],
    ['driftMarginMs = leaseMs', base({ leaseMs: 1000, driftMarginMs: 1000 }), ['driftMarginMs']],
    ['driftMarginMs too small', base({ leaseMs: 10_000, driftMarginMs: minDriftMarginMs(10_000) - 1 }), ['driftMarginMs']],
    ['detectionDelayMs negative', base({ detectionDelayMs: -5 }), ['detectionDelayMs']],
    ['healingHoldMs NaN', base({ healingHoldMs: Number.NaN }), ['healingHoldMs']],
    ['absence not longer than lease', base({ leaseMs: 5000, driftMarginMs: 500, agentAbsenceExpiryMs: 5000 }), ['agentAbsenceExpiryMs']],
    ['fenceWrites a string', base({ fenceWrites: 'yes' }), ['fenceWrites']],
  ];
  for (const [name, input, want] of cases) t.same(fields(input), want, name);
  t.same(fields(base({ leaseMs: 10_000, driftMarginMs: minDriftMarginMs(10_000) })), [], 'the smallest safe drift margin is accepted');
  t.same(fields(base({ mode: 'AgentAssisted', minAgentsForQuorum: 0, detectionDelayMs: 0 })), [], 'zero minAgents and zero delay are allowed');
});

t.test('all problems are reported at once, and messages explain', async (t) => {
  const r = validateQuorumConfig(base({ quorumSize: 1, leaseMs: 100, driftMarginMs: 200, fenceWrites: 0 }));
  t.notOk(r.ok);
  if (r.ok) return;
  t.same(r.issues.map((i) => i.field), ['quorumSize', 'driftMarginMs', 'fenceWrites']);
  t.match(r.issues[1]?.problem, /must be less than leaseMs \(100\)/);
  t.throws(() => quorumConfig(base({ quorumSize: 1 }) as never), /quorumSize: 1 of 3 is not a strict majority/);
});

t.test('minimum drift margin follows 2ρ/(1+ρ)', async (t) => {
  t.equal(minDriftMarginMs(110, 100_000), 20, 'ρ = 10 %: 110 ms needs 20 ms');
  t.equal(minDriftMarginMs(12, 333_333), 6, 'ρ = 1/3: 12 needs 6');
  t.equal(minDriftMarginMs(10_000), 199, 'default ρ = 1 %: 10 s needs 199 ms');
});
