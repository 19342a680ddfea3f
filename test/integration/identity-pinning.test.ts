// Identity pinned both ways (issue 17 item 3). Impostors are real libp2p peers holding certificates a
// trusted CA really issued, with the name of a configured member but another key:
//   - inbound to a controller whose peers are down: refused (AUTH_MEMBER_PINNED), the controller stays
//     fenced whatever the impostor gossips;
//   - inbound while the real member is up, then gone: the real member's push stream keeps working;
//   - outbound (the controller dials the impostor): refused on the dialing side;
//   - an agent certificate with a controller's name, a controller certificate for a member in no
//     configuration (AUTH_MEMBER_UNKNOWN), a second key for a connected agent's name (AUTH_MEMBER_IN_USE);
//   - inbound to an agent, named after its primary (AgentAssisted): refused (the agent's configuration
//     knows its controllers by peer ID: AUTH_MEMBER_UNKNOWN), never granted the vote.
import t from 'tap';
import { multiaddr } from '@multiformats/multiaddr';
import type { AuthRefusal } from '../../node/auth/auth-service.ts';
import type { ControllerNode } from '../../node/controller/controller-node.ts';
import type { MembershipNode } from '../../node/membership/membership-node.ts';
import { voteLeaseProtocol, voteStreamOptions, type VoteReply } from '../../node/votes/vote-messages.ts';
import { MessageStream } from '../../node/wire/message-stream.ts';
import { agentFederation, route } from '../helpers/agent-federation.ts';
import { makeMember } from '../helpers/cert-fixtures.ts';
import { startRogue } from '../helpers/rogue-node.ts';
import { TEST_TIMERS } from '../helpers/test-timers.ts';
import { waitFor } from '../helpers/wait-for.ts';

const WAIT = { timeoutMs: 20_000 };
const C3 = ['us-west', 'eu-west', 'ap-east'];

const refused = (m: MembershipNode, code: AuthRefusal): number => m.counters().auth.refused[code];
const pushOf = (c: ControllerNode, member: string) => c.replicator.status().find((s) => s.member === member);

t.test('controllers: impostors with CA-issued certificates for configured names', async (t) => {
  const f = await agentFederation(t, { controllers: C3, agents: ['edge-1'], splitBrain: { mode: 'Controllers', fenceWrites: true, detectionDelayMs: 0 } });
  const us = f.controllers.get('us-west')!;
  const usAddr = f.plan.find((p) => p.name === 'us-west')!.addr;
  const describe = () => ({ tally: us.fence.tally(), auth: us.membership.counters().auth, push: us.replicator.status().map((s) => [s.member, s.connected]) });

  await t.test('inbound impostor while the real member is up: its real push stream keeps working after the impostor leaves', async (t) => {
    await waitFor('us-west pushes to both', () => us.fence.tally().haveQuorum && pushOf(us, 'eu-west')?.connected === true && pushOf(us, 'ap-east')?.connected === true, WAIT, describe);
    const impostor = await startRogue(t, f.fed, { member: await makeMember(f.fed, 'eu-west', 'controller') });
    const conn = await impostor.libp2p.dial(multiaddr(usAddr)).catch(() => undefined);
    // Whatever us-west made of it, the impostor goes away again.
    await waitFor('us-west decided about the impostor', () => refused(us.membership, 'AUTH_MEMBER_PINNED') > 0 || us.membership.auth.isAuthenticated(impostor.libp2p.peerId), WAIT);
    await conn?.close().catch(() => undefined);
    await impostor.libp2p.stop();
    await waitFor('the impostor is gone from us-west', () => us.membership.libp2p.getConnections(impostor.libp2p.peerId).length === 0, WAIT);
    t.ok(pushOf(us, 'eu-west')?.connected, 'the push stream to the real eu-west is still attached');
    // Pushed, not repaired by anti-entropy later: the push stream to the real eu-west still runs.
    const acked = pushOf(us, 'eu-west')!.recordsAcked;
    await us.apply(route('after-impostor'));
    await waitFor('the real eu-west acknowledges a push', () => pushOf(us, 'eu-west')!.recordsAcked > acked, { timeoutMs: 5_000 }, describe);
    t.ok(await f.controllers.get('eu-west')!.get('ProxyRoute/default/after-impostor'), 'the write is on the real eu-west');
  });

  await t.test('outbound: us-west dials a listener presenting ap-east\'s name', async (t) => {
    const impostor = await startRogue(t, f.fed, { member: await makeMember(f.fed, 'ap-east', 'controller') });
    const before = refused(us.membership, 'AUTH_MEMBER_PINNED');
    await us.membership.libp2p.dial(multiaddr(impostor.addr)).catch(() => undefined);
    await waitFor('refused on the dialing side', () => refused(us.membership, 'AUTH_MEMBER_PINNED') > before, WAIT, describe);
    t.notOk(us.membership.auth.isAuthenticated(impostor.libp2p.peerId), 'never authenticated');
  });

  await t.test('an agent certificate named after a controller', async (t) => {
    const impostor = await startRogue(t, f.fed, { member: await makeMember(f.fed, 'eu-west', 'agent') });
    const before = refused(us.membership, 'AUTH_MEMBER_PINNED');
    await impostor.libp2p.dial(multiaddr(usAddr)).catch(() => undefined);
    await waitFor('refused as AUTH_MEMBER_PINNED', () => refused(us.membership, 'AUTH_MEMBER_PINNED') > before, WAIT, describe);
    t.notOk(us.membership.auth.isAuthenticated(impostor.libp2p.peerId), 'never authenticated');
  });

  await t.test('a controller certificate for a member in no configuration is never a replication or voting peer', async (t) => {
    const stranger = await startRogue(t, f.fed, { member: await makeMember(f.fed, 'sa-east', 'controller') });
    t.teardown(stranger.spam(50));
    const before = refused(us.membership, 'AUTH_MEMBER_UNKNOWN');
    await stranger.libp2p.dial(multiaddr(usAddr)).catch(() => undefined);
    await waitFor('refused as AUTH_MEMBER_UNKNOWN', () => refused(us.membership, 'AUTH_MEMBER_UNKNOWN') > before, WAIT, describe);
    t.notOk(us.membership.auth.isAuthenticated(stranger.libp2p.peerId), 'never authenticated');
    t.notOk(us.replicator.status().some((s) => s.member === 'sa-east'), 'not a replication peer');
    t.notOk(us.fence.reachable().includes('sa-east'), 'not counted by the fence');
    t.notOk(us.membership.peer('sa-east'), 'not in the peer table');
  });

  await t.test('a second key for a connected agent\'s name', async (t) => {
    const agent = await f.startAgent('edge-1', ['us-west']);
    await waitFor('edge-1 authenticated to us-west', () => us.membership.auth.isAuthenticated(agent.membership.peerId), WAIT);
    const twin = await startRogue(t, f.fed, { member: await makeMember(f.fed, 'edge-1', 'agent') });
    const before = refused(us.membership, 'AUTH_MEMBER_IN_USE');
    await twin.libp2p.dial(multiaddr(usAddr)).catch(() => undefined);
    await waitFor('refused as AUTH_MEMBER_IN_USE', () => refused(us.membership, 'AUTH_MEMBER_IN_USE') > before, WAIT, describe);
    t.notOk(us.membership.auth.isAuthenticated(twin.libp2p.peerId), 'the twin never authenticated');
    await twin.libp2p.stop();
    t.ok(us.membership.auth.isAuthenticated(agent.membership.peerId), 'the real edge-1 still is');
  });
  // Last: the real members stop for good.
  await t.test('inbound impostor while the real members are down: refused, never counted', async (t) => {
    await f.stopController('eu-west');
    await f.stopController('ap-east');
    await waitFor('us-west fenced', () => !us.fence.tally().haveQuorum, WAIT, describe);
    const impostor = await startRogue(t, f.fed, { member: await makeMember(f.fed, 'eu-west', 'controller') });
    t.teardown(impostor.spam(50));
    const before = refused(us.membership, 'AUTH_MEMBER_PINNED');
    await impostor.libp2p.dial(multiaddr(usAddr)).catch(() => undefined);
    await waitFor('the impostor refused as AUTH_MEMBER_PINNED', () => refused(us.membership, 'AUTH_MEMBER_PINNED') > before, WAIT, describe);
    t.notOk(us.membership.auth.isAuthenticated(impostor.libp2p.peerId), 'never authenticated');
    t.notOk(us.fence.tally().haveQuorum, 'us-west still fenced');
    await t.rejects(us.apply(route('while-impostor')), { code: 'FENCED' }, 'writes still refused');
    t.notOk(us.fence.reachable().includes('eu-west'), 'eu-west not reached');
  });

});

