// Tally and threshold: table-driven cases, the guide's two-datacenter example run through the real
// lease protocol for every choice of which controllers the DC-B agents still reach, Controllers-mode
// splits for 2..5 controllers, and a property against the naive reference.

import t from 'tap';
import fc from 'fast-check';
import { quorumConfig, type QuorumConfig } from '../../quorum/quorum-config.ts';
import { tally, type TallyInput } from '../../quorum/tally.ts';
import { controllerMajority, weightedThreshold } from '../../quorum/threshold.ts';
import { check, runs } from '../helpers/fc-run.ts';
import { guideVotes, naiveTally } from './naive-tally.ts';
import { World } from './world.ts';

const AGENTS = ['a1', 'a2', 'a3', 'a4', 'a5'];
const dc = (self: string, over: Partial<QuorumConfig> = {}): QuorumConfig =>
  quorumConfig({ mode: 'AgentAssisted', self, controllers: ['c1', 'c2'], leaseMs: 1000, driftMarginMs: 100, ...over });
const input = (reach: string[], leased: string[], registered: string[] = AGENTS): TallyInput =>
  ({ reachableControllers: reach, leasedAgents: leased, registeredAgents: new Set(registered) });

t.test('thresholds', async (t) => {
  t.same([0, 1, 2, 3, 4, 5, 25, 27].map(weightedThreshold), [1, 1, 2, 2, 3, 3, 13, 14], '⌊W/2⌋+1');
  t.same([1, 2, 3, 4, 5].map(controllerMajority), [1, 2, 2, 3, 3]);
  for (let w = 0; w < 200; w++) if (2 * weightedThreshold(w) <= w || 2 * (weightedThreshold(w) - 1) > w) t.fail(`W=${w}: not the least strict majority`);
});

t.test('AgentAssisted tally cases (two datacenters: W = 2·10 + 5·1 = 25, threshold 13)', async (t) => {
  const cases: Array<{ name: string; self: string; over?: Partial<QuorumConfig>; in: TallyInput; want: Record<string, unknown> }> = [
    { name: 'DC-A cut off with its 3 agents: exactly the threshold', self: 'c1', in: input([], ['a1', 'a2', 'a3']),
      want: { haveQuorum: true, votes: 13, total: 25, threshold: 13, controllerVotes: 10, agentVotes: 3, reachableControllers: 1, reachableAgents: 3, reason: 'quorum' } },
    { name: 'DC-B cut off with its 2 agents', self: 'c2', in: input([], ['a4', 'a5']),
      want: { haveQuorum: false, votes: 12, threshold: 13, agentVotes: 2, reason: 'below_threshold' } },
    { name: 'both controllers, no agent: a strict majority of controllers needs no agents', self: 'c1', in: input(['c2'], []),
      want: { haveQuorum: true, votes: 20, reachableControllers: 2, reachableAgents: 0, reason: 'quorum' } },
    { name: 'enough votes but fewer agents than minAgentsForQuorum', self: 'c1', over: { minAgentsForQuorum: 4 }, in: input([], ['a1', 'a2', 'a3']),
      want: { haveQuorum: false, votes: 13, reason: 'too_few_agents' } },
    { name: 'minAgentsForQuorum 0: votes alone decide', self: 'c1', over: { minAgentsForQuorum: 0, controllerWeight: 1 }, in: input([], ['a1', 'a2', 'a3', 'a4']),
      want: { haveQuorum: true, votes: 5, total: 7, threshold: 4 } },
    { name: 'unregistered agents and controller names never count as agents', self: 'c2', in: input([], ['a4', 'a5', 'x9', 'c1'], ['a4', 'a5', 'c1']),
      want: { haveQuorum: true, votes: 12, total: 22, threshold: 12, registeredAgents: 2, reachableAgents: 2 } },
    { name: 'unknown and duplicate controller names are ignored; self counts even if not listed', self: 'c1', in: input(['zz', 'c1', 'c1'], ['a1']),
      want: { votes: 11, reachableControllers: 1, haveQuorum: false } },
    { name: 'empty registry: W = 20, a lone controller is 10 < 11', self: 'c1', in: input([], [], []),
      want: { haveQuorum: false, votes: 10, total: 20, threshold: 11 } },
  ];
  for (const c of cases) t.match(tally(dc(c.self, c.over), c.in), c.want, c.name);
});

t.test('Controllers mode tally cases', async (t) => {
  const cfg = (n: number, self = 'c1', quorumSize?: number): QuorumConfig =>
    quorumConfig({ self, controllers: Array.from({ length: n }, (_, i) => `c${i + 1}`), quorumSize });
  t.match(tally(cfg(3), input(['c2'], ['a1'])), { haveQuorum: true, votes: 2, total: 3, threshold: 2, agentVotes: 0, reachableAgents: 0 });
  t.match(tally(cfg(3), input([], [])), { haveQuorum: false, votes: 1, reason: 'below_threshold' });
  t.match(tally(cfg(5, 'c1', 5), input(['c2', 'c3', 'c4'], [])), { haveQuorum: false, votes: 4, threshold: 5 });
  t.match(tally(cfg(1), input([], [])), { haveQuorum: true, votes: 1, total: 1 }, 'a single controller is its own majority');
});

