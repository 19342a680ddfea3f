// The split-brain guarantee, checked three ways.
//
// GUARANTEE. Let every controller have the same configuration and agent registry. At any instant t,
// if controllers X and Y are not connected in the graph of all controller links that were up at some
// moment during (t − leaseMs, t], then X and Y do not both hold quorum at t. Assumptions: clock RATES
// within 1 ± ρ of real time and driftMarginMs ≥ 2ρ/(1+ρ)·leaseMs (clock-drift.ts); a controller
// counts another only while a direct link to it is open and it was in contact over a direct link less
// than leaseMs − driftMarginMs ago on its own clock (ControllerContacts, the write fence's own table:
// in real time that is less than leaseMs/(1+ρ) < leaseMs; a reset link stops counting at once,
// contact-explorer.ts checks the pair rule exhaustively); agent votes come from
// LeaseTable; restarted agents wait one lease before voting, restarted controllers take a new
// incarnation. In particular, once a partition has lasted one lease interval, at most one side holds
// quorum, and a write fenced there is fenced at once (fencing.ts). Agent failover adds no window at
// all: a vote is never counted by two controllers at the same instant.
//
// WHY. X's reach and Y's reach lie in different components of that graph, so they share no
// controller; lease exclusivity means they share no agent; so their votes are weights of disjoint
// subsets of the total W and cannot both exceed W/2.
//
// HOW IT IS CHECKED.
//  (A) lease-exclusivity.test.ts: exhaustively, one agent's vote is never counted by two controllers
//      (agents are independent, so this holds for every agent of any federation).
//  (B) here, exhaustively: for 2 and 3 controllers and 0..5 agents, every controller graph, every
//      reach view inside each controller's component (stale or partial views included), every
//      registry, several weightings, and every assignment of agent votes that (A) allows — each agent
//      counted by at most one controller, or by none — no two disconnected controllers both hold
//      quorum. And without exclusivity (an agent counted on both sides, the guide's arithmetic) the
//      same enumeration finds a split brain.
//  (C) here, deterministic scenarios of the window itself: right after a silent cut both sides may
//      still hold quorum; within one lease interval only one does; after a reset, never both.
//  (D) here, a fast-check property on whole simulated federations (up to 5 controllers and 9 agents,
//      random event sequences: lease requests and answers, losses, clock ticks with per-node drift,
//      link cuts and heals, agent failover, restarts): the guarantee above holds after every event.

import t from 'tap';
import fc from 'fast-check';
import { quorumConfig, type QuorumConfig, type QuorumConfigInput } from '../../quorum/quorum-config.ts';
import { tally } from '../../quorum/tally.ts';
import { check, runs } from '../helpers/fc-run.ts';
import { World } from './world.ts';

// ---------------------------------------------------------------------------------------------------
// (B) exhaustive

interface Graph { edges: number; comp: number[] } // comp[i]: bitmask of i's connected component

function graphs(n: number): Graph[] {
  const pairs: Array<[number, number]> = [];
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) pairs.push([i, j]);
  const out: Graph[] = [];
  for (let edges = 0; edges < 1 << pairs.length; edges++) {
    const comp = Array.from({ length: n }, (_, i) => 1 << i);
    for (let changed = true; changed;) {
      changed = false;
      pairs.forEach(([i, j], k) => {
        if ((edges >> k) & 1 && comp[i] !== comp[j]) { comp[i] = comp[j] = comp[i]! | comp[j]!; changed = true; }
      });
      for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) if (comp[i]! & (1 << j) && (comp[i]! | comp[j]!) !== comp[j]) { comp[j] = comp[i]! | comp[j]!; changed = true; }
    }
    out.push({ edges, comp });
  }
  return out;
}

/** Sub-masks of `mask` that contain bit `self`. */
function views(mask: number, self: number): number[] {
  const out: number[] = [];
  for (let m = mask; ; m = (m - 1) & mask) {
    if (m & (1 << self)) out.push(m);
    if (m === 0) break;
  }
  return out;
}

