// The federation's membership record (membership/federation-members.ts): each change one epoch on
// and one voter at most, the deny list that keeps a removed member out, the bounds, the check of a
// record whatever its origin, and the successor check a controller applies to a proposal from the
// network, which accepts every record one change makes and refuses every tampered one.
import t from 'tap';
import fc from 'fast-check';
import {
  applyMemberChange, DENIED_MAX, initialMembers, isDenied, isValidSuccessor, MemberChangeError, membersProblem, voterConfigOf,
  type ControllerEntry, type FederationMembers, type MemberChange,
} from '../../membership/federation-members.ts';
import { isSingleVoterChange } from '../../quorum/voter-slot.ts';
import { MAX_CONTROLLERS } from '../../quorum/limits.ts';
import { check, runs } from '../helpers/fc-run.ts';

const B58 = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';
const peerId = (i: number): string => `12D3KooW${[...String(i).padStart(6, '0')].map((d) => B58[Number(d) + 10]).join('')}${'x'.repeat(38)}`;
const entry = (name: string, i: number, o: Partial<ControllerEntry> = {}): ControllerEntry =>
  ({ name, peerId: peerId(i), endpoints: [`/ip4/127.0.0.1/tcp/${9000 + i}`], region: `r${i}`, autoPromote: true, ...o });
const three = (): FederationMembers => initialMembers([entry('us-west', 1), entry('eu-central', 2), entry('ap-east', 3)]);
const code = (f: () => unknown): string | undefined => {
  try {
    f();
    return undefined;
  } catch (err) {
    return err instanceof MemberChangeError ? err.code : `not a MemberChangeError: ${(err as Error).message}`;
  }
};

t.test('the first membership: the YAML controllers, sorted, all voters, epoch 1', async (t) => {
  const m = three();
  t.same(m.voters, ['ap-east', 'eu-central', 'us-west']);
  t.same(m.controllers.map((c) => c.name), ['ap-east', 'eu-central', 'us-west']);
  t.equal(m.epoch, 1);
  t.equal(membersProblem(m), undefined);
  t.equal(code(() => initialMembers([])), 'INVALID', 'no voter');
  t.equal(code(() => initialMembers([entry('a', 1), entry('b', 1)])), 'INVALID', 'one peer ID twice');
  t.equal(code(() => initialMembers([entry('A', 1)])), 'INVALID', 'not a member name');
});

t.test('add enters as a learner; promote makes a voter; each one epoch on', async (t) => {
  const m1 = applyMemberChange(three(), { op: 'add', controller: entry('sa-east', 4, { autoPromote: false }) });
  t.equal(m1.epoch, 2);
  t.same(m1.learners, ['sa-east']);
  t.notOk(m1.voters.includes('sa-east'), 'a learner neither votes nor counts');
  t.equal(m1.controllers.find((c) => c.name === 'sa-east')?.autoPromote, false);
  const m2 = applyMemberChange(m1, { op: 'promote', name: 'sa-east' });
  t.same(m2.voters, ['ap-east', 'eu-central', 'sa-east', 'us-west']);
  t.same(m2.learners, []);
  t.equal(code(() => applyMemberChange(m2, { op: 'promote', name: 'sa-east' })), 'NOT_A_LEARNER');
  t.equal(code(() => applyMemberChange(m1, { op: 'add', controller: entry('sa-east', 5) })), 'ALREADY_MEMBER');
  t.equal(code(() => applyMemberChange(m1, { op: 'add', controller: entry('af-south', 4) })), 'PEER_ID_IN_USE');
  t.equal(code(() => applyMemberChange(m1, { op: 'add', controller: entry('af-south', 5, { endpoints: [] }) })), 'INVALID');
  // The same, proposed over the network: an added controller without an endpoint is not a successor.
  const m0 = three();
  const bare = applyMemberChange(m0, { op: 'add', controller: entry('af-south', 5) });
  t.ok(isValidSuccessor(m0, bare));
  t.notOk(isValidSuccessor(m0, { ...bare, controllers: bare.controllers.map((c) => (c.name === 'af-south' ? { ...c, endpoints: [] } : c)) }));
});

