// The clock-skew rule (quorum/clock-skew.ts with decideWrite): a controller whose clock differs from a
// quorum of its peers fences its own writes with reason CLOCK_SKEW while the majority keeps writing;
// behind is as bad as ahead; a peer not measured yet does not count (NO_QUORUM until its first probe
// answers); a cut stays NO_QUORUM.
import t from 'tap';
import fc from 'fast-check';
import { clockAgreeingControllers, skewedReachable, unmeasuredReachable, type ClockAgreement } from '../../quorum/clock-skew.ts';
import { decideWrite, type WriteDecision } from '../../quorum/fencing.ts';
import { quorumConfig, type QuorumConfig } from '../../quorum/quorum-config.ts';
import { quorumStatus } from '../../quorum/quorum-status.ts';
import { tally } from '../../quorum/tally.ts';
import { check, runs } from '../helpers/fc-run.ts';

const MAX_MS = 500;
const NONE: ReadonlySet<string> = new Set();

// What a controller decides from the peers it reaches, those whose clocks it measured as differing and
// those it has not measured yet (as node/controller/write-fence.ts does).
function decide(config: QuorumConfig, reachable: string[], skewed: ReadonlySet<string>, unmeasured: ReadonlySet<string> = NONE): WriteDecision & { clock: ClockAgreement } {
  const t0 = tally(config, { reachableControllers: reachable, leasedAgents: [], registeredAgents: NONE });
  const measured = new Set(reachable.filter((c) => !unmeasured.has(c)));
  const skewedPeers = skewedReachable(config.self, reachable, skewed);
  const unmeasuredPeers = unmeasuredReachable(config.self, reachable, measured);
  const left = new Set([...skewedPeers, ...unmeasuredPeers]);
  const agreeing = tally(config, { reachableControllers: clockAgreeingControllers(config.self, reachable, left), leasedAgents: [], registeredAgents: NONE });
  const clock: ClockAgreement = { tally: agreeing, skewedPeers, unmeasuredPeers, maxClockOffsetMs: MAX_MS };
  return { ...decideWrite(t0, config, clock), clock };
}

// Every controller's decision when all reach each other and clock i reads clocks[i] (exact offsets).
function federation(clocks: number[], fenceWrites = true): WriteDecision[] {
  const names = clocks.map((_, i) => `c${i}`);
  return names.map((self, i) => {
    const skewed = new Set(names.filter((_, j) => Math.abs(clocks[j]! - clocks[i]!) > MAX_MS));
    return decide(quorumConfig({ self, controllers: names, fenceWrites }), names, skewed);
  });
}