const CONTROLLERS = ['c1', 'c2', 'c3'];
const AGENTS = ['a1', 'a2', 'a3', 'a4', 'a5'];

function configsFor(n: number): Array<(self: string) => QuorumConfig> {
  const controllers = CONTROLLERS.slice(0, n);
  const out: Array<(self: string) => QuorumConfig> = [];
  const mk = (o: Omit<QuorumConfigInput, 'self' | 'controllers'>) => (self: string) => quorumConfig({ self, controllers, ...o });
  for (let q = Math.floor(n / 2) + 1; q <= n; q++) out.push(mk({ mode: 'Controllers', quorumSize: q }));
  for (const [cw, aw] of [[10, 1], [1, 1], [1, 2], [2, 3], [3, 1]] as const) {
    for (const minAgentsForQuorum of [0, 1, 2]) out.push(mk({ mode: 'AgentAssisted', controllerWeight: cw, agentWeight: aw, minAgentsForQuorum }));
  }
  return out;
}

interface Counts { assignments: number; tallies: number; pairsChecked: number; oneSideWins: number }

/** For every assignment of agents to controllers (`perAgent` choices each), every registry prefix and
 *  every graph: returns the first pair of disconnected controllers that both hold quorum, if any.
 *  `counted(choice)` gives the controllers (bitmask) that count an agent making that choice. */
function enumerate(n: number, m: number, cfgs: Array<(self: string) => QuorumConfig>, choices: number[], counts: Counts): string | undefined {
  const gs = graphs(n);
  for (const cfgOf of cfgs) {
    const cfg = CONTROLLERS.slice(0, n).map((c) => cfgOf(c));
    const agentsMatter = cfg[0]!.mode === 'AgentAssisted';
    const registries = agentsMatter ? m + 1 : 1;
    const assignments = agentsMatter ? choices.length ** m : 1;
    for (let k = 0; k < registries; k++) {
      const registeredAgents = new Set(AGENTS.slice(0, k));
      for (let a = 0; a < assignments; a++) {
        counts.assignments++;
        const leased: string[][] = Array.from({ length: n }, () => []);
        for (let i = 0, r = a; i < m; i++, r = Math.floor(r / choices.length)) {
          const mask = choices[r % choices.length]!;
          for (let c = 0; c < n; c++) if (mask & (1 << c)) leased[c]!.push(AGENTS[i]!);
        }
        // quorum[c][view] for every view (bitmask of reached controllers, c included)
        const quorum: boolean[][] = [];
        for (let c = 0; c < n; c++) {
          quorum[c] = [];
          for (const v of views((1 << n) - 1, c)) {
            const reach = CONTROLLERS.filter((_, i) => v & (1 << i));
            quorum[c]![v] = tally(cfg[c]!, { reachableControllers: reach, leasedAgents: leased[c]!, registeredAgents }).haveQuorum;
            counts.tallies++;
          }
        }
        for (const g of gs) {
          for (let x = 0; x < n; x++) {
            for (let y = x + 1; y < n; y++) {
              if (g.comp[x]! & (1 << y)) continue; // connected: both may hold quorum
              for (const vx of views(g.comp[x]!, x)) {
                for (const vy of views(g.comp[y]!, y)) {
                  counts.pairsChecked++;
                  const qx = quorum[x]![vx]!;
                  const qy = quorum[y]![vy]!;
                  if (qx && qy) {
                    return `n=${n} m=${m} ${JSON.stringify({ ...cfg[0], self: undefined, controllers: undefined })} registered=${k} ` +
                      `leases=${JSON.stringify(leased)} graph=${g.edges.toString(2)}: c${x + 1} (view ${vx.toString(2)}) and c${y + 1} (view ${vy.toString(2)}) both hold quorum`;
                  }
                  if (qx !== qy) counts.oneSideWins++;
                }
              }
            }
          }
        }
      }
    }
  }
  return undefined;
}