t.test('a voter change keeps the voters before it until the next change; finish only drops them', async (t) => {
  const m1 = applyMemberChange(three(), { op: 'add', controller: entry('sa-east', 4) });
  t.equal(m1.priorVoters, undefined, 'adding a learner keeps the voters');
  t.equal(code(() => applyMemberChange(m1, { op: 'finish' })), 'NOTHING_TO_FINISH');
  const m2 = applyMemberChange(m1, { op: 'promote', name: 'sa-east' });
  t.same(m2.priorVoters, ['ap-east', 'eu-central', 'us-west']);
  t.ok(isValidSuccessor(m1, m2));
  const m3 = applyMemberChange(m2, { op: 'finish' });
  t.equal(m3.epoch, 4);
  t.equal(m3.priorVoters, undefined);
  t.same(m3.voters, m2.voters);
  t.ok(isValidSuccessor(m2, m3), 'finish is a successor');
  t.notOk(isValidSuccessor(m3, { ...m3, epoch: 5 }), 'nothing to finish: not a successor');
  const m4 = applyMemberChange(m3, { op: 'remove', name: 'us-west' });
  t.same(m4.priorVoters, ['ap-east', 'eu-central', 'sa-east', 'us-west'], 'the removed voter included');
  t.equal(membersProblem(m4), undefined);
  t.equal(applyMemberChange(m4, { op: 'deny', peerId: peerId(9), name: 'op', role: 'operator' }).priorVoters, undefined, 'any next change ends it');
  t.type(membersProblem({ ...m3, priorVoters: m3.voters }), 'string', 'the same as the voters');
  t.type(membersProblem({ ...m3, priorVoters: [] }), 'string', 'empty');
});

t.test('the first record has no endpoints (each configuration says where its peers are), later ones may', async (t) => {
  const m = initialMembers([entry('us-west', 1, { endpoints: [], region: '' }), entry('eu-central', 2, { endpoints: [], region: '' })]);
  t.equal(membersProblem(m), undefined);
  t.ok(isValidSuccessor(m, applyMemberChange(m, { op: 'add', controller: entry('ap-east', 3) })));
});

t.test('remove: stops counting at once, and its identity is denied federation-wide', async (t) => {
  const m = applyMemberChange(three(), { op: 'remove', name: 'ap-east' });
  t.same(m.voters, ['eu-central', 'us-west']);
  t.ok(isDenied(m, peerId(3)));
  t.same(m.denied, [{ peerId: peerId(3), name: 'ap-east', role: 'controller', sinceEpoch: 2 }]);
  t.equal(code(() => applyMemberChange(m, { op: 'add', controller: entry('ap-east', 3) })), 'DENIED', 'not with the same key');
  const back = applyMemberChange(m, { op: 'add', controller: entry('ap-east', 7) });
  t.same(back.learners, ['ap-east'], 'with a new identity it comes back as a learner');
  t.equal(code(() => applyMemberChange(m, { op: 'remove', name: 'ap-east' })), 'NOT_A_MEMBER');
  const one = applyMemberChange(m, { op: 'remove', name: 'eu-central' });
  t.equal(code(() => applyMemberChange(one, { op: 'remove', name: 'us-west' })), 'LAST_VOTER');
  const learner = applyMemberChange(applyMemberChange(three(), { op: 'add', controller: entry('sa-east', 4) }), { op: 'remove', name: 'sa-east' });
  t.same(learner.voters, three().voters, 'removing a learner changes no voter');
  t.ok(isDenied(learner, peerId(4)));
});

