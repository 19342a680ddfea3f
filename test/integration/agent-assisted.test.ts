// AgentAssisted quorum with real agents over libp2p: the guide's two-datacenter setup (c-a with agents
// a1-a3, c-b with a4-a5; controller weight 10, agent weight 1). The controllers are cut apart: exactly
// one side holds quorum (13 of 25 against 12). Then a4 and a5 lose c-b and fail over to c-a: their
// votes move to c-a only after the lease c-b held expired on the agents' clocks, and c-b stops counting
// them before that; no instant has both counting the same agent. Heal: both unfenced, stores converge.
// One process, so every node shares the monotonic clock and the lease instants compare directly.
import t from 'tap';
import { monotonicMs } from '../../node/util/clock.ts';
import type { AgentsResult } from '../../node/admin/controller-api.ts';
import { controllerMethods } from '../../node/admin/controller-methods.ts';
import { createNodeRegistry } from '../../node/metrics/node-registry.ts';
import type { ControllerNode } from '../../node/controller/controller-node.ts';
import type { SplitBrainConfig } from '../../node/controller/write-fence.ts';
import { agentFederation, mustWrite, route } from '../helpers/agent-federation.ts';
import { waitFor } from '../helpers/wait-for.ts';

const C = ['c-a', 'c-b'];
const DC_A = ['a1', 'a2', 'a3'];
const DC_B = ['a4', 'a5'];
const LEASE_MS = 1500;
const SPLIT_BRAIN: SplitBrainConfig = {
  mode: 'AgentAssisted', controllerWeight: 10, agentWeight: 1, minAgentsForQuorum: 1,
  leaseMs: LEASE_MS, driftMarginMs: 100, detectionDelayMs: 0,
};
const RENEW_MS = Math.floor(LEASE_MS / 3);
const WAIT = { timeoutMs: 30_000 };