t.test('(B) exhaustive: 2–3 controllers, 0–5 agents, every graph, view, registry and exclusive lease assignment', async (t) => {
  const t0 = performance.now();
  for (const n of [2, 3]) {
    const counts: Counts = { assignments: 0, tallies: 0, pairsChecked: 0, oneSideWins: 0 };
    // Exclusive: each agent is counted by no controller or by exactly one (all that (A) allows).
    const exclusive = [0, ...Array.from({ length: n }, (_, c) => 1 << c)];
    for (let m = 0; m <= 5; m++) {
      const bad = enumerate(n, m, configsFor(n), exclusive, counts);
      if (bad !== undefined) t.fail(bad);
    }
    t.ok(counts.oneSideWins > 0, `n=${n}: ${counts.assignments} assignments, ${counts.tallies} tallies, ${counts.pairsChecked} disconnected pairs checked, ${counts.oneSideWins} with exactly one side winning, none with both`);
  }
  t.comment(`${Math.round(performance.now() - t0)} ms`);
});

t.test('(B) without exclusivity (an agent counted on both sides, as in the guide) the same enumeration finds a split brain', async (t) => {
  const counts: Counts = { assignments: 0, tallies: 0, pairsChecked: 0, oneSideWins: 0 };
  const anySubset = [0, 1, 2, 3]; // no controller, c1, c2, both
  const dcConfig = [(self: string) => quorumConfig({ mode: 'AgentAssisted', self, controllers: ['c1', 'c2'] })];
  const bad = enumerate(2, 5, dcConfig, anySubset, counts);
  t.match(bad, /c1 \(view 1\) and c2 \(view 10\) both hold quorum/, `found: ${bad}`);
});

// ---------------------------------------------------------------------------------------------------
// (C) the window, deterministically

const LEASE = 110;
const MARGIN = 20; // minDriftMarginMs(110, ρ = 10 %)
const SLOW = 9;
const FAST = 11;
const NOMINAL = 10;
const WINDOW_TICKS = Math.ceil((LEASE - MARGIN) / SLOW); // a contact or lease counted at t was fresh within (t − 10, t]

t.test('(C) the window: both sides may hold quorum right after a cut, only one after one lease interval', async (t) => {
  t.ok(WINDOW_TICKS * NOMINAL <= LEASE, `the window (${WINDOW_TICKS} ticks) is within one nominal lease interval (${LEASE / NOMINAL} ticks)`);
  const cases: Array<{ name: string; cfg: Omit<QuorumConfigInput, 'self' | 'controllers'>; controllers: string[]; agents: string[]; cut: (w: World) => void; minority: string[]; majority: string[]; reset?: true }> = [
    { name: 'Controllers, c3 cut off from c1 and c2', cfg: { mode: 'Controllers' }, controllers: ['c1', 'c2', 'c3'], agents: [],
      cut: (w) => { w.setLink('c1', 'c3', false); w.setLink('c2', 'c3', false); }, minority: ['c3'], majority: ['c1', 'c2'] },
    { name: 'Controllers, c3 reset by c1 and c2', cfg: { mode: 'Controllers' }, controllers: ['c1', 'c2', 'c3'], agents: [], reset: true,
      cut: (w) => { w.setLink('c1', 'c3', false, 'reset'); w.setLink('c2', 'c3', false, 'reset'); }, minority: ['c3'], majority: ['c1', 'c2'] },
    { name: 'AgentAssisted two datacenters, controllers cut apart', cfg: { mode: 'AgentAssisted' }, controllers: ['c1', 'c2'], agents: ['a1', 'a2', 'a3', 'a4', 'a5'],
      cut: (w) => { w.setLink('c1', 'c2', false); }, minority: ['c2'], majority: ['c1'] },
  ];
  for (const c of cases) {
    const primary = (a: string): string => (['a4', 'a5'].includes(a) ? 'c2' : 'c1');
    const w = new World({ config: (self) => quorumConfig({ self, controllers: c.controllers, leaseMs: LEASE, driftMarginMs: MARGIN, ...c.cfg }), controllers: c.controllers, agents: c.agents, primary });
    const rate = (node: string): number => (node.startsWith('c') ? SLOW : FAST); // worst case for the minority
    for (let i = 0; i < 3; i++) w.round(rate);
    t.same(w.withQuorum(), c.controllers, `${c.name}: all hold quorum while connected`);
    c.cut(w);
    const cutTick = w.tick;
    let lastBoth = -1;
    for (let i = 0; i < 2 * WINDOW_TICKS; i++) {
      if (w.withQuorum().length === c.controllers.length) lastBoth = w.tick - cutTick;
      const v = w.splitBrainViolation(WINDOW_TICKS) ?? w.exclusivityViolation();
      if (v !== undefined) t.fail(`${c.name}: ${v}`);
      w.round(rate);
    }
    if (c.reset === true) {
      t.equal(lastBoth, -1, `${c.name}: a reset fences the minority at once: never both after the cut`);
    } else {
      t.ok(lastBoth >= 0, `${c.name}: right after the cut both sides still hold quorum (stale contacts)`);
      t.ok(lastBoth < WINDOW_TICKS, `${c.name}: the last instant both held quorum was ${lastBoth} ticks after the cut (< ${WINDOW_TICKS})`);
    }
    t.same(w.withQuorum(), c.majority, `${c.name}: one lease interval later only ${c.majority.join(', ')} holds quorum`);
  }
});

