// The pure rules of AgentAssisted voter changes (quorum/agent-epochs.ts): joint accounting in the
// tally, agents refusing controllers behind the epoch they voted at, leases remembering the epoch
// they answered, and the knowers rule a proposer checks.
import t from 'tap';
import { AgentVoteState, countsByRegistry, knowersBlock, LeaseTable, quorumConfig, registryWait, tally } from '../../quorum/index.ts';

const cfg = (self: string, controllers: string[]) => quorumConfig({
  mode: 'AgentAssisted', self, controllers, controllerWeight: 10, agentWeight: 1, minAgentsForQuorum: 1, leaseMs: 1500, driftMarginMs: 100,
});
const agents = new Set(['x', 'y', 'z']);

t.test('joint accounting: after a voter change, quorum needs the threshold of the voters before it too', async (t) => {
  // c was promoted: voters a, b, c (total 33, threshold 17); before: a, b (total 23, threshold 12).
  const c = cfg('a', ['a', 'b', 'c']);
  const alone = tally(c, { reachableControllers: ['c'], leasedAgents: [], registeredAgents: agents });
  t.equal(alone.reason, 'quorum', 'a and c: 20 of 33 by the new voters');
  const joint = tally(c, { reachableControllers: ['c'], leasedAgents: [], registeredAgents: agents, priorControllers: ['a', 'b'] });
  t.equal(joint.haveQuorum, false);
  t.equal(joint.reason, 'prior_voters');
  t.match(joint.prior, { controllers: ['a', 'b'], votes: 10, total: 23, threshold: 12, reachableControllers: 1, haveQuorum: false }, 'c does not count among the voters before it');
  const withAgents = tally(c, { reachableControllers: ['c'], leasedAgents: ['x', 'y'], registeredAgents: agents, priorControllers: ['a', 'b'] });
  t.equal(withAgents.haveQuorum, true, 'a, c and two agents: 22 of 33, and 12 of 23 before');
  t.same(tally(c, { reachableControllers: ['c'], leasedAgents: [], registeredAgents: agents, priorControllers: ['a', 'b', 'c'] }).prior, undefined,
    'the same voters: no joint count');
  const controllersMode = quorumConfig({ self: 'a', controllers: ['a', 'b', 'c'] });
  t.equal(tally(controllersMode, { reachableControllers: ['c'], leasedAgents: [], registeredAgents: agents, priorControllers: ['a', 'b'] }).haveQuorum, true,
    'Controllers mode ignores it (a single-voter change keeps majorities intersecting)');
});

t.test('an agent refuses a controller on an epoch below one it voted at, and keeps the highest', async (t) => {
  const s = new AgentVoteState({ leaseMs: 1000, startedAtMs: 0, knownEpoch: 2 });
  t.match(s.request('a', 'a', 1000, 1), { granted: false, reason: 'old_epoch' });
  t.match(s.request('a', 'a', 1000, 2), { granted: true });
  t.match(s.request('a', 'a', 1100, 4), { granted: true });
  t.equal(s.knownEpoch, 4);
  t.match(s.request('a', 'a', 1200, 3), { granted: false, reason: 'old_epoch' }, 'not even a renewal to the controller it follows');
  t.equal(s.clone().knownEpoch, 4);
  t.equal(new AgentVoteState({ leaseMs: 1000, startedAtMs: 0 }).request('a', 'a', 1000).granted, true, 'a controller without a record asks at 0');
});

t.test('a lease remembers the epoch its grants answered', async (t) => {
  const lt = new LeaseTable({ leaseMs: 1500, driftMarginMs: 100, incarnation: 'i' });
  const ix = lt.requestSent('x', 0, 3)!;
  const iy = lt.requestSent('y', 0, 2)!;
  lt.grantReceived('x', ix, 1500, 10, 3);
  lt.grantReceived('y', iy, 1500, 10, 2);
  const iz = lt.requestSent('z', 10, 3)!;
  lt.grantReceived('z', iz, 1500, 20);
  t.same(lt.countedAgents(20), ['x', 'y', 'z']);
  t.same(lt.countedAtEpoch(20, 3), ['x'], 'z did not say it voted at 3 (an agent before vote-lease 3): its vote counts, not as one on the epoch');
  lt.grantReceived('y', lt.requestSent('y', 500, 3)!, 1500, 510, 3);
  t.same(lt.countedAtEpoch(600, 3), ['x', 'y'], 'renewed on the new epoch');
  t.same(lt.countedAtEpoch(2000, 3), [], 'nothing once the leases ended');


});

t.test('the knowers rule: those not known to be on the epoch cannot hold quorum among the voters before the change', async (t) => {
  // c was promoted at epoch 3 (voters a, b, c; before: a, b; total before 23, threshold 12). a proposes.
  const c = cfg('a', ['a', 'b', 'c']);
  const input = { epoch: 3, controllerEpochs: new Map([['b', 2], ['c', 3]]), agentsAtEpoch: ['x'], registeredAgents: agents, priorControllers: ['a', 'b'] };
  const k = knowersBlock(c, input);
  t.same(k.knownControllers, ['a', 'c'], 'b, still on epoch 2, is not known to be on 3');
  t.equal(k.blocked, false, 'b with y and z: 12 of 23, a quorum among a and b');
  t.match(k.outside, { votes: 12, total: 23, threshold: 12, haveQuorum: true });
  t.equal(knowersBlock(c, { ...input, agentsAtEpoch: ['x', 'y'] }).blocked, true, 'b with z alone: 11 of 23');
  t.equal(knowersBlock(c, { ...input, controllerEpochs: new Map([['b', 3]]) }).blocked, true, 'a and b known: no voter before the change is outside');
  // A two-datacenter federation that removed b, no agent registered: b alone is 10 of 20, threshold 11.
  const alone = cfg('a', ['a']);
  const none = new Set<string>();
  t.equal(knowersBlock(alone, { epoch: 2, controllerEpochs: new Map(), agentsAtEpoch: [], registeredAgents: none, priorControllers: ['a', 'b'] }).blocked, true,
    'the removed controller, not known to be on the epoch, cannot win alone');
});

t.test('the registry rules: when the registrar waits, and which registry a controller counts by', async (t) => {
  t.equal(registryWait({ pendingValue: false, joint: false, settling: false }), undefined);
  t.equal(registryWait({ pendingValue: true, joint: true, settling: true }), 'pending');
  t.equal(registryWait({ pendingValue: false, joint: true, settling: true }), 'joint');
  t.equal(registryWait({ pendingValue: false, joint: false, settling: true }), 'settling');
  t.ok(countsByRegistry(0, 1), 'written without a record');
  t.ok(countsByRegistry(3, 3));
  t.notOk(countsByRegistry(4, 3), 'written on a later epoch: behind, counts nothing');
});
