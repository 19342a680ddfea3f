// Agent registry changes: only with quorum, one agent at a time, removal only after the absence
// expiry, and consecutive totals must have overlapping majorities (checked exhaustively against a
// brute-force search for two disjoint winning sides across the two versions).

import t from 'tap';
import {
  decideRegistryChange, emptyAgentRegistry, majoritiesOverlap, type AgentRegistry, type RegistryContext,
} from '../../quorum/agent-registry.ts';
import { MAX_AGENTS } from '../../quorum/limits.ts';
import { quorumConfig, type QuorumConfig } from '../../quorum/quorum-config.ts';
import { weightedThreshold } from '../../quorum/threshold.ts';

const cfg = quorumConfig({ mode: 'AgentAssisted', self: 'c1', controllers: ['c1', 'c2'], leaseMs: 1000, driftMarginMs: 100, agentAbsenceExpiryMs: 60_000 });
const reg = (...agents: string[]): AgentRegistry => ({ version: 7, agents: new Set(agents) });
const ctx = (over: Partial<RegistryContext> = {}): RegistryContext =>
  ({ config: cfg, reachableControllers: ['c2'], leasedAgents: [], nowMs: 100_000, lastSeenMs: undefined, startedAtMs: 0, ...over });

t.test('decisions', async (t) => {
  const added = decideRegistryChange(reg('a1'), { op: 'add', agent: 'a2' }, ctx());
  t.match(added, { accepted: true, message: 'registered a2 (registry version 8)' });
  if (added.accepted) t.same([added.registry.version, [...added.registry.agents].sort()], [8, ['a1', 'a2']]);
  const cases: Array<[string, AgentRegistry, RegistryContext, { op: 'add' | 'remove'; agent: string }, string]> = [
    ['no quorum (cut off, no leases)', reg('a1', 'a2', 'a3'), ctx({ reachableControllers: [] }), { op: 'add', agent: 'a4' }, 'no_quorum'],
    ['already registered', reg('a1'), ctx(), { op: 'add', agent: 'a1' }, 'already_registered'],
    ['not registered', reg('a1'), ctx(), { op: 'remove', agent: 'a9' }, 'not_registered'],
    ['invalid name', reg(), ctx(), { op: 'add', agent: 'A 1' }, 'invalid_name'],
    ['a controller name', reg(), ctx(), { op: 'add', agent: 'c2' }, 'is_controller'],
    ['seen 59 999 ms ago', reg('a1'), ctx({ lastSeenMs: 40_001 }), { op: 'remove', agent: 'a1' }, 'still_present'],
    ['its lease counts now', reg('a1'), ctx({ lastSeenMs: 0, leasedAgents: ['a1'] }), { op: 'remove', agent: 'a1' }, 'still_present'],
    ['never seen, but this controller started 59 999 ms ago', reg('a1'), ctx({ startedAtMs: 40_001 }), { op: 'remove', agent: 'a1' }, 'still_present'],
  ];
  for (const [name, r, c, change, reason] of cases) t.match(decideRegistryChange(r, change, c), { accepted: false, reason }, name);
  t.match(decideRegistryChange(reg('a1'), { op: 'remove', agent: 'a1' }, ctx({ lastSeenMs: 40_000 })), { accepted: true }, 'away exactly agentAbsenceExpiryMs');
  t.match(decideRegistryChange(reg('a1'), { op: 'remove', agent: 'a1' }, ctx({ startedAtMs: 40_000 })), { accepted: true }, 'never seen since a start that long ago');
  const refused = decideRegistryChange(reg('a1', 'a2', 'a3'), { op: 'add', agent: 'a4' }, ctx({ reachableControllers: [] }));
  t.match(refused, { message: 'registry changes need quorum: this controller holds 10 of 23 votes, threshold 12' });
  t.equal(refused.tally.votes, 10, 'the decision carries the tally it was made on');
  const full = { version: 1, agents: new Set(Array.from({ length: MAX_AGENTS }, (_, i) => `a${i}`)) };
  t.match(decideRegistryChange(full, { op: 'add', agent: 'new' }, ctx()), { accepted: false, reason: 'registry_full' });
  t.same(emptyAgentRegistry(), { version: 0, agents: new Set() });
});