// ---------------------------------------------------------------------------------------------------
// (D) whole federations, random event sequences

type Ev =
  | { t: 'tick'; rates: number[] }
  | { t: 'round' }
  | { t: 'link'; i: number; j: number; up: boolean; reset: boolean }
  | { t: 'alink'; a: number; c: number; up: boolean }
  | { t: 'beat'; i: number; j: number }
  | { t: 'request'; c: number; a: number }
  | { t: 'deliver'; k: number }
  | { t: 'drop'; k: number }
  | { t: 'primary'; a: number; c: number }
  | { t: 'failover' }
  | { t: 'restartAgent'; a: number }
  | { t: 'restartController'; c: number };

const MAX_C = 5;
const MAX_A = 9;
const ci = fc.nat({ max: MAX_C - 1 });
const ai = fc.nat({ max: MAX_A - 1 });
const event: fc.Arbitrary<Ev> = fc.oneof(
  { weight: 8, arbitrary: fc.record({ t: fc.constant('tick' as const), rates: fc.array(fc.integer({ min: SLOW, max: FAST }), { minLength: MAX_C + MAX_A, maxLength: MAX_C + MAX_A }) }) },
  { weight: 4, arbitrary: fc.constant({ t: 'round' as const }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('link' as const), i: ci, j: ci, up: fc.boolean(), reset: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('alink' as const), a: ai, c: ci, up: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('beat' as const), i: ci, j: ci }) },
  { weight: 3, arbitrary: fc.record({ t: fc.constant('request' as const), c: ci, a: ai }) },
  { weight: 3, arbitrary: fc.record({ t: fc.constant('deliver' as const), k: fc.nat({ max: 40 }) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('drop' as const), k: fc.nat({ max: 40 }) }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('primary' as const), a: ai, c: fc.nat({ max: MAX_C }) }) },
  { weight: 1, arbitrary: fc.constant({ t: 'failover' as const }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('restartAgent' as const), a: ai }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('restartController' as const), c: ci }) },
);

const scenario = fc.record({
  n: fc.integer({ min: 2, max: MAX_C }),
  m: fc.integer({ min: 0, max: MAX_A }),
  mode: fc.constantFrom('Controllers' as const, 'AgentAssisted' as const),
  qExtra: fc.nat({ max: 2 }),
  cw: fc.integer({ min: 1, max: 10 }),
  aw: fc.integer({ min: 1, max: 3 }),
  minAgents: fc.nat({ max: 2 }),
  unregistered: fc.nat({ max: 2 }),
  offsets: fc.array(fc.integer({ min: 0, max: 1_000_000 }), { minLength: MAX_C + MAX_A, maxLength: MAX_C + MAX_A }),
  events: fc.array(event, { minLength: 60, maxLength: 200 }),
});