t.test('agents: an impostor named after the primary never gets the vote lease', async (t) => {
  const f = await agentFederation(t, {
    controllers: ['c-a', 'c-b'], agents: ['a1'],
    splitBrain: { mode: 'AgentAssisted', controllerWeight: 10, agentWeight: 1, minAgentsForQuorum: 1, leaseMs: 1500, driftMarginMs: 100, detectionDelayMs: 0 },
  });
  const agent = await f.startAgent('a1', ['c-a', 'c-b']);
  await waitFor('a1 grants its vote to c-a', () => agent.votes.status().holder === 'c-a', WAIT, () => agent.votes.status());
  const impostor = await startRogue(t, f.fed, { member: await makeMember(f.fed, 'c-a', 'controller') });
  const before = refused(agent.membership, 'AUTH_MEMBER_UNKNOWN');
  const grantedBefore = agent.votes.counters.granted;
  // The impostor asks for a1's vote the way c-a does.
  const reply = await (async (): Promise<VoteReply | Error> => {
    try {
      const stream = await impostor.libp2p.dialProtocol(multiaddr(f.plan.find((p) => p.name === 'a1')!.addr), voteLeaseProtocol(f.fed.id));
      const ms = new MessageStream(stream, voteStreamOptions(TEST_TIMERS, 3_000));
      await ms.write({ t: 'request', id: 'impostor/1', v: 1 });
      return await ms.read() as VoteReply;
    } catch (e) {
      return e instanceof Error ? e : new Error(String(e));
    }
  })();
  t.comment(`the impostor's vote request: ${reply instanceof Error ? `failed (${reply.message})` : JSON.stringify(reply)}`);
  t.ok(reply instanceof Error || reply.t !== 'grant', 'no grant for the impostor');
  await waitFor('a1 refused the impostor as AUTH_MEMBER_UNKNOWN', () => refused(agent.membership, 'AUTH_MEMBER_UNKNOWN') > before, WAIT, () => agent.membership.counters().auth);
  t.notOk(agent.membership.auth.isAuthenticated(impostor.libp2p.peerId), 'never authenticated on a1');
  t.ok(agent.votes.counters.granted >= grantedBefore, 'a1 keeps granting to the real c-a');
  await waitFor('the real c-a still holds the lease', () => agent.votes.status().holder === 'c-a', WAIT, () => agent.votes.status());
});
