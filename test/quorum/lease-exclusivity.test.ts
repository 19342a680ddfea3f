// Exhaustive check of vote-lease exclusivity for one agent (see lease-explorer.ts for the model):
// in every reachable state — any interleaving of requests, answers, losses, primary changes, restarts
// and clock advances with bounded rate drift — at most one controller counts the agent's vote, and
// that controller is the one the agent holds its lease for. Agents are independent of each other, so
// this per-agent result holds for any number of agents (split-brain.test.ts builds on it).
//
// The same exploration must FIND violations when the design is weakened: a drift margin one below
// 2ρ/(1+ρ)·lease, no margin at all (counting until the full expiry), or request ids that repeat after
// a controller restart. That shows the model is strong enough to see the bugs it rules out.
//
// Clock model: one real tick advances each clock by 1 or 2 (ρ = 1/3 around 1.5, chosen per node and
// per tick). Lease 4: an agent holds a lease 2..4 ticks; margin 2 is the minimum: 4·(2/3)/(4/3) = 2.
// QUORUM_EXHAUSTIVE=full adds three controllers and a finer clock (minutes, not seconds).

import t from 'tap';
import { minDriftMarginMs } from '../../quorum/clock-drift.ts';
import { exploreLease } from './lease-explorer.ts';

const RHO_PPM = 333_333;
const full = process.env.QUORUM_EXHAUSTIVE === 'full';

t.test('exhaustive: the minimum drift margin keeps every lease exclusive (one agent, two controllers)', async (t) => {
  const L = 4;
  const d = minDriftMarginMs(L, RHO_PPM);
  t.equal(d, 2);
  const t0 = performance.now();
  const r = exploreLease({ n: 2, ratesMs: [1, 2], leaseMs: L, driftMarginMs: d, maxStates: 400_000 });
  t.comment(`${r.states} states, depth ${r.depth}, ${Math.round(performance.now() - t0)} ms`);
  t.ok(r.complete, 'every reachable state was visited');
  t.same(r.violations, [], 'no state where two controllers count the agent, or a non-holder counts it');
  t.same([...r.countedBy].sort(), ['c0', 'c1', 'none'], 'each controller counted the agent in some state');
  t.ok(r.sawHandover, 'the vote moved from one controller to the other (failover happened)');
});

t.test('the exploration finds the double count with too small a margin, or none', async (t) => {
  for (const d of [1, 0]) {
    const r = exploreLease({ n: 2, ratesMs: [1, 2], leaseMs: 4, driftMarginMs: d, maxStates: 400_000, stopAtFirstViolation: true, invariant: 'exclusive', trackHandover: false, noRestarts: true });
    t.match(r.violations[0], /^counted by c0 and c1 after: /, `margin ${d}: ${r.violations[0]}`);
  }
});

t.test('the exploration finds the double count when a restarted controller reuses request ids', async (t) => {
  const r = exploreLease({ n: 2, ratesMs: [1, 2], leaseMs: 4, driftMarginMs: 2, maxStates: 400_000, stopAtFirstViolation: true, reuseIncarnation: true, invariant: 'exclusive', trackHandover: false });
  t.match(r.violations[0], /restarts.*counted by|counted by c0 and c1 after: .*restarts/, `${r.violations[0]}`);
});

t.test('exhaustive, larger (QUORUM_EXHAUSTIVE=full): three controllers; a finer clock', { skip: !full && 'set QUORUM_EXHAUSTIVE=full' }, async (t) => {
  // unsafeMarginMs: the largest margin the discrete model itself shows unsafe. Whole ticks are coarser
  // than real time, so with the finer clock margins 2 and 3 (below the continuous bound 3.33) happen
  // to be safe in the model: the configuration's bound is the continuous one.
  const runsFull: Array<{ n: number; ratesMs: number[]; leaseMs: number; ppm: number; unsafeMarginMs: number }> = [
    { n: 3, ratesMs: [1, 2], leaseMs: 4, ppm: RHO_PPM, unsafeMarginMs: 1 },
    { n: 2, ratesMs: [2, 3], leaseMs: 10, ppm: 200_000, unsafeMarginMs: 1 }, // ρ = 1/5 around 2.5: margin 10·0.4/1.2 → 4
  ];
  for (const { unsafeMarginMs, ...o } of runsFull) {
    const d = minDriftMarginMs(o.leaseMs, o.ppm);
    const t0 = performance.now();
    const r = exploreLease({ n: o.n, ratesMs: o.ratesMs, leaseMs: o.leaseMs, driftMarginMs: d, maxStates: 5_000_000 });
    const what = `n=${o.n} rates ${o.ratesMs.join('..')} lease ${o.leaseMs} margin ${d}`;
    t.comment(`${what}: ${r.states} states, ${Math.round(performance.now() - t0)} ms`);
    t.ok(r.complete, `${what}: complete`);
    t.same(r.violations, [], `${what}: exclusive`);
    t.equal(r.countedBy.size, o.n + 1, `${what}: every controller counted it somewhere`);
    const bad = exploreLease({ ...o, driftMarginMs: unsafeMarginMs, maxStates: 5_000_000, stopAtFirstViolation: true, invariant: 'exclusive', trackHandover: false, noRestarts: true });
    t.match(bad.violations[0], /^counted by/, `${what}: margin ${unsafeMarginMs} double-counts`);
  }
});