t.test('two datacenters, real agents: one side holds quorum; votes move only after the old lease expired', async (t) => {
  const f = await agentFederation(t, { controllers: C, agents: [...DC_A, ...DC_B], splitBrain: SPLIT_BRAIN, replication: { strategy: 'Manual' } });
  const ca = f.controllers.get('c-a')!;
  const cb = f.controllers.get('c-b')!;
  for (const a of DC_A) await f.startAgent(a, ['c-a', 'c-b']);
  for (const a of DC_B) await f.startAgent(a, ['c-b', 'c-a']);
  const votesOf = (c: ControllerNode) => c.agentVotes!;
  const describe = () => ({
    ca: { registry: votesOf(ca).status(), leased: votesOf(ca).collector.countedAgents(), tally: ca.fence.tally() },
    cb: { registry: votesOf(cb).status(), leased: votesOf(cb).collector.countedAgents(), tally: cb.fence.tally() },
  });

  await waitFor('all five registered on both controllers', () => [ca, cb].every((c) => votesOf(c).registeredAgents().size === 5), WAIT, describe);
  t.same(votesOf(cb).status().agents, [...DC_A, ...DC_B], 'the registry replicated to c-b');
  await waitFor('each controller counts its own agents', () =>
    votesOf(ca).collector.countedAgents().join() === DC_A.join() && votesOf(cb).collector.countedAgents().join() === DC_B.join(), WAIT, describe);
  t.same((await ca.list({ namespace: 'novaedge-system' })).length, 0, 'the registry record is not listed as a user resource');
  t.same(await ca.conflicts(), [], 'and never becomes a conflict, even under Manual');
  const listed = (await controllerMethods(ca)['agents.list']!.handler({})) as AgentsResult;
  t.same(listed.agents.map((a) => [a.name, a.registered, a.voteHere]),
    [...DC_A.map((a) => [a, true, true]), ...DC_B.map((a) => [a, true, false])], 'agents list: registered, and whose vote c-a holds');
  const metrics = await createNodeRegistry({ info: { federationId: 'x', member: 'c-a', role: 'controller', peerId: 'p' }, controller: ca }).metrics();
  t.match(metrics, /novaedge_federation_registered_agents 5\n/);
  t.match(metrics, /novaedge_federation_agent_leases 3\n/);
  t.match(metrics, /novaedge_federation_quorum_votes\{kind="held"\} 23\n/, 'c-a: 2 controllers x 10 + its 3 agents');

  // ---- the controllers cut apart --------------------------------------------------------------
  await Promise.all([ca.cutLink('c-b', 'both'), cb.cutLink('c-a', 'both')]);
  await waitFor('c-b fenced, c-a holding quorum', () => {
    const a = ca.fence.tally();
    const b = cb.fence.tally();
    return a.haveQuorum && a.votes === 13 && !b.haveQuorum && b.votes === 12;
  }, WAIT, describe);
  const sa = ca.status().quorum;
  t.match(sa, { quorumMode: 'AgentAssisted', ourVotes: 13, totalVotes: 25, threshold: 13, haveQuorum: true, reachableAgents: 3, writesFenced: false });
  const sb = cb.status().quorum;
  t.match(sb, { quorumMode: 'AgentAssisted', ourVotes: 12, totalVotes: 25, threshold: 13, haveQuorum: false, reachableAgents: 2, writesFenced: true });
  await mustWrite(ca, 'during-cut');
  await t.rejects(cb.apply(route('minority')), { code: 'FENCED', message: /12 of 25 votes, threshold 13/ }, 'the minority refuses writes');
  t.equal(await cb.get('ProxyRoute/default/minority'), undefined, 'nothing stored on a fenced write');

  // ---- a4 and a5 lose c-b and fail over to c-a -------------------------------------------------
  const cbExpiry = new Map<string, number>();
  const cbValidUntil = new Map<string, number>();
  const firstCa = new Map<string, number>();
  let bothCounted = 0;
  const sample = (): void => {
    const now = monotonicMs();
    for (const a of DC_B) {
      const held = f.agents.get(a)!.votes.held(now);
      if (held?.controller === 'c-b') cbExpiry.set(a, Math.max(cbExpiry.get(a) ?? 0, held.expiresAtMs));
      const until = votesOf(cb).collector.table.validUntilMs(a);
      if (until !== undefined) cbValidUntil.set(a, Math.max(cbValidUntil.get(a) ?? 0, until));
      const byA = votesOf(ca).collector.counts(a, now);
      const byB = votesOf(cb).collector.counts(a, now);
      if (byA && byB) bothCounted++;
      if (byA && !firstCa.has(a)) firstCa.set(a, now);
    }
  };
  const sampler = setInterval(sample, 2);
  t.teardown(() => clearInterval(sampler));
  sample();
  const cutAt = monotonicMs();
  await Promise.all(DC_B.map((a) => cb.cutLink(a, 'both')));
  await waitFor('a4 and a5 follow c-a', () => DC_B.every((a) => f.agents.get(a)!.status().controller === 'c-a'), WAIT);
  await waitFor('c-a counts a4 and a5', () => DC_B.every((a) => firstCa.has(a)), WAIT, describe);
  clearInterval(sampler);
  t.equal(bothCounted, 0, 'no instant where both controllers counted the same agent');
  for (const a of DC_B) {
    const expiry = cbExpiry.get(a)!;
    t.ok(expiry !== undefined, `${a} held a lease for c-b before the cut`);
    t.ok(cbValidUntil.get(a)! <= expiry, `c-b stopped counting ${a} ${(expiry - cbValidUntil.get(a)!).toFixed(0)} ms before the agent freed its vote`);
    t.ok(firstCa.get(a)! >= expiry, `c-a counted ${a} only after c-b's lease expired (${(firstCa.get(a)! - expiry).toFixed(0)} ms after)`);
    // c-a asks every renew period (lease / 3), so the vote moves within one period after it frees;
    // the slack is for a loaded CI machine, not for the protocol.
    t.ok(firstCa.get(a)! - expiry <= RENEW_MS + 5_000, `${a} counted by c-a within a renew period (+ slack) of being free`);
    t.comment(`${a}: vote moved to c-a ${(firstCa.get(a)! - cutAt).toFixed(0)} ms after the cut (lease ${LEASE_MS} ms)`);
  }
  await waitFor('c-a 15 votes, c-b 10', () => ca.fence.tally().votes === 15 && cb.fence.tally().votes === 10, WAIT, describe);

  // ---- heal -----------------------------------------------------------------------------------
  ca.restoreLink('c-b');
  cb.restoreLink('c-a');
  for (const a of DC_B) cb.restoreLink(a);
  await waitFor('both unfenced', () => ca.fence.tally().haveQuorum && cb.fence.tally().haveQuorum &&
    ca.fence.reachable().length === 2 && cb.fence.reachable().length === 2, WAIT, describe);
  await mustWrite(cb, 'after-heal');
  await waitFor('stores converge', async () => ca.store.merkle.root() === cb.store.merkle.root() &&
    (await cb.get('ProxyRoute/default/during-cut')) !== undefined && (await ca.get('ProxyRoute/default/after-heal')) !== undefined, WAIT);
  t.equal(votesOf(ca).status().version, votesOf(cb).status().version, 'one registry version on both');
});
