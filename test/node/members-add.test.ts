// Adding a controller to a running federation (live membership): a fourth controller configured with
// a bootstrap address alone waits until a member adds it, learns the membership record, catches up as
// a learner (it replicates, does not vote, refuses writes), and becomes a voter: by itself once caught
// up, or by `members promote`. From then on the voters are four and a quorum write needs three copies;
// a remove brings them back to three.
import t from 'tap';
import type { MembersAddResult, MembersListResult, MembersPromoteResult, MembersRemoveResult } from '../../node/admin/controller-api.ts';
import { agentFederation, route } from '../helpers/agent-federation.ts';
import { waitFor } from '../helpers/wait-for.ts';
import { joinSignal, method } from '../helpers/admin-call.ts';

const CONTROLLERS = ['ctl-a', 'ctl-b', 'ctl-c'];


t.test('a controller joins from a bootstrap address, is added as a learner, promoted once caught up, and counts', async (t) => {
  const f = await agentFederation(t, { controllers: CONTROLLERS, agents: [], joiners: ['ctl-d'], pinned: true, splitBrain: {} });
  const a = f.controllers.get('ctl-a')!;
  await a.ready({ timeoutMs: 10_000 });
  for (let i = 0; i < 40; i++) await a.apply(route(`before-${i}`), { durability: 'quorum' });
  const d = f.plan.find((p) => p.name === 'ctl-d')!;
  const joining = f.startJoiner('ctl-d', ['ctl-a'], joinSignal(t));
  let joined = false;
  void joining.then(() => { joined = true; }, () => undefined);

  const add = method(f.controllers.get('ctl-b')!, 'federation.members.add');
  await t.rejects(add({ name: 'ctl-d', peerId: d.peerId.toString(), endpoints: [`${d.addr.replace(/\/p2p\/.*$/, '')}/p2p/${f.plan[0]!.peerId.toString()}`] }),
    { message: /params\.endpoints\[0\]: names peer/ }, 'an endpoint naming another peer is refused');
  t.notOk(joined, 'the joiner waits until it is added');

  const added = await add({ name: 'ctl-d', peerId: d.peerId.toString(), endpoints: [d.addr.replace(/\/p2p\/.*$/, '')], region: 'ap-south' }) as MembersAddResult;
  t.equal(added.epoch, 2);
  t.same(added.learners, ['ctl-d'], 'added as a learner');
  t.same(added.voters, CONTROLLERS, 'the voters are unchanged');
  t.equal(added.added.endpoints[0], d.addr, 'its endpoint carries its peer ID');
  const node = await joining;
  t.ok(node.members !== undefined && node.members.committed.epoch >= 2, 'the joiner learnt the record');

  await waitFor('ctl-d is promoted to voter, on every controller', () =>
    [...f.controllers.values()].every((c) => c.members?.committed.voters.includes('ctl-d') === true), { timeoutMs: 20_000 });
  const list = await method(node, 'federation.members.list')({}) as MembersListResult;
  t.same(list.record.voters, [...CONTROLLERS, 'ctl-d'].sort(), 'four voters');
  t.same(list.record.controllers.find((c) => c.name === 'ctl-d')?.region, 'ap-south');
  await waitFor('ctl-d holds what was written before it joined', async () => (await node.list({ kind: 'ProxyRoute' })).length >= 40, { timeoutMs: 10_000 });

  await node.ready({ timeoutMs: 10_000 });
  const w = await node.apply(route('from-d'), { durability: 'quorum' });
  t.ok((w.acknowledgedBy?.length ?? 0) >= 3, `a quorum write on ctl-d is held by three of the four voters (${w.acknowledgedBy?.join(', ')})`);
  t.equal(node.fence.config.quorumSize, 3, 'three votes of four needed');

  // Two of four voters are no quorum: a side of two is fenced.
  await f.stopController('ctl-c');
  const r = await method(a, 'federation.members.remove')({ name: 'ctl-c', force: true }) as MembersRemoveResult;
  t.same(r.voters, ['ctl-a', 'ctl-b', 'ctl-d'], 'three voters after the remove');
  await waitFor('every controller counts three voters', () =>
    [...f.controllers.values()].every((c) => c.fence.config.controllers.length === 3), { timeoutMs: 10_000 });
  await f.stopController('ctl-b');
  await node.ready({ timeoutMs: 10_000 });
  const w2 = await node.apply(route('two-of-three'), { durability: 'quorum' });
  t.same(w2.acknowledgedBy?.sort(), ['ctl-a', 'ctl-d'], 'two of the three voters are a quorum');
});

t.test('a learner added without promotion replicates but refuses writes and does not count, until promoted', async (t) => {
  const f = await agentFederation(t, { controllers: CONTROLLERS, agents: [], joiners: ['ctl-e'], pinned: true, splitBrain: {} });
  const a = f.controllers.get('ctl-a')!;
  const e = f.plan.find((p) => p.name === 'ctl-e')!;
  const joining = f.startJoiner('ctl-e', ['ctl-c'], joinSignal(t));
  const added = await method(a, 'federation.members.add')({ name: 'ctl-e', peerId: e.peerId.toString(), endpoints: e.addr, promote: false }) as MembersAddResult;
  t.equal(added.added.autoPromote, false);
  const node = await joining;
  await waitFor('every controller replicates with ctl-e', () =>
    CONTROLLERS.every((n) => f.controllers.get(n)!.replicator.status().some((s) => s.member === 'ctl-e' && s.connected)), { timeoutMs: 10_000 });
  await a.ready({ timeoutMs: 10_000 });
  await a.apply(route('to-learner'), { durability: 'quorum' });
  await waitFor('the learner holds the write', async () => (await node.get('ProxyRoute/default/to-learner')) !== undefined, { timeoutMs: 10_000 });
  await t.rejects(node.apply(route('on-learner')), { code: 'FENCED', message: /learner/ }, 'a learner refuses writes');
  t.equal(node.fence.status().writesFenced, true);

  // Its copy does not count: with ctl-b and ctl-c down, ctl-a and the learner are no quorum.
  await f.stopController('ctl-b');
  await f.stopController('ctl-c');
  await waitFor('ctl-a is fenced', () => a.fence.status().writesFenced, { timeoutMs: 15_000 });
  await t.rejects(a.apply(route('minority')), { code: 'FENCED' }, 'a voter and a learner are not a majority of three voters');
  await t.rejects(method(a, 'federation.members.promote')({ name: 'ctl-e' }), { code: 'FENCED' }, 'a promotion needs a majority of the voters');

  await f.startController('ctl-b');
  await a.ready({ timeoutMs: 15_000 });
  const p = await method(a, 'federation.members.promote')({ name: 'ctl-e' }) as MembersPromoteResult;
  t.same(p.voters, ['ctl-a', 'ctl-b', 'ctl-c', 'ctl-e']);
  await waitFor('ctl-e knows it is a voter', () => node.members?.committed.voters.includes('ctl-e') === true && !node.fence.learner, { timeoutMs: 10_000 });
  await node.ready({ timeoutMs: 15_000 });
  const w = await node.apply(route('after-promote'), { durability: 'quorum' });
  t.same(w.acknowledgedBy?.sort(), ['ctl-a', 'ctl-b', 'ctl-e'], 'three of four voters (ctl-c is down)');
});