t.test('three controllers, one 8 s ahead or behind: it alone is fenced, reason CLOCK_SKEW', async (t) => {
  for (const skewMs of [8_000, -8_000]) {
    const [a, b, c] = federation([0, 3, skewMs]);
    t.match(a, { allowed: true, reason: undefined }, 'a keeps quorum with b');
    t.match(b, { allowed: true, reason: undefined });
    t.match(c, { allowed: false, code: 'FENCED', reason: 'CLOCK_SKEW' }, `c, ${skewMs > 0 ? 'ahead' : 'behind'}, is fenced`);
    t.match(c!.message, /clock skew: this controller's clock differs by more than maxClockOffset \(500 ms\) from c0, c1; 1\/3 controllers reached agree with it/);
    t.match(c!.message, /holds 1 of 3 votes, threshold 2/);
  }
});

t.test('the names it counts and the ones it does not', async (t) => {
  const skewed = new Set(['b', 'self', 'z']);
  t.same(clockAgreeingControllers('self', ['self', 'a', 'b', 'a'], skewed), ['self', 'a'], 'itself always; duplicates once');
  t.same(skewedReachable('self', ['self', 'c', 'b', 'z', 'b'], skewed), ['b', 'z'], 'reached and skewed, sorted, never itself');
  t.same(clockAgreeingControllers('constructor', ['constructor', 'toString', '__proto__'], new Set(['__proto__'])), ['constructor', 'toString']);
});

t.test('no quorum is NO_QUORUM whatever the clocks; no measurement is no evidence', async (t) => {
  const cfg = quorumConfig({ self: 'c', controllers: ['a', 'b', 'c'] });
  t.match(decide(cfg, ['c'], new Set(['a', 'b'])), { allowed: false, reason: 'NO_QUORUM' }, 'a cut stays a cut');
  t.match(decide(cfg, ['c', 'a', 'b'], NONE), { allowed: true }, 'both measured, both agree');
  // Seed 100106: c restarted next to a (2.5 s ahead) and, its probes of a failing while the link
  // flapped, counted a's unknown clock and accepted writes for seconds. An unknown clock does not count.
  const pending = decide(cfg, ['c', 'a'], NONE, new Set(['a']));
  t.match(pending, { allowed: false, reason: 'NO_QUORUM' }, 'the only peer reached is not measured yet');
  t.match(pending.message, /the clocks of a are not measured yet \(their first clock probe is pending\); 1\/2 controllers reached are measured and agree/);
  t.match(decide(cfg, ['c', 'a', 'b'], NONE, new Set(['a'])), { allowed: true }, 'b measured and agreeing is enough');
  t.match(decide(cfg, ['c', 'a', 'b'], new Set(['b']), new Set(['a'])).message, /from b; .*\(not measured yet: a\)/, 'skew named first, the unmeasured too');
  t.same(unmeasuredReachable('c', ['c', 'b', 'a', 'b'], new Set(['b'])), ['a'], 'reached, not measured, sorted, never itself');
  t.match(decide(cfg, ['c', 'a'], new Set(['a'])), { allowed: false, reason: 'CLOCK_SKEW' }, 'the only peer reached disagrees');
  const off = decide(quorumConfig({ self: 'c', controllers: ['a', 'b', 'c'], fenceWrites: false }), ['c', 'a', 'b'], new Set(['a', 'b']));
  t.match(off, { allowed: true, minorityWrite: true, reason: 'CLOCK_SKEW' }, 'fenceWrites off: accepted, counted as a minority write');
  const st = quorumStatus('Suspected', tally(cfg, { reachableControllers: ['c', 'a', 'b'], leasedAgents: [], registeredAgents: NONE }), cfg, decide(cfg, ['c', 'a', 'b'], new Set(['a', 'b'])).clock);
  t.match(st, { reachablePeers: '2/2', writesFenced: true, fenceReason: 'CLOCK_SKEW', clockSkewedPeers: ['a', 'b'], ourVotes: 1, haveQuorum: false });
});

t.test('five controllers, two off together: both fenced, the three others are not', async (t) => {
  const d = federation([0, 100, -200, 8_000, 8_050]);
  t.same(d.map((x) => x.reason ?? 'ok'), ['ok', 'ok', 'ok', 'CLOCK_SKEW', 'CLOCK_SKEW']);
});

t.test('property: a controller accepts writes only with a quorum whose clocks agree with its own; clocks all within the bound never fence', async (t) => {
  const arb = fc.record({
    clocks: fc.array(fc.integer({ min: -3_000, max: 3_000 }), { minLength: 1, maxLength: 7 }),
    reachableMask: fc.array(fc.boolean(), { minLength: 7, maxLength: 7 }),
  });
  check(t, fc.property(arb, ({ clocks, reachableMask }) => {
    const names = clocks.map((_, i) => `c${i}`);
    names.forEach((self, i) => {
      const config = quorumConfig({ self, controllers: names });
      const reachable = names.filter((n, j) => j === i || reachableMask[j]);
      const skewed = new Set(names.filter((_, j) => Math.abs(clocks[j]! - clocks[i]!) > MAX_MS));
      const d = decide(config, reachable, skewed);
      const agreeingReached = reachable.filter((n) => !skewed.has(n)).length;
      if (d.allowed !== (agreeingReached >= config.quorumSize)) throw new Error(`${self}: allowed=${d.allowed} with ${agreeingReached} agreeing of ${config.quorumSize}`);
      if (!d.allowed && d.reason === 'CLOCK_SKEW' && reachable.length < config.quorumSize) throw new Error('CLOCK_SKEW without a connectivity quorum');
      if (!d.allowed && d.reason === 'NO_QUORUM' && reachable.length >= config.quorumSize) throw new Error('NO_QUORUM with a connectivity quorum');
    });
    // All clocks within the bound of each other: the rule never fences anyone who reaches all.
    if (Math.max(...clocks) - Math.min(...clocks) <= MAX_MS && !federation(clocks).every((d) => d.allowed)) throw new Error('agreeing clocks fenced');
  }), runs(300));
});