t.test('deny: an operator certificate withdrawn; a member is removed instead; the list is bounded', async (t) => {
  const m = applyMemberChange(three(), { op: 'deny', peerId: peerId(50), name: 'ci-pipeline', role: 'operator' });
  t.ok(isDenied(m, peerId(50)));
  t.same(m.voters, three().voters);
  t.equal(code(() => applyMemberChange(m, { op: 'deny', peerId: peerId(50), name: 'ci-pipeline', role: 'operator' })), 'ALREADY_DENIED', 'a change that changes nothing is no change');
  t.equal(code(() => applyMemberChange(m, { op: 'deny', peerId: peerId(1), name: 'x', role: 'operator' })), 'ALREADY_MEMBER');
  let full = three();
  for (let i = 0; i < DENIED_MAX; i++) full = applyMemberChange(full, { op: 'deny', peerId: peerId(1000 + i), name: 'op', role: 'viewer' });
  t.equal(code(() => applyMemberChange(full, { op: 'deny', peerId: peerId(999_999), name: 'op', role: 'viewer' })), 'DENY_LIST_FULL');
  t.equal(code(() => applyMemberChange(full, { op: 'remove', name: 'us-west' })), 'DENY_LIST_FULL', 'a removal needs room too');
});

t.test(`at most ${MAX_CONTROLLERS} controllers`, async (t) => {
  let m = three();
  for (let i = 0; m.controllers.length < MAX_CONTROLLERS; i++) m = applyMemberChange(m, { op: 'add', controller: entry(`c${i}`, 100 + i) });
  t.equal(code(() => applyMemberChange(m, { op: 'add', controller: entry('one-more', 999) })), 'TOO_MANY_MEMBERS');
});

// A random walk of changes, valid or not.
const changeArb = (names: string[]): fc.Arbitrary<MemberChange> => fc.oneof(
  fc.record({ op: fc.constant('add' as const), controller: fc.tuple(fc.constantFrom(...names), fc.integer({ min: 1, max: 12 })).map(([n, i]) => entry(n, i)) }),
  fc.record({ op: fc.constant('promote' as const), name: fc.constantFrom(...names) }),
  fc.record({ op: fc.constant('remove' as const), name: fc.constantFrom(...names) }),
  fc.record({ op: fc.constant('deny' as const), peerId: fc.integer({ min: 1, max: 12 }).map(peerId), name: fc.constant('someone'), role: fc.constantFrom('operator' as const, 'viewer' as const, 'agent' as const) }),
  fc.constant({ op: 'finish' as const }),
);
const NAMES = ['a', 'b', 'c', 'd', 'e', 'f'];
const walk = (changes: MemberChange[]): FederationMembers[] => {
  const out = [initialMembers([entry('a', 1), entry('b', 2), entry('c', 3)])];
  for (const ch of changes) {
    try {
      out.push(applyMemberChange(out[out.length - 1]!, ch));
    } catch (err) {
      if (!(err instanceof MemberChangeError)) throw err;
    }
  }
  return out;
};

t.test('property: every change gives a valid record, one epoch and one voter at most on, that the successor check accepts; denials are never forgotten', async (t) => {
  check(t, fc.property(fc.array(changeArb(NAMES), { maxLength: 30 }), (changes) => {
    const ms = walk(changes);
    for (let i = 1; i < ms.length; i++) {
      const [prev, next] = [ms[i - 1]!, ms[i]!];
      if (membersProblem(next) !== undefined) return false;
      if (!isSingleVoterChange(voterConfigOf(prev), voterConfigOf(next))) return false;
      if (!isValidSuccessor(prev, next)) return false;
      if (!prev.denied.every((d) => isDenied(next, d.peerId))) return false;
      if (next.controllers.some((c) => isDenied(next, c.peerId))) return false;
    }
    return true;
  }), runs(300));
});

