// The membership record on running controllers: every controller starts from the configured
// controllers, a deny committed on one reaches every controller (a controller that was down catches
// up when it reconnects), and a denied identity is dropped and refused everywhere, whatever its
// certificate. A controller without a majority of the voters commits nothing.
import t from 'tap';
import { controllerMethods } from '../../node/admin/controller-methods.ts';
import type { MembersDenyResult, MembersListResult, MembersRemoveResult } from '../../node/admin/controller-api.ts';
import { agentFederation, route } from '../helpers/agent-federation.ts';
import { waitFor } from '../helpers/wait-for.ts';

const CONTROLLERS = ['ctl-a', 'ctl-b', 'ctl-c'];

t.test('a deny committed on one controller is enforced by all, and reaches one that was down', async (t) => {
  const f = await agentFederation(t, { controllers: CONTROLLERS, agents: ['edge-1'], pinned: true });
  const a = f.controllers.get('ctl-a')!;
  for (const c of f.controllers.values()) {
    t.same(c.members?.committed.voters, CONTROLLERS, `${c.membership.memberName} starts from the configured controllers`);
    t.equal(c.members?.committed.epoch, 1);
  }
  const edge = f.plan.find((p) => p.name === 'edge-1')!;
  const agent = await f.startAgent('edge-1', ['ctl-a', 'ctl-b']);
  await waitFor('agent connected to ctl-a', () => a.membership.authenticatedPeers().some((p) => p.member === 'edge-1'), { timeoutMs: 10_000 });

  await f.stopController('ctl-c');
  const methods = controllerMethods(a);
  const denied = await methods['federation.members.deny']!.handler({ peerId: edge.peerId.toString(), name: 'edge-1', role: 'agent' }) as MembersDenyResult;
  t.equal(denied.epoch, 2);
  t.same(denied.denied, { peerId: edge.peerId.toString(), name: 'edge-1', role: 'agent', sinceEpoch: 2 });
  const b = f.controllers.get('ctl-b')!;
  t.equal(b.members?.committed.epoch, 2, 'the other voter committed it too');

  await waitFor('the agent is dropped by every controller up', () =>
    [a, b].every((c) => !c.membership.authenticatedPeers().some((p) => p.member === 'edge-1')), { timeoutMs: 10_000 });
  // It keeps trying its controllers (failover): each try is refused.
  const refusals = (): number => [a, b].reduce((n, c) => n + c.membership.auth.counters().denied + c.membership.auth.counters().refused.AUTH_REVOKED, 0);
  const before = refusals();
  await waitFor('the agent is refused again', () => refusals() > before, { timeoutMs: 15_000 });
  t.notOk(agent.membership.authenticatedPeers().some((p) => p.role === 'controller'), 'the denied agent has no controller');

  const c = await f.startController('ctl-c');
  // Well within the periodic round (MEMBERS_SYNC_INTERVAL_MS): it asks when a controller connects.
  await waitFor('ctl-c catches up with the record', () => c.members?.committed.epoch === 2, { timeoutMs: 5_000 });
  t.ok(c.members?.isRevoked(edge.peerId.toString()), 'ctl-c refuses the agent too');
  const list = await controllerMethods(c)['federation.members.list']!.handler({}) as MembersListResult;
  t.same(list.record.denied.map((d) => d.name), ['edge-1']);
  t.same(list.connected, CONTROLLERS);
  await t.rejects(methods['federation.members.deny']!.handler({ peerId: edge.peerId.toString(), name: 'edge-1', role: 'agent' }), { code: 'INVALID_ARGUMENT' }, 'denied twice');
});

