// Live voter changes in AgentAssisted mode (quorum/agent-epochs.ts), with real agents: two
// datacenters (c-a with a1 and a2, c-b with a3) add a third controller from a bootstrap address, which
// is promoted once caught up; the record of the promotion keeps the voters before it and the fence
// counts by both until the controllers finish the change; the agents vote on the new epoch and keep
// it across a restart; then c-a is removed, its agents fail over, and c-b and c-c write.
import t from 'tap';
import type { MembersAddResult, MembersRemoveResult } from '../../node/admin/controller-api.ts';
import type { ControllerNode } from '../../node/controller/controller-node.ts';
import type { SplitBrainConfig } from '../../node/controller/write-fence.ts';
import { agentFederation, mustWrite, route } from '../helpers/agent-federation.ts';
import { joinSignal, method } from '../helpers/admin-call.ts';
import { waitFor } from '../helpers/wait-for.ts';

const LEASE_MS = 1500;
const SPLIT_BRAIN: SplitBrainConfig = {
  mode: 'AgentAssisted', controllerWeight: 10, agentWeight: 1, minAgentsForQuorum: 1, leaseMs: LEASE_MS, driftMarginMs: 100, detectionDelayMs: 0,
};
const WAIT = { timeoutMs: 30_000 };

t.test('AgentAssisted: a controller is added, promoted, the change finished, and another removed; agents vote on the new epochs', async (t) => {
  const f = await agentFederation(t, { controllers: ['c-a', 'c-b'], agents: ['a1', 'a2', 'a3'], joiners: ['c-c'], pinned: true, splitBrain: SPLIT_BRAIN });
  const [ca, cb] = [f.controllers.get('c-a')!, f.controllers.get('c-b')!];
  await f.startAgent('a1', ['c-a', 'c-b']);
  await f.startAgent('a2', ['c-a', 'c-b']);
  await f.startAgent('a3', ['c-b', 'c-a']);
  await waitFor('three agents registered and counted', () =>
    [ca, cb].every((c) => c.agentVotes!.registeredAgents().size === 3) && ca.agentVotes!.collector.countedAgents().length === 2, WAIT);
  await mustWrite(ca, 'before');

  const c = f.plan.find((p) => p.name === 'c-c')!;
  const joining = f.startJoiner('c-c', ['c-a'], joinSignal(t));
  const added = await method(cb, 'federation.members.add')({ name: 'c-c', peerId: c.peerId.toString(), endpoints: c.addr }) as MembersAddResult;
  t.equal(added.epoch, 2, 'added as a learner at epoch 2');
  const cc = await joining;

  // Promoted once caught up (epoch 3, the voters before it kept), then finished (epoch 4).
  const all = (): ControllerNode[] => [...f.controllers.values()];
  await waitFor('c-c promoted on every controller', () => all().every((n) => n.members!.committed.voters.includes('c-c')), WAIT);
  const promoted = all().map((n) => n.members!.committed).find((r) => r.epoch === 3);
  if (promoted !== undefined) t.same(promoted.priorVoters, ['c-a', 'c-b'], 'the promotion record keeps the voters before it');
  await waitFor('the change finished on every controller', () => all().every((n) => n.members!.committed.epoch >= 4 && n.members!.committed.priorVoters === undefined), WAIT,
    () => all().map((n) => [n.membership.memberName, n.members!.committed.epoch, n.members!.committed.priorVoters]));
  t.same(ca.fence.tally().prior, undefined, 'counted by the new voters alone');
  t.equal(ca.fence.tally().total, 3 * 10 + 3, 'three controllers and three agents in the total');
  for (const a of ['a1', 'a2', 'a3']) t.ok(f.agents.get(a)!.votes.status().knownEpoch >= 3, `${a} has voted on the new voters' epoch`);
  await mustWrite(cc, 'on-c-c');

  // An agent keeps the epoch it voted at across a restart, and refuses a controller behind it.
  const known = f.agents.get('a3')!.votes.status().knownEpoch;
  await f.agents.get('a3')!.stop();
  const a3 = await f.startAgent('a3', ['c-b', 'c-a']);
  t.equal(a3.votes.status().knownEpoch, known, 'restored from its database');
  await waitFor('a3 votes again (after its first lease of quiet)', () => a3.votes.status().holder === 'c-b', WAIT);
  const behind = a3.votes.answer('c-b', { t: 'request', id: 'x/1', v: 3, epoch: 1 });
  t.match(behind, { t: 'refused', reason: 'old_epoch' }, 'a request on an older epoch is refused');

  // Remove c-a: voters c-b and c-c; its agents fail over; c-b writes with them.
  const removed = await method(cb, 'federation.members.remove')({ name: 'c-a' }) as MembersRemoveResult;
  t.same(removed.voters, ['c-b', 'c-c']);
  await waitFor('c-a knows it was removed', () => ca.members!.removed, WAIT);
  await t.rejects(ca.apply(route('on-removed')), { code: 'FENCED', message: /c-a was removed from the federation/ },
    'a removed controller refuses writes, though its agents\' leases still count for a while');
  await waitFor('the removal finished on c-b and c-c', () => [cb, cc].every((n) => n.members!.committed.priorVoters === undefined && n.members!.committed.epoch >= 6), WAIT,
    () => [cb, cc].map((n) => [n.members!.committed.epoch, n.members!.committed.priorVoters, n.fence.knowersBlock()]));
  await waitFor('a1 and a2 left c-a', () => ['a1', 'a2'].every((a) => f.agents.get(a)!.status().controller !== 'c-a'), WAIT);
  await mustWrite(cb, 'after-remove');
  t.equal(cb.fence.tally().total, 2 * 10 + 3, 'two controllers and three agents in the total');
});
