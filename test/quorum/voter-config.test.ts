// Live voter changes (quorum/voter-config.ts): the change rules and their error codes, the adopt and
// count rules, joint quorum and commit; then the exhaustive exploration (voter-config-explorer.ts):
// with the shipped rules no split ever lets two sides hold quorum, through concurrent proposals on
// opposite sides, stale controllers and commits, and each weakened rule is caught.
import t from 'tap';
import {
  applyVoterChange, committable, compareConfigs, configId, initialVoterConfig, isVoter, peerCounts, voterQuorum,
  VoterChangeError, type VoterConfig,
} from '../../quorum/voter-config.ts';
import { MAX_CONTROLLERS } from '../../quorum/limits.ts';
import { exploreVoterChanges, type VoterExploreOptions } from './voter-config-explorer.ts';

const abc = initialVoterConfig(['c', 'a', 'b', 'a']);

t.test('the first configuration: epoch 1, sorted, unique; at least one voter and at most MAX_CONTROLLERS', async (t) => {
  t.same(abc, { epoch: 1, voters: ['a', 'b', 'c'], learners: [] });
  t.same(initialVoterConfig(['a'], ['d', 'a']).learners, ['d'], 'a voter is not also a learner');
  t.throws(() => initialVoterConfig([]), { code: 'LAST_VOTER' });
  t.throws(() => initialVoterConfig(Array.from({ length: MAX_CONTROLLERS + 1 }, (_, i) => `c${i}`)), { code: 'TOO_MANY_MEMBERS' });
});

t.test('a learner is added, promoted through a joint configuration, and committed', async (t) => {
  const withD = applyVoterChange(abc, { op: 'add-learner', member: 'd' });
  t.same(withD, { epoch: 2, voters: ['a', 'b', 'c'], learners: ['d'] }, 'a learner changes no voter set: no joint step');
  t.notOk(isVoter(withD, 'd'), 'a learner does not vote');
  const joint = applyVoterChange(withD, { op: 'promote', member: 'd' });
  t.same(joint, { epoch: 3, voters: ['a', 'b', 'c', 'd'], learners: [], joint: ['a', 'b', 'c'] });
  t.throws(() => applyVoterChange(joint, { op: 'remove', member: 'a' }), { code: 'CHANGE_IN_PROGRESS' }, 'one voter change at a time');
  t.ok(committable(joint, new Set(['a', 'b', 'd'])), 'stored by 3 of the 4 new voters and 2 of the 3 old');
  t.notOk(committable(joint, new Set(['c', 'd'])), '1 of the 3 old voters is not a quorum of the old set');
  t.notOk(committable(joint, new Set(['a', 'd'])), '2 of 4 new is not a quorum of the new set');
  t.same(applyVoterChange(joint, { op: 'commit' }), { epoch: 4, voters: ['a', 'b', 'c', 'd'], learners: [] });
  t.throws(() => applyVoterChange(withD, { op: 'commit' }), { code: 'NOTHING_TO_COMMIT' });
});

t.test('removals: a learner at once, a voter through a joint configuration, never the last voter', async (t) => {
  const withD = applyVoterChange(abc, { op: 'add-learner', member: 'd' });
  t.same(applyVoterChange(withD, { op: 'remove', member: 'd' }), { epoch: 3, voters: ['a', 'b', 'c'], learners: [] });
  t.same(applyVoterChange(abc, { op: 'remove', member: 'b' }), { epoch: 2, voters: ['a', 'c'], learners: [], joint: ['a', 'b', 'c'] });
  t.throws(() => applyVoterChange(initialVoterConfig(['a']), { op: 'remove', member: 'a' }), { code: 'LAST_VOTER' });
  t.throws(() => applyVoterChange(abc, { op: 'remove', member: 'z' }), { code: 'NOT_A_MEMBER' });
  t.throws(() => applyVoterChange(abc, { op: 'promote', member: 'a' }), { code: 'NOT_A_LEARNER' });
  t.throws(() => applyVoterChange(abc, { op: 'add-learner', member: 'a' }), { code: 'ALREADY_MEMBER' });
  const err = (() => { try { applyVoterChange(abc, { op: 'promote', member: 'z' }); } catch (e) { return e; } })();
  t.ok(err instanceof VoterChangeError && /z is not a learner/.test(err.message), 'the error names the member');
});