t.test('(D) property: whole federations with drifting clocks never split-brain beyond the window', async (t) => {
  const stats = { steps: 0, someQuorum: 0, bothInWindow: 0, handovers: 0 };
  check(t, fc.property(scenario, (s) => {
    const controllers = CONTROLLERS.concat(['c4', 'c5']).slice(0, s.n);
    const agents = Array.from({ length: s.m }, (_, i) => `a${i + 1}`);
    const quorumSize = s.mode === 'Controllers' ? Math.min(s.n, Math.floor(s.n / 2) + 1 + s.qExtra) : undefined;
    const names = [...controllers, ...agents];
    const w = new World({
      config: (self) => quorumConfig({ mode: s.mode, self, controllers, quorumSize, controllerWeight: s.cw, agentWeight: s.aw, minAgentsForQuorum: s.minAgents, leaseMs: LEASE, driftMarginMs: MARGIN }),
      controllers, agents, registered: agents.slice(s.unregistered),
      primary: (a) => controllers[Number(a.slice(1)) % s.n],
      offsetMs: (_, i) => s.offsets[i]!,
    });
    const lastCounter = new Map<string, string>();
    for (const e of s.events) {
      const c = (i: number): string => controllers[i % s.n]!;
      const a = (i: number): string | undefined => (s.m === 0 ? undefined : agents[i % s.m]);
      switch (e.t) {
        case 'tick': w.advance((node) => e.rates[names.indexOf(node)]!); break;
        case 'round': w.beatAll(); w.requestAll(); w.deliverAll(); break;
        case 'link': if (c(e.i) !== c(e.j)) w.setLink(c(e.i), c(e.j), e.up, e.reset ? 'reset' : 'silent'); break;
        case 'alink': { const ag = a(e.a); if (ag !== undefined) w.setAgentLink(ag, c(e.c), e.up); break; }
        case 'beat': w.beat(c(e.i), c(e.j)); break;
        case 'request': { const ag = a(e.a); if (ag !== undefined) w.request(c(e.c), ag); break; }
        case 'deliver': if (w.inflight.length > 0) w.deliver(e.k % w.inflight.length); break;
        case 'drop': if (w.inflight.length > 0) w.drop(e.k % w.inflight.length); break;
        case 'primary': { const ag = a(e.a); if (ag !== undefined) w.setPrimary(ag, e.c === MAX_C ? undefined : c(e.c)); break; }
        case 'failover':
          for (const ag of agents) {
            const p = w.agent.get(ag)!.primary;
            if (p === undefined || !w.agentLink(ag, p)) w.setPrimary(ag, controllers.find((x) => w.agentLink(ag, x)));
          }
          break;
        case 'restartAgent': { const ag = a(e.a); if (ag !== undefined) w.restartAgent(ag); break; }
        case 'restartController': w.restartController(c(e.c)); break;
      }
      const v = w.exclusivityViolation() ?? w.splitBrainViolation(WINDOW_TICKS);
      if (v !== undefined) throw new Error(`${v} after ${JSON.stringify(e)}`);
      stats.steps++;
      const q = w.withQuorum();
      if (q.length > 0) stats.someQuorum++;
      if (q.some((x) => q.some((y) => x < y && !w.connected(x, y)))) stats.bothInWindow++;
      for (const ag of agents) {
        const by = w.countedBy(ag)[0];
        if (by !== undefined) {
          if (lastCounter.has(ag) && lastCounter.get(ag) !== by) stats.handovers++;
          lastCounter.set(ag, by);
        }
      }
    }
  }), runs(150));
  t.comment(`${stats.steps} steps checked; some controller held quorum in ${stats.someQuorum}; two controllers disconnected now but both with quorum (inside the window) in ${stats.bothInWindow}; agent votes handed over ${stats.handovers} times`);
  if (runs(150) >= 50) t.ok(stats.someQuorum > 0 && stats.handovers > 0, 'the property is not vacuous: quorum was held and votes moved');
});