// Tampering with a valid successor: each must be refused.
const tamper: Array<[string, (prev: FederationMembers, next: FederationMembers) => FederationMembers | undefined]> = [
  ['two epochs on', (_p, n) => ({ ...n, epoch: n.epoch + 1 })],
  ['the same epoch', (p, n) => ({ ...n, epoch: p.epoch })],
  // (One the previous record held: dropping the newest denial of a record made by a voter change's
  // follower can leave exactly the `finish` successor, which is valid.)
  ['a denial forgotten', (p, n) => (p.denied.length === 0 ? undefined : { ...n, denied: n.denied.filter((d) => d.peerId !== p.denied[0]!.peerId) })],
  ['a learner promoted too', (_p, n) => {
    const l = n.learners[0];
    return l === undefined ? undefined : { ...n, learners: n.learners.slice(1), voters: [...n.voters, l].sort() };
  }],
  ['a voter demoted', (_p, n) => {
    const v = n.voters.find((x) => n.voters.length > 1 && x !== undefined);
    return v === undefined ? undefined : { ...n, voters: n.voters.filter((x) => x !== v), learners: [...n.learners, v].sort() };
  }],
  ['a controller dropped without its denial', (p, n) => {
    const c = n.controllers.find((x) => n.voters.length > 1 || !n.voters.includes(x.name));
    if (c === undefined || p.controllers.every((x) => x.name !== c.name)) return undefined;
    return { ...n, controllers: n.controllers.filter((x) => x.name !== c.name), voters: n.voters.filter((x) => x !== c.name), learners: n.learners.filter((x) => x !== c.name) };
  }],
  ['an endpoint of a controller that stays rewritten', (p, n) => {
    const stays = n.controllers.find((c) => p.controllers.some((x) => x.name === c.name && x.peerId === c.peerId));
    return stays === undefined ? undefined : { ...n, controllers: n.controllers.map((c) => (c === stays ? { ...c, endpoints: ['/ip4/10.9.9.9/tcp/1'] } : c)) };
  }],
  ['a controller added as a voter', (p, n) => {
    const c = entry('zz', 77);
    return p.controllers.length >= MAX_CONTROLLERS ? undefined : { ...p, epoch: p.epoch + 1, controllers: [...p.controllers, c], voters: [...p.voters, 'zz'].sort() };
  }],
  ['nothing changed', (p) => ({ ...p, epoch: p.epoch + 1 })],
  ['the voters before a voter change left out', (_p, n) => {
    if (n.priorVoters === undefined) return undefined;
    const { priorVoters: _, ...rest } = n;
    return rest;
  }],
  ['the voters before a voter change rewritten', (p, n) => (n.priorVoters === undefined ? undefined : { ...n, priorVoters: [...p.voters, 'zz'].sort() })],
  ['voters before a change that kept the voters', (p, n) => (n.priorVoters !== undefined || p.voters.length < 2 ? undefined : { ...n, priorVoters: p.voters.slice(1) })],
];

t.test('property: a tampered successor is refused', async (t) => {
  for (const [what, f] of tamper) {
    let tried = 0;
    check(t, fc.property(fc.array(changeArb(NAMES), { minLength: 1, maxLength: 20 }), (changes) => {
      const ms = walk(changes);
      for (let i = 1; i < ms.length; i++) {
        const bad = f(ms[i - 1]!, ms[i]!);
        if (bad === undefined) continue;
        tried++;
        if (isValidSuccessor(ms[i - 1]!, bad)) return false;
      }
      return true;
    }), runs(150));
    t.ok(tried > 0, `${what}: tried ${tried} times`);
  }
});

t.test('property: any value is checked without throwing, and only a well-formed record passes', async (t) => {
  check(t, fc.property(fc.anything(), (v) => membersProblem(v) !== undefined), runs(500));
  const good = three();
  const cases: Array<[string, unknown]> = [
    ['an unknown field', { ...good, extra: 1 }],
    ['epoch 0', { ...good, epoch: 0 }],
    ['unsorted voters', { ...good, voters: [...good.voters].reverse() }],
    ['a voter not listed', { ...good, voters: [...good.voters, 'zz'].sort() }],
    ['a controller neither voter nor learner', { ...good, voters: good.voters.slice(1) }],
    ['a denied controller', { ...good, denied: [{ peerId: peerId(1), name: 'us-west', role: 'controller', sinceEpoch: 1 }] }],
    ['a denial from a later epoch', { ...good, denied: [{ peerId: peerId(9), name: 'x', role: 'operator', sinceEpoch: 2 }] }],
    ['too many endpoints', { ...good, controllers: good.controllers.map((c) => ({ ...c, endpoints: Array.from({ length: 9 }, (_, i) => `/ip4/1.1.1.1/tcp/${i}`) })) }],
    ['a prototype key', JSON.parse('{"__proto__": {"epoch": 1}}')],
  ];
  for (const [what, v] of cases) t.type(membersProblem(v), 'string', what);
});