t.test('adopt: a higher epoch is stored, a lower one is not, the same epoch with other content is a conflict', async (t) => {
  const left = applyVoterChange(abc, { op: 'remove', member: 'a' });
  const right = applyVoterChange(abc, { op: 'remove', member: 'c' });
  t.equal(compareConfigs(abc, left), 'newer');
  t.equal(compareConfigs(left, abc), 'older');
  t.equal(compareConfigs(left, { ...left, voters: [...left.voters] }), 'same');
  t.equal(compareConfigs(left, right), 'conflict', 'two proposals from epoch 1');
  t.not(configId(left), configId(right));
});

t.test('count: a peer counts while its configuration is the same or older, never newer or conflicting', async (t) => {
  const next = applyVoterChange(abc, { op: 'remove', member: 'a' });
  const other = applyVoterChange(abc, { op: 'remove', member: 'c' });
  t.ok(peerCounts(next, abc), 'a peer that has not heard of the change yet');
  t.ok(peerCounts(next, next));
  t.notOk(peerCounts(abc, next), 'a peer that moved past this configuration');
  t.notOk(peerCounts(next, other), 'a peer on the other proposal of the same epoch');
  t.notOk(peerCounts(next, undefined), 'a peer whose configuration is not known');
});

t.test('joint quorum needs a majority of the old voters and of the new ones', async (t) => {
  const joint: VoterConfig = { epoch: 3, voters: ['a', 'b', 'c', 'd'], learners: [], joint: ['a', 'b', 'c'] };
  t.match(voterQuorum(joint, new Set(['a', 'b', 'd'])), { haveQuorum: true, sets: [{ counted: 3, needed: 3 }, { counted: 2, needed: 2 }] });
  t.match(voterQuorum(joint, new Set(['a', 'c', 'd', 'x'])), { haveQuorum: true }, 'names outside the configuration do not count');
  t.match(voterQuorum(joint, new Set(['c', 'd'])), { haveQuorum: false, sets: [{ counted: 2, needed: 3 }, { counted: 1, needed: 2 }] });
  t.match(voterQuorum(joint, new Set(['a', 'b'])), { haveQuorum: false }, 'the old majority alone is not enough');
  t.match(voterQuorum(abc, new Set(['a', 'b'])), { haveQuorum: true, sets: [{ counted: 2, needed: 2 }] });
});

// The explorations. Each is complete (every reachable state visited) and not vacuous: concurrent
// proposals of one epoch and commits happen in it.
const explore = (o: Partial<VoterExploreOptions> & Pick<VoterExploreOptions, 'universe' | 'initial' | 'maxEpoch'>) =>
  exploreVoterChanges({ maxStates: 2_000_000, ...o });

for (const [name, o] of [
  ['three controllers, four changes deep', { universe: ['a', 'b', 'c'], initial: abc, maxEpoch: 4 }],
  ['four voters, three changes deep', { universe: ['a', 'b', 'c', 'd'], initial: initialVoterConfig(['a', 'b', 'c', 'd']), maxEpoch: 3 }],
  ['three voters and a learner, four changes deep', { universe: ['a', 'b', 'c', 'd'], initial: initialVoterConfig(['a', 'b', 'c'], ['d']), maxEpoch: 4 }],
] as const) {
  t.test(`exploration, ${name}: no split ever lets two sides hold quorum`, async (t) => {
    const r = explore(o);
    t.ok(r.complete, `complete: ${r.states} states`);
    t.same(r.violations, []);
    t.ok(r.sawConflict, 'two proposals of one epoch were made');
    t.ok(r.sawCommit, 'joint configurations were committed');
    t.ok(r.maxEpochSeen >= o.maxEpoch, `epoch ${r.maxEpochSeen} reached`);
  });
}

t.test('exploration: each weakened rule is caught', async (t) => {
  const three = { universe: ['a', 'b', 'c'], initial: abc, maxEpoch: 4 };
  const four = { universe: ['a', 'b', 'c', 'd'], initial: initialVoterConfig(['a', 'b', 'c', 'd']), maxEpoch: 3 };
  const cases = [
    ['counting a peer that moved past this configuration', { ...three, countNewer: true }],
    ['a voter change effective at once, without a joint configuration', { ...three, noJoint: true }],
    ['committing with a quorum of the new voters only', { ...four, commitOnNewSet: true }],
    ['storing a configuration of the same epoch with other content', { ...three, adoptConflicts: true }],
  ] as const;
  for (const [what, o] of cases) {
    const r = explore(o);
    t.ok(r.violations.length > 0, `${what}: caught (${r.states} states)`);
    t.match(r.violations[0] ?? '', /both hold quorum on sides \w+ \| \w+ after: /, 'with the split and the steps that reached it');
  }
});