t.test('a removed controller stops counting, is refused everywhere, and its agents fail over; the others keep writing', async (t) => {
  const f = await agentFederation(t, { controllers: CONTROLLERS, agents: ['edge-3'], pinned: true, splitBrain: {} });
  const [a, b, c] = CONTROLLERS.map((n) => f.controllers.get(n)!);
  const agent = await f.startAgent('edge-3', ['ctl-c', 'ctl-a']);
  await waitFor('the agent follows ctl-c', () => c!.membership.authenticatedPeers().some((p) => p.member === 'edge-3'), { timeoutMs: 10_000 });
  const methods = controllerMethods(a!);
  await t.rejects(methods['federation.members.remove']!.handler({ name: 'ctl-a' }), { code: 'INVALID_ARGUMENT', data: { cause: 'SELF' } }, 'not itself');
  await t.rejects(methods['federation.members.remove']!.handler({ name: 'ctl-x' }), { code: 'NOT_FOUND' });

  const r = await methods['federation.members.remove']!.handler({ name: 'ctl-c' }) as MembersRemoveResult;
  t.equal(r.epoch, 2, 'one epoch on');
  t.same(r.voters, ['ctl-a', 'ctl-b'], 'two voters left');
  t.equal(r.removed.name, 'ctl-c', 'the removed controller');
  t.equal(r.drained, true, 'drained first: it was connected');
  await waitFor('ctl-c learns it was removed', () => c!.members?.removed === true, { timeoutMs: 5_000 });
  await waitFor('ctl-c is cut off from everyone', () => c!.membership.authenticatedPeers().length === 0, { timeoutMs: 10_000 });
  await waitFor('the agent fails over to ctl-a', () => a!.membership.authenticatedPeers().some((p) => p.member === 'edge-3'), { timeoutMs: 15_000 });
  await waitFor('the agent has left ctl-c', () => agent.membership.authenticatedPeers().every((p) => p.member !== 'ctl-c'), { timeoutMs: 5_000 });
  await a!.ready({ timeoutMs: 10_000 });
  const w = await a!.apply(route('after-remove'), { durability: 'quorum' });
  t.same(w.acknowledgedBy?.sort(), ['ctl-a', 'ctl-b'], 'a quorum write is acknowledged by the two left');
  const list = await controllerMethods(b!)['federation.members.list']!.handler({}) as MembersListResult;
  t.same(list.record.controllers.map((x) => x.name), ['ctl-a', 'ctl-b']);
  t.same(list.record.denied.map((d) => [d.name, d.role]), [['ctl-c', 'controller']], 'its identity is denied: it cannot come back with it');
  await t.rejects(c!.apply(route('from-removed'), { durability: 'quorum' }), 'the removed controller accepts no quorum write');
});

t.test('a controller removed while it was down learns it from the refusals of a majority, and takes itself out', async (t) => {
  const f = await agentFederation(t, { controllers: CONTROLLERS, agents: ['edge-4'], pinned: true, splitBrain: {} });
  const a = f.controllers.get('ctl-a')!;
  await f.startAgent('edge-4', ['ctl-c', 'ctl-a']);
  await waitFor('the agent follows ctl-c', () => f.controllers.get('ctl-c')!.membership.authenticatedPeers().some((p) => p.member === 'edge-4'), { timeoutMs: 10_000 });
  await f.stopController('ctl-c');
  await t.rejects(controllerMethods(a)['federation.members.remove']!.handler({ name: 'ctl-c' }), { code: 'UNAVAILABLE', data: { cause: 'NOT_CONNECTED' } }, 'not without force');
  const r = await controllerMethods(a)['federation.members.remove']!.handler({ name: 'ctl-c', force: true }) as MembersRemoveResult;
  t.equal(r.epoch, 2, 'removed while down');
  t.equal(r.drained, false);
  const c = await f.startController('ctl-c');
  t.equal(c.members?.committed.epoch, 1, 'it never got the record');
  // It hears AUTH_REVOKED from each voter it dials; a dial refused without a word (the voter's
  // temporary deny, authDenyMs = 10 s, after an earlier refusal) is heard again only after that, so a
  // loaded machine may take two deny periods.
  await waitFor('ctl-c takes itself out', () => c.members?.removed === true, { timeoutMs: 30_000 });
  t.equal(c.members?.committed.epoch, 1, 'from the refusals alone');
  await waitFor('ctl-c is cut off from everyone', () => c.membership.authenticatedPeers().length === 0, { timeoutMs: 10_000 });
  await waitFor('the agent follows ctl-a', () => a.membership.authenticatedPeers().some((p) => p.member === 'edge-4'), { timeoutMs: 15_000 });
  t.ok(a.membership.auth.counters().refused.AUTH_REVOKED + f.controllers.get('ctl-b')!.membership.auth.counters().refused.AUTH_REVOKED >= 2, 'both refused it as revoked');
});

t.test('a controller cut off from the majority of voters commits nothing', async (t) => {
  const f = await agentFederation(t, { controllers: CONTROLLERS, agents: ['edge-2'], pinned: true });
  const a = f.controllers.get('ctl-a')!;
  const edge = f.plan.find((p) => p.name === 'edge-2')!;
  await f.stopController('ctl-b');
  await f.stopController('ctl-c');
  await t.rejects(controllerMethods(a)['federation.members.deny']!.handler({ peerId: edge.peerId.toString(), name: 'edge-2', role: 'agent' }),
    { code: 'FENCED' });
  t.equal(a.members?.committed.epoch, 1, 'nothing committed');
  t.notOk(a.members?.isRevoked(edge.peerId.toString()));
});

t.test('without every controller\'s peer ID there is no live membership, and the methods say why', async (t) => {
  const f = await agentFederation(t, { controllers: ['ctl-a', 'ctl-b'], agents: [] });
  const a = f.controllers.get('ctl-a')!;
  t.equal(a.members, undefined);
  await t.rejects(controllerMethods(a)['federation.members.list']!.handler({}), { code: 'UNAVAILABLE', message: /peer ID/ });
});