t.test('Controllers mode: 1–1 and 2–2 splits fence both sides, 2–1, 3–1 and 3–2 only the minority', async (t) => {
  const splits: Array<{ n: number; sides: number[]; fenced: boolean[] }> = [
    { n: 2, sides: [1, 1], fenced: [true, true] },
    { n: 3, sides: [2, 1], fenced: [false, true] },
    { n: 3, sides: [1, 1, 1], fenced: [true, true, true] },
    { n: 4, sides: [2, 2], fenced: [true, true] },
    { n: 4, sides: [3, 1], fenced: [false, true] },
    { n: 5, sides: [3, 2], fenced: [false, true] },
    { n: 5, sides: [4, 1], fenced: [false, true] },
    { n: 5, sides: [2, 2, 1], fenced: [true, true, true] },
  ];
  for (const s of splits) {
    const names = Array.from({ length: s.n }, (_, i) => `c${i + 1}`);
    let at = 0;
    const groups = s.sides.map((k) => names.slice(at, (at += k)));
    for (const [i, side] of groups.entries()) {
      for (const self of side) {
        const r = tally(quorumConfig({ self, controllers: names }), input(side, []));
        t.equal(!r.haveQuorum, s.fenced[i], `n=${s.n} split ${s.sides.join('–')}: ${self} (side of ${side.length}) ${s.fenced[i] ? 'fenced' : 'keeps quorum'}`);
      }
    }
    // The guide's quorum of n/2 (refused by validation) would let both halves of an even split win.
    if (s.n % 2 === 0 && s.sides.length === 2 && s.sides[0] === s.sides[1]) {
      const guide = (self: string): QuorumConfig => ({ ...quorumConfig({ self, controllers: names }), quorumSize: s.n / 2 });
      const both = groups.every((side) => tally(guide(side[0]!), input(side, [])).haveQuorum);
      t.ok(both, `n=${s.n}: with the guide's quorum ${s.n / 2} both halves would accept writes (why validation refuses it)`);
    }
  }
});

// The guide's two datacenters: DC-A = c1 + a1..a3, DC-B = c2 + a4, a5, each agent's primary in its own
// DC. Leases are established while everything is connected, then c1 and c2 are cut apart, DC-A agents
// keep reaching c1 only, and each DC-B agent reaches some subset of {c1, c2}. Agents whose primary is
// unreachable fail over to a reachable controller. The real protocol runs on drifting clocks.
const PRIMARY: Record<string, string> = { a1: 'c1', a2: 'c1', a3: 'c1', a4: 'c2', a5: 'c2' };

function twoDatacenters(dcbReach: Record<string, string[]>, dcaAlsoReachC2: string[] = []): { world: World; log: string[] } {
  const L = 1000;
  const world = new World({ config: (self) => dc(self), controllers: ['c1', 'c2'], agents: AGENTS, primary: (a) => PRIMARY[a] });
  const drift = (n: string): number => (n.startsWith('c') ? 95 : 105); // controllers slow, agents fast: the worst case, ρ≈5 %
  const log: string[] = [];
  for (let i = 0; i < 4; i++) world.round(drift);
  if (world.withQuorum().length !== 2) log.push('both controllers should hold quorum while connected');
  world.setLink('c1', 'c2', false);
  for (const a of AGENTS) {
    const reach = PRIMARY[a] === 'c1' ? ['c1', ...(dcaAlsoReachC2.includes(a) ? ['c2'] : [])] : dcbReach[a]!;
    for (const c of ['c1', 'c2']) world.setAgentLink(a, c, reach.includes(c));
  }
  const cutTick = world.tick;
  const windowTicks = Math.ceil((L - 100) / 95);
  for (let i = 0; i < 40; i++) {
    for (const a of AGENTS) {
      const ag = world.agent.get(a)!;
      if (ag.primary === undefined || !world.agentLink(a, ag.primary)) {
        ag.primary = [PRIMARY[a]!, PRIMARY[a] === 'c1' ? 'c2' : 'c1'].find((c) => world.agentLink(a, c));
      }
    }
    world.round(drift);
    const ex = world.exclusivityViolation();
    if (ex !== undefined) log.push(ex);
    const sb = world.splitBrainViolation(windowTicks);
    if (sb !== undefined) log.push(sb);
    if (world.tick - cutTick > windowTicks && world.withQuorum().length > 1) log.push(`both sides hold quorum ${world.tick - cutTick} ticks after the cut`);
  }
  return { world, log };
}

