// Agents learn the controller set live (issue 21): an agent configured with ctl-a and ctl-b alone
// reads the controller directory from the controller it follows, so a controller added to the
// federation (ctl-d, ctl-e) becomes a failover candidate with the priority of its region or the
// learned default, a removed one (ctl-e learned, ctl-b configured) stops being a candidate and is
// no longer probed nor connected, and when ctl-a stops the agent fails over to ctl-d, which its
// configuration never named, and keeps receiving what is written.
import t from 'tap';
import type { AgentControllerStatus, AgentNode } from '../../node/agent/agent-node.ts';
import { agentFederation, route } from '../helpers/agent-federation.ts';
import { waitFor } from '../helpers/wait-for.ts';
import { joinSignal, method } from '../helpers/admin-call.ts';

const CONTROLLERS = ['ctl-a', 'ctl-b', 'ctl-c'];


function entry(agent: AgentNode, name: string): AgentControllerStatus | undefined {
  return agent.status().controllers.find((c) => c.name === name);
}

// The candidates the agent's follow machine holds (peer IDs), through its status: probed ones are healthy once checked.
function describe(agent: AgentNode): unknown {
  const s = agent.status();
  return { state: s.state, controller: s.controller, directory: s.directory, controllers: s.controllers.map((c) => [c.name, c.priority, c.healthy, c.learned, c.denied]) };
}

t.test('an agent learns added controllers as failover candidates, drops removed ones, and fails over to one it was never configured with', async (t) => {
  const f = await agentFederation(t, { controllers: CONTROLLERS, agents: ['edge-1'], joiners: ['ctl-d', 'ctl-e'], pinned: true });
  const [a, c] = [f.controllers.get('ctl-a')!, f.controllers.get('ctl-c')!];
  const base = f.agentConfig('edge-1', ['ctl-a', 'ctl-b']);
  const agent = await f.startAgent('edge-1', ['ctl-a', 'ctl-b'], { controllers: { ...base.controllers, learned: { regions: { 'ap-south': 150 } } } });
  await waitFor('the agent follows ctl-a', () => agent.state === 'Connected' && agent.status().controller === 'ctl-a', { timeoutMs: 15_000 }, () => describe(agent));
  await waitFor('the agent read the directory', () => agent.status().directory.epoch === 1, { timeoutMs: 10_000 }, () => describe(agent));
  t.same(agent.status().controllers.map((x) => x.name), ['ctl-a', 'ctl-b'], 'the first record lists no endpoint: nothing to learn');

  // ctl-d is added (and promoted once caught up); the agent learns it without a restart.
  const d = f.plan.find((p) => p.name === 'ctl-d')!;
  const joining = f.startJoiner('ctl-d', ['ctl-c'], joinSignal(t));
  await method(a, 'federation.members.add')({ name: 'ctl-d', peerId: d.peerId.toString(), endpoints: [d.addr.replace(/\/p2p\/.*$/, '')], region: 'ap-south' });
  await joining;
  await waitFor('ctl-d is a voter on every controller', () =>
    [...f.controllers.values()].every((x) => x.members?.committed.voters.includes('ctl-d') === true), { timeoutMs: 20_000 });
  const learnedD = await waitFor('the agent learned ctl-d, and probes it', () => {
    const e = entry(agent, 'ctl-d');
    return e?.healthy === true ? e : undefined;
  }, { timeoutMs: 15_000 }, () => describe(agent));
  t.equal(learnedD.learned, true, 'marked learned');
  t.equal(learnedD.priority, 150, 'the priority of its region');
  t.equal(learnedD.peerId, d.peerId.toString());
  t.equal(learnedD.endpoint, d.addr, 'dialed at the endpoint the record lists');
  t.equal(agent.status().controller, 'ctl-a', 'the configured primary stays preferred');

  // ctl-e is added as a learner (no region: the learned default), learned, then removed: dropped.
  const e = f.plan.find((p) => p.name === 'ctl-e')!;
  const joiningE = f.startJoiner('ctl-e', ['ctl-c'], joinSignal(t));
  await method(a, 'federation.members.add')({ name: 'ctl-e', peerId: e.peerId.toString(), endpoints: [e.addr.replace(/\/p2p\/.*$/, '')], promote: false });
  await joiningE;
  const learnedE = await waitFor('the agent learned ctl-e', () => entry(agent, 'ctl-e'), { timeoutMs: 15_000 }, () => describe(agent));
  t.equal(learnedE.priority, 200, 'the default priority of a learned controller: after the configured ones');
  await method(a, 'federation.members.remove')({ name: 'ctl-e', force: true });
  await waitFor('the agent dropped ctl-e', () => entry(agent, 'ctl-e') === undefined, { timeoutMs: 15_000 }, () => describe(agent));
  await waitFor('the agent is not connected to ctl-e', () => agent.membership.authenticatedPeers().every((p) => p.member !== 'ctl-e'), { timeoutMs: 10_000 });

  // ctl-b, a configured secondary, is removed: its peer ID is denied, it stops being a candidate.
  await method(a, 'federation.members.remove')({ name: 'ctl-b', force: true });
  await waitFor('the agent marks ctl-b denied', () => entry(agent, 'ctl-b')?.denied === true, { timeoutMs: 15_000 }, () => describe(agent));
  await waitFor('the agent is not connected to ctl-b', () => agent.membership.authenticatedPeers().every((p) => p.member !== 'ctl-b'), { timeoutMs: 10_000 });
  t.equal(entry(agent, 'ctl-b')?.healthy, false, 'no longer probed: never healthy again');
  t.equal(agent.status().directory.refused, 0, 'no directory refused');

  // ctl-a stops: the only candidate left is ctl-d, which the configuration never named.
  await f.stopController('ctl-a');
  await waitFor('the agent fails over to ctl-d', () => agent.state === 'Connected' && agent.status().controller === 'ctl-d', { timeoutMs: 20_000 }, () => describe(agent));
  t.ok(agent.status().failovers >= 1);
  await c.apply(route('after-failover'));
  await waitFor('the agent receives a write made on ctl-c through ctl-d', async () => (await agent.get('ProxyRoute/default/after-failover')) !== undefined, { timeoutMs: 15_000 }, () => describe(agent));
  t.notOk(agent.membership.authenticatedPeers().some((p) => p.member === 'ctl-b'), 'ctl-b stays out');
});
