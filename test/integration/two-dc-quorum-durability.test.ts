// `durability: quorum` with the guide's two datacenters (AgentAssisted, one controller each, agents
// voting), over real libp2p: a quorum-durable write needs both controllers (agents hold no durable
// copies). Cut apart, the side holding the vote quorum takes `local` writes, and a `quorum` write
// there fails at once with QUORUM_UNAVAILABLE, storing nothing, instead of waiting out a deadline.
import t from 'tap';
import type { ControllerNode } from '../../node/controller/controller-node.ts';
import type { SplitBrainConfig } from '../../node/controller/write-fence.ts';
import { agentFederation, route } from '../helpers/agent-federation.ts';
import { waitFor } from '../helpers/wait-for.ts';

const C = ['c-a', 'c-b'];
const SPLIT_BRAIN: SplitBrainConfig = {
  mode: 'AgentAssisted', controllerWeight: 10, agentWeight: 1, minAgentsForQuorum: 1,
  leaseMs: 1500, driftMarginMs: 100, detectionDelayMs: 0,
};
const WAIT = { timeoutMs: 30_000 };

t.test('two datacenters cut apart: quorum durability is unavailable at once on the side holding the votes', async (t) => {
  // A quorum deadline of a minute: an answer within the test is the reachability check.
  const f = await agentFederation(t, { controllers: C, agents: ['a1', 'a2', 'a3'], splitBrain: SPLIT_BRAIN, replication: { sync: { quorumTimeoutMs: 60_000 } } });
  const ca = f.controllers.get('c-a')!;
  const cb = f.controllers.get('c-b')!;
  for (const a of ['a1', 'a2']) await f.startAgent(a, ['c-a', 'c-b']);
  await f.startAgent('a3', ['c-b', 'c-a']);
  const votes = (c: ControllerNode) => c.agentVotes!;
  await waitFor('agents registered and leased', () => [ca, cb].every((c) => votes(c).registeredAgents().size === 3) &&
    votes(ca).collector.countedAgents().length === 2, WAIT, () => ca.fence.tally());
  // Retried while a loaded machine's failure detector briefly loses c-b (the write then fails at once
  // with QUORUM_UNAVAILABLE, or FENCED when a lease lapsed): what is tested here is the acknowledgement.
  // (Each try writes a new version: a retry of the same content would change nothing, and a write that
  // changes nothing does not wait for a quorum.)
  let attempt = 0;
  const before = await waitFor('a quorum write acknowledged while connected', () => ca.apply(route('before', { attempt: attempt++ }), { durability: 'quorum' }).catch((e: { code?: string }) => {
    if (e.code === 'QUORUM_UNAVAILABLE' || e.code === 'FENCED') return undefined;
    throw e;
  }), WAIT);
  t.ok(before.changed, 'connected: a quorum write is acknowledged (both controllers hold it)');
  t.ok(await cb.get('ProxyRoute/default/before'), 'c-b holds it');

  await Promise.all([ca.cutLink('c-b', 'both'), cb.cutLink('c-a', 'both')]);
  await waitFor('c-a holds the vote quorum alone', () => ca.fence.tally().haveQuorum && ca.fence.reachable().length === 1 && !cb.fence.tally().haveQuorum,
    WAIT, () => [ca.fence.tally(), cb.fence.tally()]);
  const err = await ca.apply(route('q'), { durability: 'quorum' }).then(() => undefined, (e: unknown) => e);
  t.match(err, { code: 'QUORUM_UNAVAILABLE', stored: false, message: /QUORUM_UNAVAILABLE: needs 2 of 2 controllers, 1 reachable; nothing was stored/ });
  t.equal(await ca.get('ProxyRoute/default/q'), undefined, 'nothing stored');
  const local = await waitFor('c-a takes a local write', () => ca.apply(route('local')).catch((e: { code?: string }) => {
    if (e.code === 'FENCED') return undefined; // a loaded machine may let a lease lapse for a moment
    throw e;
  }), WAIT);
  t.ok(local.changed, 'the side holding the votes still takes local writes');
  await t.rejects(cb.apply(route('q'), { durability: 'quorum' }), { code: 'FENCED' }, 'the other side is fenced');
});