t.test("the guide's two-datacenter example: exactly one side holds quorum, for every choice of what the DC-B agents reach", async (t) => {
  const subsets = [[], ['c1'], ['c2'], ['c1', 'c2']];
  for (const r4 of subsets) {
    for (const r5 of subsets) {
      const { world, log } = twoDatacenters({ a4: r4, a5: r5 });
      const name = `a4→{${r4.join(',')}} a5→{${r5.join(',')}}`;
      t.same(log, [], `${name}: leases exclusive, no split brain after the contact window`);
      const c1 = world.tallyOf('c1');
      const c2 = world.tallyOf('c2');
      // a DC-B agent stays with c2 while it reaches c2; otherwise it fails over to c1 if it can.
      const toC2 = [r4, r5].filter((r) => r.includes('c2')).length;
      const toC1 = [r4, r5].filter((r) => !r.includes('c2') && r.includes('c1')).length;
      t.same([c1.votes, c2.votes, world.withQuorum()], [13 + toC1, 10 + toC2, ['c1']], `${name}: c1 ${13 + toC1}/25, c2 ${10 + toC2}/25, only c1 holds quorum`);
    }
  }
});

t.test("the guide's arithmetic counts agents on both sides: with the configured total both sides would win", async (t) => {
  // Every agent reaches both controllers after the cut (only the controller link is down).
  const both = ['c1', 'c2'];
  const { world, log } = twoDatacenters({ a4: both, a5: both }, ['a1', 'a2', 'a3']);
  t.same(log, []);
  const threshold = weightedThreshold(25);
  const reaching = (c: string): number => AGENTS.filter((a) => world.agentLink(a, c)).length;
  const guide1 = guideVotes(10, 1, reaching('c1'));
  const guide2 = guideVotes(10, 1, reaching('c2'));
  t.ok(guide1 >= threshold && guide2 >= threshold, `guide: c1 counts ${guide1}, c2 counts ${guide2}, both ≥ ${threshold} of the configured 25 — both sides would accept writes`);
  t.same(world.withQuorum(), ['c1'], 'with exclusive leases only c1 (3 leases + its weight = 13) holds quorum');
  t.same([world.tallyOf('c1').votes, world.tallyOf('c2').votes], [13, 12]);
});

t.test('tally agrees with the naive reference, and more reach never loses quorum', async (t) => {
  const names = ['c1', 'c2', 'c3', 'c4', 'c5', 'c6', 'a1', 'a2', 'a3', 'a4', 'a5', 'a6', 'a7', 'zz'];
  const arb = fc.record({
    n: fc.integer({ min: 1, max: 6 }),
    mode: fc.constantFrom('Controllers' as const, 'AgentAssisted' as const),
    qExtra: fc.nat({ max: 5 }),
    cw: fc.integer({ min: 1, max: 12 }),
    aw: fc.integer({ min: 1, max: 4 }),
    minAgents: fc.nat({ max: 4 }),
    selfIdx: fc.nat({ max: 5 }),
    reach: fc.array(fc.constantFrom(...names), { maxLength: 10 }),
    leased: fc.array(fc.constantFrom(...names), { maxLength: 10 }),
    registered: fc.array(fc.constantFrom(...names), { maxLength: 10 }),
    more: fc.constantFrom(...names),
  });
  check(t, fc.property(arb, (x) => {
    const controllers = names.slice(0, x.n);
    const self = controllers[x.selfIdx % x.n]!;
    const quorumSize = x.mode === 'Controllers' ? Math.min(x.n, controllerMajority(x.n) + x.qExtra) : undefined;
    const cfg = quorumConfig({ mode: x.mode, self, controllers, quorumSize, controllerWeight: x.cw, agentWeight: x.aw, minAgentsForQuorum: x.minAgents });
    const real = tally(cfg, { reachableControllers: x.reach, leasedAgents: x.leased, registeredAgents: new Set(x.registered) });
    const naive = naiveTally(cfg, x.reach, x.leased, x.registered);
    if (real.haveQuorum !== naive.haveQuorum || real.votes !== naive.votes || real.total !== naive.total || real.threshold !== naive.threshold) {
      throw new Error(`real ${JSON.stringify(real)} vs naive ${JSON.stringify(naive)}`);
    }
    if (real.votes !== real.controllerVotes + real.agentVotes) throw new Error('votes are the sum of their parts');
    const moreReach = tally(cfg, { reachableControllers: [...x.reach, x.more], leasedAgents: x.leased, registeredAgents: new Set(x.registered) });
    const moreLeases = tally(cfg, { reachableControllers: x.reach, leasedAgents: [...x.leased, x.more], registeredAgents: new Set(x.registered) });
    if (real.haveQuorum && !(moreReach.haveQuorum && moreLeases.haveQuorum)) throw new Error('monotonicity: more reach or leases lost quorum');
  }), runs(2000));
});
