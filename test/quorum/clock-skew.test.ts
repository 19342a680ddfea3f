// The clock-skew rule (quorum/clock-skew.ts with decideWrite): a controller whose clock differs from a
// quorum of its peers fences its own writes with reason CLOCK_SKEW while the majority keeps writing;
// behind is as bad as ahead; a peer not measured yet does not count (NO_QUORUM until its first probe
// answers); a cut stays NO_QUORUM.
import t from 'tap';
import fc from 'fast-check';
import { clockAgreeingControllers, clockVoters, skewedReachable, stampsStandingStillMs, unmeasuredReachable, type ClockAgreement } from '../../quorum/clock-skew.ts';
import { decideWrite, type WriteDecision } from '../../quorum/fencing.ts';
import { quorumConfig, type QuorumConfig } from '../../quorum/quorum-config.ts';
import { quorumStatus } from '../../quorum/quorum-status.ts';
import { tally } from '../../quorum/tally.ts';
import { check, runs } from '../helpers/fc-run.ts';

const MAX_MS = 500;
const NONE: ReadonlySet<string> = new Set();

// What a controller decides from the peers it reaches (and, in AgentAssisted, the agent leases it
// holds), those whose clocks it measured as differing and those it has not measured yet: the same
// clockVoters and decideWrite as node/controller/write-fence.ts.
function decide(
  config: QuorumConfig, reachable: string[], skewed: ReadonlySet<string>, unmeasured: ReadonlySet<string> = NONE,
  agents: { leased: string[]; registered: ReadonlySet<string> } = { leased: [], registered: NONE },
): WriteDecision & { clock: ClockAgreement } {
  const leasedAgents = agents.leased;
  const t0 = tally(config, { reachableControllers: reachable, leasedAgents, registeredAgents: agents.registered });
  const measured = new Set([...reachable, ...leasedAgents].filter((c) => !unmeasured.has(c)));
  const v = clockVoters(config.self, reachable, leasedAgents, skewed, measured);
  const agreeing = tally(config, { reachableControllers: v.controllers, leasedAgents: v.agents, registeredAgents: agents.registered });
  const clock: ClockAgreement = { tally: agreeing, skewedPeers: v.skewedPeers, unmeasuredPeers: v.unmeasuredPeers, maxClockOffsetMs: MAX_MS };
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

t.test('AgentAssisted: agents are clock witnesses (seed 300260)', async (t) => {
  // Two controllers whose clocks disagree, three agents following a: each controller counts only
  // itself, so the agents' leases decide, and only the controller whose clock agrees with theirs may
  // count them.
  const registered = new Set(['g1', 'g2', 'g3']);
  const cfg = quorumConfig({ self: 'a', controllers: ['a', 'b'], mode: 'AgentAssisted' });
  const agents = { leased: ['g1', 'g2', 'g3'], registered };
  t.match(decide(cfg, ['a', 'b'], new Set(['b']), NONE, agents), { allowed: true }, 'a\'s clock agrees with its agents\': 1 + 3 of 5');
  const behind = decide(cfg, ['a', 'b'], new Set(['b', 'g1', 'g2', 'g3']), NONE, agents);
  t.match(behind, { allowed: false, reason: 'CLOCK_SKEW' }, 'a\'s clock disagrees with all: no lease counts');
  t.match(behind.message, /from b, g1, g2, g3; 1\/2 controllers reached and 0\/3 agent leases agree with it/);
  t.match(decide(cfg, ['a'], NONE, new Set(['g1']), agents), { allowed: true }, 'b cut off: 1 + 2 measured leases of 5 carry the threshold (3)');
  t.match(decide(cfg, ['a'], NONE, new Set(['g1', 'g2']), agents), { allowed: false, reason: 'NO_QUORUM' }, 'agents without a clock reading are not counted: 1 + 1 of 5');
  t.match(decide(cfg, ['a'], new Set(['g3']), new Set(['g1']), agents).message, /from g3; .*\(not measured yet: g1\)/);
});

t.test('property (AgentAssisted): a write is accepted only with a quorum of votes whose clocks agree with the writer\'s', async (t) => {
  const arb = fc.record({
    controllerClocks: fc.array(fc.integer({ min: -3_000, max: 3_000 }), { minLength: 1, maxLength: 4 }),
    agentClocks: fc.array(fc.integer({ min: -3_000, max: 3_000 }), { minLength: 0, maxLength: 5 }),
    reachableMask: fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }),
    leasedMask: fc.array(fc.boolean(), { minLength: 5, maxLength: 5 }),
  });
  check(t, fc.property(arb, ({ controllerClocks, agentClocks, reachableMask, leasedMask }) => {
    const names = controllerClocks.map((_, i) => `c${i}`);
    const agentNames = agentClocks.map((_, i) => `g${i}`);
    const clockOf = new Map([...names.map((n, i) => [n, controllerClocks[i]!] as const), ...agentNames.map((n, i) => [n, agentClocks[i]!] as const)]);
    const registered = new Set(agentNames);
    names.forEach((self, i) => {
      const config = quorumConfig({ self, controllers: names, mode: 'AgentAssisted' });
      const reachable = names.filter((n, j) => j === i || reachableMask[j]);
      const leased = agentNames.filter((_, j) => leasedMask[j]);
      const skewed = new Set([...clockOf].filter(([, c]) => Math.abs(c - controllerClocks[i]!) > MAX_MS).map(([n]) => n));
      const d = decide(config, reachable, skewed, NONE, { leased, registered });
      // The votes it may count: every one of them agrees with its clock.
      const agreeing = tally(config, {
        reachableControllers: reachable.filter((n) => !skewed.has(n)), leasedAgents: leased.filter((n) => !skewed.has(n)), registeredAgents: registered,
      });
      if (d.allowed !== agreeing.haveQuorum) throw new Error(`${self}: allowed=${d.allowed}, agreeing votes ${agreeing.votes}/${agreeing.threshold}`);
    });
  }), runs(300));
});

t.test('stamps standing still: beyond maxClockOffset above the clock fences with CLOCK_SKEW, before any peer clock matters', async (t) => {
  t.equal(stampsStandingStillMs(10_000, 10_000, 500), undefined, 'at its clock');
  t.equal(stampsStandingStillMs(10_500, 10_000, 500), undefined, 'up to the bound: a record received from a peer that far ahead');
  t.equal(stampsStandingStillMs(10_501, 10_000, 500), 501);
  t.equal(stampsStandingStillMs(9_000, 10_000, 500), undefined, 'below its clock: stamps follow the clock');
  const config = quorumConfig({ mode: 'Controllers', self: 'a', controllers: ['a', 'b', 'c'] });
  const all = tally(config, { reachableControllers: ['a', 'b', 'c'], leasedAgents: [], registeredAgents: new Set() });
  const agreeing = { tally: all, skewedPeers: [], unmeasuredPeers: [], maxClockOffsetMs: 500 };
  t.match(decideWrite(all, config, agreeing), { allowed: true });
  t.match(decideWrite(all, config, { ...agreeing, stampsAheadMs: 3_000 }), { allowed: false, code: 'FENCED', reason: 'CLOCK_SKEW', message: /stamps stand 3000 ms above its own clock/ });
  const none = tally(config, { reachableControllers: ['a'], leasedAgents: [], registeredAgents: new Set() });
  t.match(decideWrite(none, config, { ...agreeing, tally: none, stampsAheadMs: 3_000 }), { reason: 'NO_QUORUM' }, 'no quorum is NO_QUORUM first');
});