t.test('Controllers mode: the registry does not weigh, but changes still need quorum', async (t) => {
  const c3 = quorumConfig({ self: 'c1', controllers: ['c1', 'c2', 'c3'] });
  t.match(decideRegistryChange(reg(), { op: 'add', agent: 'a1' }, ctx({ config: c3, reachableControllers: ['c3'] })), { accepted: true });
  t.match(decideRegistryChange(reg(), { op: 'add', agent: 'a1' }, ctx({ config: c3, reachableControllers: [] })), { accepted: false, reason: 'no_quorum' });
});

t.test('a change whose old and new majorities could be disjoint is refused', async (t) => {
  const odd = quorumConfig({ mode: 'AgentAssisted', self: 'c1', controllers: ['c1'], controllerWeight: 3, agentWeight: 2 });
  const d = decideRegistryChange(reg('a1'), { op: 'add', agent: 'a2' }, ctx({ config: odd, reachableControllers: [], leasedAgents: ['a1'] }));
  t.match(d, { accepted: false, reason: 'no_overlap', message: 'total 5 → 7: thresholds 3 and 4 would let two disjoint sides both win' });
  t.ok(majoritiesOverlap(25, 26) && majoritiesOverlap(26, 25) && majoritiesOverlap(24, 25), 'weight-1 agents always overlap');
});

// Brute force: old registry `agents`, new registry with one agent added. Every member goes to side A
// (counted under the old version), side B (counted under the new version) or neither; is there a split
// where both sides reach their version's threshold?
function disjointWinnersExist(c: QuorumConfig, agentsOld: number): boolean {
  const n = c.controllers.length;
  const members = n + agentsOld + 1; // the last one is the added agent
  const wOld = c.controllerWeight * n + c.agentWeight * agentsOld;
  const wNew = wOld + c.agentWeight;
  for (let code = 0; code < 3 ** members; code++) {
    let a = 0;
    let b = 0;
    for (let i = 0, r = code; i < members; i++, r = Math.floor(r / 3)) {
      const w = i < n ? c.controllerWeight : c.agentWeight;
      if (r % 3 === 1 && i < members - 1) a += w; // the added agent does not count under the old version
      if (r % 3 === 2) b += w;
    }
    if (a >= weightedThreshold(wOld) && b >= weightedThreshold(wNew)) return true;
  }
  return false;
}

t.test('exhaustive: every change majoritiesOverlap accepts leaves no two disjoint winning sides across the versions', async (t) => {
  let checked = 0;
  let unsafe = 0;
  let conservative = 0;
  for (let n = 1; n <= 2; n++) {
    for (let cw = 1; cw <= 4; cw++) {
      for (let aw = 1; aw <= 3; aw++) {
        const c = quorumConfig({ mode: 'AgentAssisted', self: 'c1', controllers: ['c1', 'c2'].slice(0, n), controllerWeight: cw, agentWeight: aw });
        for (let m = 0; m <= 4; m++) {
          const before = cw * n + aw * m;
          const overlap = majoritiesOverlap(before, before + aw);
          const split = disjointWinnersExist(c, m);
          if (overlap && split) t.fail(`n=${n} cw=${cw} aw=${aw} m=${m}: accepted, yet two disjoint sides can both win`);
          checked++;
          if (split) unsafe++;
          if (!overlap && !split) conservative++;
        }
      }
    }
  }
  t.ok(unsafe > 0, `${checked} cases: ${unsafe} really unsafe, all refused; ${conservative} refused although the weights happen to allow no split (the check ignores how weights can be divided)`);
  for (let m = 0; m <= 50; m++) if (!majoritiesOverlap(20 + m, 21 + m)) t.fail(`weight-1 agents: ${m}`);
});
