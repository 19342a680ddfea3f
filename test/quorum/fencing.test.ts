// The fencing decision and the status object: fenced at once from the tally of the moment, the FENCED
// message carries votes and threshold, fenceWrites=false accepts minority writes, reads always served;
// the status has the guide's `status --verbose` fields (with the safe total, not the guide's 27).

import t from 'tap';
import fc from 'fast-check';
import { decideWrite } from '../../quorum/fencing.ts';
import { quorumConfig } from '../../quorum/quorum-config.ts';
import { quorumStatus } from '../../quorum/quorum-status.ts';
import { tally, type TallyResult } from '../../quorum/tally.ts';
import { check, runs } from '../helpers/fc-run.ts';

const AGENTS = new Set(['a1', 'a2', 'a3', 'a4', 'a5']);
const dc = (self: string, fenceWrites = true) => quorumConfig({ mode: 'AgentAssisted', self, controllers: ['c1', 'c2'], fenceWrites });
const three = (self: string, fenceWrites = true) => quorumConfig({ self, controllers: ['c1', 'c2', 'c3'], fenceWrites });

t.test('writes: allowed with quorum, FENCED without, with votes and threshold in the message', async (t) => {
  const win = tally(dc('c1'), { reachableControllers: [], leasedAgents: ['a1', 'a2', 'a3'], registeredAgents: AGENTS });
  t.same(decideWrite(win, dc('c1')), { allowed: true, code: undefined, reason: undefined, message: 'quorum held: 13 of 25 votes, threshold 13', minorityWrite: false });
  const lose = tally(dc('c2'), { reachableControllers: [], leasedAgents: ['a4', 'a5'], registeredAgents: AGENTS });
  const d = decideWrite(lose, dc('c2'));
  t.match(d, { allowed: false, code: 'FENCED', reason: 'NO_QUORUM', minorityWrite: false });
  t.equal(d.message, 'writes fenced: this controller holds 12 of 25 votes, threshold 13; 1/2 controllers reached, 2 agent leases counted. Reads are still served');
  const cut = tally(three('c3'), { reachableControllers: [], leasedAgents: [], registeredAgents: new Set() });
  t.equal(decideWrite(cut, three('c3')).message, 'writes fenced: this controller holds 1 of 3 votes, threshold 2; 1/3 controllers reached. Reads are still served');
  const cfg = quorumConfig({ mode: 'AgentAssisted', self: 'c1', controllers: ['c1', 'c2'], minAgentsForQuorum: 4 });
  const few = tally(cfg, { reachableControllers: [], leasedAgents: ['a1', 'a2', 'a3'], registeredAgents: AGENTS });
  t.match(decideWrite(few, cfg).message, /13 of 25 votes, threshold 13; 3 agent leases counted, 4 needed without a majority of controllers \(1\/2 reached\)/);
});

t.test('fenceWrites=false: accepted, flagged as a minority write', async (t) => {
  const lose = tally(dc('c2', false), { reachableControllers: [], leasedAgents: [], registeredAgents: AGENTS });
  const d = decideWrite(lose, dc('c2', false));
  t.match(d, { allowed: true, code: undefined, reason: 'NO_QUORUM', minorityWrite: true });
  t.match(d.message, /^minority write accepted \(fenceWrites is off\): 10 of 25 votes, threshold 13/);
});

t.test('fencing follows the tally of the moment, both ways, with no delay', async (t) => {
  const cfg = three('c1');
  const at = (reach: string[]) => decideWrite(tally(cfg, { reachableControllers: reach, leasedAgents: [], registeredAgents: new Set() }), cfg).allowed;
  t.same([at(['c2']), at([]), at(['c3']), at([]), at(['c2', 'c3'])], [true, false, true, false, true]);
});

t.test('status: the fields of the guide\'s `status --verbose`', async (t) => {
  const cut = tally(three('c1'), { reachableControllers: [], leasedAgents: [], registeredAgents: new Set() });
  t.same(quorumStatus('Partitioned', cut, three('c1')), {
    phase: 'Partitioned', partitionState: 'Confirmed', reachablePeers: '0/2', writesFenced: true, fenceReason: 'NO_QUORUM', clockSkewedPeers: [],
    readsAllowed: true, quorumMode: 'Controllers', ourVotes: 1, totalVotes: 3, threshold: 2, haveQuorum: false, reachableAgents: 0,
  }, 'Controllers mode, cut off: the guide\'s first example');
  const dcA = tally(dc('c1'), { reachableControllers: [], leasedAgents: [...AGENTS], registeredAgents: AGENTS });
  t.same(quorumStatus('Partitioned', dcA, dc('c1')), {
    phase: 'Partitioned', partitionState: 'Confirmed', reachablePeers: '0/1', writesFenced: false, fenceReason: 'NONE', clockSkewedPeers: [],
    readsAllowed: true, quorumMode: 'AgentAssisted', ourVotes: 15, totalVotes: 25, threshold: 13, haveQuorum: true, reachableAgents: 5,
  }, 'AgentAssisted, DC-A holding all 5 leases: 15 / 25 (the guide says 27, counting DC-B agents twice), threshold 13');
  const off = tally(dc('c2', false), { reachableControllers: [], leasedAgents: [], registeredAgents: AGENTS });
  t.equal(quorumStatus('Suspected', off, dc('c2', false)).writesFenced, false, 'fenceWrites=false never reports fenced');
  t.equal(quorumStatus('Healing', dcA, dc('c1')).partitionState, 'None');
});

t.test('property: decision is a function of haveQuorum and fenceWrites only', async (t) => {
  const arb = fc.record({ haveQuorum: fc.boolean(), fence: fc.boolean(), votes: fc.nat({ max: 100 }), total: fc.integer({ min: 1, max: 100 }), threshold: fc.integer({ min: 1, max: 60 }) });
  check(t, fc.property(arb, (x) => {
    const r: TallyResult = {
      mode: 'AgentAssisted', haveQuorum: x.haveQuorum, votes: x.votes, total: x.total, threshold: x.threshold, controllerVotes: x.votes, agentVotes: 0,
      reachableControllers: 1, configuredControllers: 2, reachableAgents: 0, registeredAgents: 0, reason: x.haveQuorum ? 'quorum' : 'below_threshold',
    };
    const d = decideWrite(r, { fenceWrites: x.fence, minAgentsForQuorum: 1 });
    if (d.allowed !== (x.haveQuorum || !x.fence)) throw new Error('allowed');
    if ((d.code === 'FENCED') !== !d.allowed) throw new Error('code');
    if (d.minorityWrite !== (d.allowed && !x.haveQuorum)) throw new Error('minorityWrite');
    if (!d.message.includes(`${x.votes} of ${x.total} votes, threshold ${x.threshold}`)) throw new Error('message');
    const s = quorumStatus('Healthy', r, { fenceWrites: x.fence, minAgentsForQuorum: 1 });
    if (s.writesFenced !== !d.allowed || s.readsAllowed !== true) throw new Error('status');
  }), runs(300));
});
